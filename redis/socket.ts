/**
 * A TCP connection on a native `Deno.Conn`, with just the operations the proxy needs, for client sessions and
 * backend connections alike. node:net in Deno is a stream layer over the same ops; skipping it removes a buffer copy,
 * an event emission and the Writable machinery from every read and write (measured: 10-15% less CPU per request).
 *
 * Reads go into a per-connection slab: each read fills the slab's free tail, and the parser's zero-copy views of
 * earlier reads stay valid because a slab is never written twice. A full slab is dropped (the views keep it alive
 * while they need it) and a new one is taken.
 * @module
 */
import { BIG_PART, gather, gatherInto } from "../util/gather.ts";

/** What a {@link NetSocket} uses of its connection: a `Deno.Conn` (TCP, unix or TLS), or one in its shape. */
export type SocketConn = Pick<Deno.Conn, "read" | "write" | "close" | "closeWrite" | "remoteAddr">;

/** What a socket reports. */
export interface SocketEvents {
  /** Bytes from the peer: a view that stays valid for as long as it is referenced. */
  onData(chunk: Uint8Array): void;
  /**
   * The peer closed its sending side (EOF). Reading stops; the owner decides when to close (a session answers what
   * it has read first).
   */
  onEnd(): void;
  /** The connection is gone (error, or {@link NetSocket.destroy}); called once. */
  onClose(): void;
  /** Everything written so far has been handed to the kernel (after a write had to wait). */
  onDrain?(): void;
  /**
   * Where the next read should go instead of the socket's slab, or null: the free room of a big value being
   * received, so that its bytes land in their final buffer and are not copied again. The next onData() is then a
   * view of that room, and nothing else is read into it until the owner has taken that read.
   */
  readTarget?(): Uint8Array | null;
}

/** Slab sizes: small reads share a small slab; a read that fills a slab's whole tail gets a big one next. */
const SLAB = 4096;
const BIG_SLAB = 64 * 1024;
/** Below this much free tail, a new slab is taken rather than issuing a tiny read. */
const MIN_TAIL = 512;
/** Queued small writes are gathered into one buffer of at most this size. */
const MAX_GATHER = 256 * 1024;

/** A TCP connection. */
export class NetSocket {
  /** `host:port` of the peer. */
  readonly remote: string;
  /** `Date.now()` of the last read or write, for the idle timeout (a V8 builtin: no runtime call per read). */
  lastActive: number = Date.now();
  #conn: SocketConn;
  #slabSize: number;
  #events: SocketEvents | null = null;
  #closed = false;
  #paused = false;
  #resume: (() => void) | null = null;
  /** A read is waiting on the peer (for diagnostics: false while reading is paused or the read loop has ended). */
  #readPending = false;
  #writing = false;
  #writeStartedAt = 0;
  /** Bytes of the write in progress not yet taken by the kernel. */
  #inFlight = 0;
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** Set by end(): close once everything queued is written. */
  #ending = false;
  #ended: (() => void) | null = null;
  /**
   * The buffer small queued writes are gathered into, reused once its write is done (only one write is in flight at
   * a time); null for a socket that does not keep one (see the constructor).
   */
  #gatherBuf: Uint8Array | null;

