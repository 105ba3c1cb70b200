/**
 * Read buffers that are written again once nothing can read the views made of them.
 *
 * The proxy parses requests in place: their arguments and raw bytes are views of the buffer they were read into, and
 * those views travel far (into a backend connection's write queue, a held slot, a transaction). A fresh buffer per
 * read is always safe but costs a malloc, a zero fill, page faults and GC work; this module lets a buffer come back
 * under one rule: **a buffer is reused only when every view of it is accounted for and dead**.
 *
 * - {@link PooledBuffer.users} counts the holders that will say when they are done ({@link PooledBuffer.release}): a
 *   request sent on the plain path, whose reply came from its backend (so every byte of it went through the write) and
 *   has been written to its client.
 * - Anything else that may keep a view past the synchronous handling of the read (a request taking any other path,
 *   the parser's backlog, input stashed behind a blocking command, a request the session closed under)
 *   {@link PooledBuffer.pin}s the buffer, or simply never releases: the buffer is then left to the garbage collector
 *   as before, never written again.
 * - The owner writing into the buffer (the epoll loop's current slab) {@link PooledBuffer.retire}s it when it moves
 *   on to another.
 *
 * A buffer comes back to its {@link BufferPool} when it is retired, unpinned and has no users. The pool keeps at most
 * `maxFree` free buffers and drops the rest, so memory held after a burst stays bounded.
 *
 * The test-only switch `CODIS_POISON_REUSED_BUFFERS=1` (read once, at start) fills every buffer with 0xEE when it is
 * released for reuse: a view that outlived its buffer then reads the poison, and tests see corrupted data or protocol
 * errors instead of a silent race.
 * @module
 */

/** The byte a released buffer is filled with under `CODIS_POISON_REUSED_BUFFERS=1`. */
export const POISON_BYTE = 0xee;

function poisonSwitch(): boolean {
  try {
    return Deno.env.get("CODIS_POISON_REUSED_BUFFERS") === "1";
  } catch {
    return false; // no env permission: the switch is off
  }
}

/** Whether released buffers are poisoned (the test-only switch, read once). */
export let POISON_REUSED_BUFFERS: boolean = poisonSwitch();

/** Tests only: turns the poison on or off for this thread (the environment variable does it for a whole process). */
export function setPoisonReusedBuffers(on: boolean): void {
  POISON_REUSED_BUFFERS = on;
}

/** Buffers taken from every pool of this thread, those that were reused, and those released (for tests). */
export const bufferPoolCounts = { taken: 0, reused: 0, released: 0 };

const IN_USE = 0;
const FREE = 1;

/** A buffer of a {@link BufferPool}, with what decides when it may be written again (see the module doc). */
export class PooledBuffer {
  readonly bytes: Uint8Array;
  /** Holders that will call {@link release}. */
  users = 0;
  /** Some view of it is not counted: never reused. */
  pinned = false;
  /** Its writer has moved on: nothing new is read into it. */
  retired = false;
  #state = IN_USE;
  readonly #pool: { put(b: PooledBuffer): void };

  constructor(pool: { put(b: PooledBuffer): void }, bytes: Uint8Array) {
    this.#pool = pool;
    this.bytes = bytes;
  }

  /** Whether `view` is a view of this buffer. */
  holds(view: Uint8Array): boolean {
    return view.buffer === this.bytes.buffer;
  }

  /** A counted holder is done with its views. */
  release(): void {
    if (--this.users === 0 && this.retired && !this.pinned) this.#pool.put(this);
  }

  /** An uncounted holder keeps views of it: it is never reused. */
  pin(): void {
    this.pinned = true;
  }

  /** Its writer is done with it: it goes back to the pool once its users are. */
  retire(): void {
    this.retired = true;
    if (this.users === 0 && !this.pinned) this.#pool.put(this);
  }

  /** (BufferPool) */
  static take(b: PooledBuffer): PooledBuffer {
    b.#state = IN_USE;
    b.users = 0;
    b.pinned = false;
    b.retired = false;
    return b;
  }

