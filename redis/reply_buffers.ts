/**
 * The buffers backend replies are read into, written again only once no view of them can be read any more.
 *
 * A backend connection reads into 64 KiB slabs and its reply framer hands each reply out as a view of the bytes it
 * arrived in; a reply that spans reads (a big value) is gathered into a buffer of its own. Each of these is a
 * {@link ReplyBuffer}, taken from a pool of this thread instead of made fresh: on this VM a fresh buffer costs a
 * malloc, a zero fill and page faults (~26 µs of CPU per 64 KiB), and later a collection.
 *
 * The rule that makes reuse safe: a buffer goes back to the pool only when
 * - its owner (the connection's reader, or the framer) writes no more into it (it is retired),
 * - every view lent out of it has been released by whoever adopted it (its `live` count is 0), and
 * - no view of it went to a consumer that keeps no account of it (it is not pinned).
 *
 * Lending: the framer lends each view just for the synchronous call that delivers it ({@link lendReply} ...
 * {@link endLend}). A consumer that will say when it is done with it adopts it during that call ({@link adoptReply}:
 * a client's request, whose session releases it once the reply has been copied or handed to the kernel; a split
 * MGET's part, released once the joined reply is copied). A view that nobody adopted pins its buffer, which is then
 * never reused (the garbage collector frees it, as before): a consumer that receives a view later, or keeps it (a
 * reply held for write acknowledgements, a promise's result), cannot make a buffer be written under it. An adopter
 * promises that nothing reads the view once it has released it, and a consumer that passes a view on to an adopter
 * within the call must not read it afterwards.
 *
 * Reused buffers are bounded: at most {@link MAX_POOLED_BYTES} wait in the pool, none bigger than
 * {@link MAX_POOLED_BUFFER}, and {@link trimReplyBuffers} (once a second) drops those that were not taken since its
 * last call, so an idle proxy keeps none (beyond each backend connection's current slab).
 *
 * `CODIS_POISON_REUSED_BUFFERS=1` in the environment (read once, at the first buffer taken): a buffer is filled with
 * {@link POISON_BYTE} as it goes back to the pool, so that a view read after its release shows garbage (for tests).
 * @module
 */