  /**
   * @param slabSize the size of a fresh read slab: small for clients (many of them, mostly small requests), big for
   * backends (few of them, carrying the replies of many clients per read).
   * @param keepGatherBuffer gather small writes into one buffer of the socket's own, kept and reused (a backend
   * connection gathers every turn: a fresh buffer each time was a 16 KB allocation per 16 KB request); a client
   * socket gathers into a fresh one, so that an idle session holds nothing.
   */
  constructor(conn: SocketConn, slabSize = SLAB, keepGatherBuffer = false) {
    this.#conn = conn;
    this.#slabSize = slabSize;
    this.#gatherBuf = keepGatherBuffer ? new Uint8Array(0) : null;
    const a = conn.remoteAddr;
    this.remote = a.transport === "tcp" || a.transport === "udp"
      ? `${a.hostname}:${a.port}`
      : `${a.transport}:${"path" in a ? a.path || "@" : ""}`;
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // not a TCP connection; nothing to tune
    }
  }

  /** Starts reading; events go to `events` from then on. */
  start(events: SocketEvents): void {
    this.#events = events;
    this.#readLoop();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #readLoop(): Promise<void> {
    const conn = this.#conn;
    const small = this.#slabSize;
    const big = Math.max(BIG_SLAB, small);
    const events = this.#events!;
    let slab = new Uint8Array(small);
    let used = 0;
    try {
      while (!this.#closed) {
        if (this.#paused) {
          await new Promise<void>((r) => this.#resume = r);
          if (this.#closed) break;
        }
        const target = events.readTarget?.() ?? null;
        this.#readPending = true;
        const n = await conn.read(target ?? (used === 0 ? slab : slab.subarray(used)));
        this.#readPending = false;
        if (n === null) {
          if (!this.#closed && !this.#ending) return events.onEnd();
          break;
        }
        let chunk: Uint8Array;
        if (target !== null) {
          chunk = target.subarray(0, n);
        } else {
          chunk = slab.subarray(used, used + n);
          used += n;
          if (slab.length - used < MIN_TAIL) {
            // A read that filled the whole tail means a burst: the next slab is a big one.
            slab = new Uint8Array(used === slab.length ? big : small);
            used = 0;
          } else if (n < MIN_TAIL && slab.length > small) {
            // The burst is over: a big slab is given back rather than held by a connection that went quiet.
            slab = new Uint8Array(small);
            used = 0;
          }
        }
        this.lastActive = Date.now();
        if (this.#ending || this.#closed) continue;
        events.onData(chunk);
      }
    } catch {
      // reset by peer, or closed under a pending read: the connection is gone either way
    }
    this.#readPending = false;
    this.destroy();
  }

  /** Whether a read is waiting on the peer (false while paused, after the end, or while the last read is handled). */
  get readPending(): boolean {
    return this.#readPending;
  }

  /** Stops reading until {@link resume}: backpressure for a peer that sends faster than we can answer. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const r = this.#resume;
    this.#resume = null;
    r?.();
  }

  /** Queues bytes for the peer; they are written in order. The buffer must not change afterwards. */
  write(buf: Uint8Array): void {
    if (this.#closed || this.#ending) return;
    if (this.#writing) {
      this.#queue.push(buf);
      this.#queued += buf.length;
      return;
    }
    this.#writing = true;
    this.#writeLoop(buf);
  }

  /**
   * Queues several buffers, written in order: runs of small ones are gathered into one write, big ones go as they
   * are. The buffers must not change afterwards.
   */
  writeParts(parts: readonly Uint8Array[]): void {
    if (this.#closed || this.#ending) return;
    const q = this.#queue;
    for (let i = 0; i < parts.length; i++) {
      q.push(parts[i]);
      this.#queued += parts[i].length;
    }
    if (this.#writing) return;
    const first = this.#takeQueued();
    if (first === null) return;
    this.#writing = true;
    this.#writeLoop(first);
  }

  /**
   * Since when (`Date.now()`) the oldest byte not yet taken by the kernel has waited without the peer taking any, or 0
   * when no write is waiting: a client that stops reading its replies shows here, for `session_send_timeout`.
   */
  get writeWaitingSince(): number {
    return this.#writing ? this.#writeStartedAt : 0;
  }

  /** Bytes accepted by write() and not yet handed to the kernel: the queue plus the write in progress. */
  get pendingBytes(): number {
    return this.#queued + this.#inFlight;
  }

  async #writeLoop(first: Uint8Array): Promise<void> {
    const conn = this.#conn;
    let buf: Uint8Array | null = first;
    try {
      while (buf !== null && !this.#closed) {
        let off = 0;
        this.#writeStartedAt = Date.now();
        this.#inFlight = buf.length;
        while (off < buf.length) {
          const n = await conn.write(off === 0 ? buf : buf.subarray(off));
          off += n;
          this.#inFlight = buf.length - off;
          // The peer took part of a big write: the rest has waited since now. session_send_timeout is for a client
          // that reads none of its replies, not one that reads a big one slowly (as FdSocket on partial sends).
          if (n > 0 && off < buf.length) this.#writeStartedAt = Date.now();
        }
        this.lastActive = Date.now();
        buf = this.#takeQueued();
      }
    } catch {
      this.#writing = false;
      this.destroy();
      return;
    }
    this.#writing = false;
    if (this.#ending) return this.#finishEnd();
    if (!this.#closed) this.#events?.onDrain?.();
  }

  #takeQueued(): Uint8Array | null {
    const q = this.#queue;
    if (q.length === 0) return null;
    // A big part goes as it is; a run of small ones from the head (up to MAX_GATHER bytes) is gathered.
    let to = 0;
    let bytes = 0;
    while (to < q.length && q[to].length < BIG_PART && bytes + q[to].length <= MAX_GATHER) bytes += q[to++].length;
    if (to === 0) {
      to = 1;
      bytes = q[0].length;
    }
    // (No write is in flight here: the kept gather buffer is free.)
    let out: Uint8Array;
    if (to === 1 || this.#gatherBuf === null) out = gather(q, 0, to, bytes);
    else {
      if (this.#gatherBuf.length < bytes) this.#gatherBuf = new Uint8Array(Math.max(bytes, 2 * this.#gatherBuf.length));
      out = gatherInto(this.#gatherBuf, q, 0, to);
    }
    if (to === q.length) q.length = 0;
    else q.splice(0, to);
    this.#queued -= bytes;
    return out;
  }

  /** Writes `last` (if any) after everything queued, then closes; `done` runs once the socket is closed. */
  end(last?: Uint8Array, done?: () => void): void {
    if (this.#closed) return void done?.();
    if (last) this.write(last);
    this.#ending = true;
    this.#ended = done ?? null;
    if (!this.#writing) this.#finishEnd();
  }

  #finishEnd(): void {
    try {
      // Half-close first so the client reads everything before it sees the connection end.
      (this.#conn as Deno.TcpConn).closeWrite?.().catch(() => {});
    } catch {
      // already closed
    }
    // Give the client a moment to read the final reply before the read side goes too.
    setTimeout(() => this.destroy(), 50);
  }

  /** Closes at once; queued bytes are dropped. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#queued = 0;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.resume();
    const ended = this.#ended;
    this.#ended = null;
    ended?.();
    this.#events?.onClose();
  }
}