  /** (BufferPool) false when it is already free: a release too many must not put it in twice. */
  static free(b: PooledBuffer): boolean {
    if (b.#state === FREE) return false;
    b.#state = FREE;
    return true;
  }
}

/** Every pool made, for {@link trimIdleBufferPools} (pools are made once per thread, at module level). */
const pools: { trimIfIdle(): void }[] = [];

/**
 * Drops the free buffers of every pool of this thread not taken from since the last call: the proxy calls it once a
 * second, so an idle proxy holds no free buffer a second or two after its last burst.
 */
export function trimIdleBufferPools(): void {
  for (const p of pools) p.trimIfIdle();
}

/** Buffers of one size; at most `maxFree` are kept free, the rest are left to the garbage collector. */
export class BufferPool {
  readonly size: number;
  readonly maxFree: number;
  #free: PooledBuffer[] = [];
  #takenSinceTrim = false;

  constructor(size: number, maxFree: number) {
    this.size = size;
    this.maxFree = maxFree;
    pools.push(this);
  }

  /** Free buffers held now. */
  get free(): number {
    return this.#free.length;
  }

  /** A buffer to write into: a free one, or a new one. */
  take(): PooledBuffer {
    bufferPoolCounts.taken++;
    this.#takenSinceTrim = true;
    const b = this.#free.pop();
    if (b !== undefined) {
      bufferPoolCounts.reused++;
      return PooledBuffer.take(b);
    }
    return new PooledBuffer(this, new Uint8Array(this.size));
  }

  /** (PooledBuffer) Nothing reads `b` any more. */
  put(b: PooledBuffer): void {
    if (!PooledBuffer.free(b)) return;
    bufferPoolCounts.released++;
    if (POISON_REUSED_BUFFERS) b.bytes.fill(POISON_BYTE);
    if (this.#free.length < this.maxFree) this.#free.push(b);
  }

  /** Drops the free buffers if none was taken since the last call. */
  trimIfIdle(): void {
    if (!this.#takenSinceTrim) this.#free.length = 0;
    this.#takenSinceTrim = false;
  }
}

/**
 * Big buffers of any size (a big value's request), up to `maxFree` of them and `maxFreeBytes` kept free. A request takes a free one
 * at least as long as it needs and at most twice that, or makes one of its own.
 */
export class SizedBufferPool {
  readonly maxFreeBytes: number;
  readonly maxFree: number;
  #free: PooledBuffer[] = [];
  #freeBytes = 0;
  #takenSinceTrim = false;

  constructor(maxFreeBytes: number, maxFree: number) {
    this.maxFreeBytes = maxFreeBytes;
    this.maxFree = maxFree;
    pools.push(this);
  }

  /** Bytes of the free buffers held now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** The smallest free buffer of `need` to `2 * need` bytes, or null. */
  find(need: number): PooledBuffer | null {
    const free = this.#free;
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      const n = free[i].bytes.length;
      if (n >= need && n <= 2 * need && (best < 0 || n < free[best].bytes.length)) best = i;
    }
    if (best < 0) return null;
    const b = free[best];
    free[best] = free[free.length - 1];
    free.length--;
    this.#freeBytes -= b.bytes.length;
    bufferPoolCounts.taken++;
    bufferPoolCounts.reused++;
    this.#takenSinceTrim = true;
    return PooledBuffer.take(b);
  }

  /** A new buffer of `size` bytes that comes back to this pool once released. */
  make(size: number): PooledBuffer {
    bufferPoolCounts.taken++;
    this.#takenSinceTrim = true;
    return new PooledBuffer(this, new Uint8Array(size));
  }

  /** (PooledBuffer) Nothing reads `b` any more. */
  put(b: PooledBuffer): void {
    if (!PooledBuffer.free(b)) return;
    bufferPoolCounts.released++;
    if (POISON_REUSED_BUFFERS) b.bytes.fill(POISON_BYTE);
    const n = b.bytes.length;
    if (this.#freeBytes + n > this.maxFreeBytes || this.#free.length >= this.maxFree) return;
    this.#free.push(b);
    this.#freeBytes += n;
  }

  /** Drops the free buffers if none was taken since the last call. */
  trimIfIdle(): void {
    if (!this.#takenSinceTrim) {
      this.#free.length = 0;
      this.#freeBytes = 0;
    }
    this.#takenSinceTrim = false;
  }
}