/** A buffer replies are read into and lent out of, as views. */
export class ReplyBuffer {
  readonly bytes: Uint8Array;
  /** Views adopted and not yet released. */
  live = 0;
  /** A view of it went to a consumer that keeps no account of it: never reused. */
  pinned = false;
  /** Its owner writes no more into it: back to the pool once `live` is 0. */
  retired = false;
  /** (Waiting in the pool: guards against being put there twice.) */
  inPool = false;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/** Buffers waiting in the pool, at most this many bytes in all. */
export const MAX_POOLED_BYTES = 16 << 20;
/** Bigger buffers are never pooled. */
export const MAX_POOLED_BUFFER = 8 << 20;
/** The byte a buffer is filled with as it goes back to the pool, when poisoning is on. */
export const POISON_BYTE = 0xa5;

const pool: ReplyBuffer[] = [];
let pooledBytes = 0;
/** The fewest buffers the pool held since the last trim: that many were not needed. */
let lowWater = 0;
let poison: boolean | null = null;

/** Counters of this thread's reply buffers (tests and diagnostics). */
export const replyBufferCounts = {
  /** Buffers made fresh. */
  fresh: 0,
  /** Buffers taken from the pool. */
  reused: 0,
  /** Buffers put back into the pool. */
  recycled: 0,
};

/** Whether buffers are poisoned as they go back to the pool (CODIS_POISON_REUSED_BUFFERS=1). */
export function poisonReusedBuffers(): boolean {
  if (poison === null) {
    try {
      poison = Deno.env.get("CODIS_POISON_REUSED_BUFFERS") === "1";
    } catch {
      poison = false; // no permission to read the environment: off
    }
  }
  return poison;
}

/**
 * A buffer of at least `min` bytes (and less than twice that, when one is pooled), its owner's until it is retired.
 */
export function takeReplyBuffer(min: number): ReplyBuffer {
  if (poison === null) poisonReusedBuffers();
  let best = -1;
  let bestLen = 2 * min;
  for (let i = 0; i < pool.length; i++) {
    const n = pool[i].bytes.length;
    if (n >= min && n < bestLen) {
      best = i;
      bestLen = n;
    }
  }
  if (best < 0) {
    replyBufferCounts.fresh++;
    return new ReplyBuffer(new Uint8Array(roundedSize(min)));
  }
  const b = pool[best];
  pool[best] = pool[pool.length - 1];
  pool.pop();
  if (pool.length < lowWater) lowWater = pool.length;
  pooledBytes -= bestLen;
  b.inPool = false;
  b.retired = false;
  replyBufferCounts.reused++;
  return b;
}

/** Sizes go up in eighths of a power of two (at least 4 KiB steps), so that buffers of similar replies fit each other. */
function roundedSize(n: number): number {
  if (n <= 4096) return 4096;
  const step = Math.max(4096, 2 ** (Math.floor(Math.log2(n)) - 3));
  return Math.ceil(n / step) * step;
}

/** Its owner writes no more into `b`: it goes back to the pool once every view adopted from it is released. */
export function retireReplyBuffer(b: ReplyBuffer): void {
  b.retired = true;
  if (b.live === 0) recycle(b);
}

/** An adopter is done with its view of `b` (see the module doc). */
export function releaseReply(b: ReplyBuffer): void {
  if (--b.live > 0) return;
  if (b.live < 0) {
    b.pinned = true; // released more often than adopted: a bug somewhere; never reuse it
    return;
  }
  if (b.retired) recycle(b);
}

function recycle(b: ReplyBuffer): void {
  if (b.pinned || b.inPool) return;
  const n = b.bytes.length;
  if (n > MAX_POOLED_BUFFER || pooledBytes + n > MAX_POOLED_BYTES) return; // left to the garbage collector
  if (poison) b.bytes.fill(POISON_BYTE);
  b.inPool = true;
  pool.push(b);
  pooledBytes += n;
  replyBufferCounts.recycled++;
}

/**
 * Drops the pooled buffers that were not taken since the last call (the proxy calls it once a second): after a
 * burst of big values the pool empties within two calls.
 */
export function trimReplyBuffers(): void {
  for (let n = lowWater; n > 0 && pool.length > 0; n--) {
    pooledBytes -= pool.pop()!.bytes.length; // (referenced by nobody else: left to the garbage collector)
  }
  lowWater = pool.length;
}

/** Bytes and buffers waiting in this thread's pool. */
export function pooledReplyBuffers(): { buffers: number; bytes: number } {
  return { buffers: pool.length, bytes: pooledBytes };
}

let lentView: Uint8Array | null = null;
let lentFrom: ReplyBuffer | null = null;

/**
 * `view`, a view of `from`, is about to be delivered: it may be adopted until {@link endLend}. A lend within the
 * delivery of another view (a reply made and delivered by a consumer of one) pins that other view's buffer unless it
 * was adopted already.
 */
export function lendReply(view: Uint8Array, from: ReplyBuffer): void {
  if (lentView !== null) lentFrom!.pinned = true;
  lentView = view;
  lentFrom = from;
}

/** The delivery of the lent view is over: if nobody adopted it, its buffer is pinned. */
export function endLend(): void {
  if (lentView === null) return;
  lentFrom!.pinned = true;
  lentView = null;
  lentFrom = null;
}

/**
 * Takes on the view being delivered, when `view` is it: returns its buffer, to be given to {@link releaseReply}
 * exactly once when nothing will read the view again. Null for any other bytes (made by the proxy, held since an
 * earlier delivery, or not from a pooled buffer): nothing to release then.
 */
export function adoptReply(view: Uint8Array): ReplyBuffer | null {
  if (view !== lentView) return null;
  const b = lentFrom!;
  lentView = null;
  lentFrom = null;
  b.live++;
  return b;
}
