/**
 * A session's replies leave in the order of its requests, whatever order the backends answer in: each request waits
 * in the session's queue, and at the end of an event-loop turn every reply ready at the head of the queue is written
 * in one socket write.
 * @module
 */
import type { Fifo } from "../util/fifo.ts";
import type { ProxyStats } from "./core/stats.ts";
import type { LoadStats } from "./stats/load.ts";
import type { Request } from "./forward/request.ts";
import type { ClientSocket } from "./net/client_socket.ts";
import { releaseReply, type ReplyBuffer } from "../redis/reply_buffers.ts";

/** Where a flush hands its slow requests (the session: one object per session rather than a closure). */
export interface SlowLogSink {
  logSlow(argv: Uint8Array[], usecs: number): void;
}

/**
 * Scratch list of the replies one flush writes, shared by every session (a flush runs to its end before another
 * starts; a list per session was part of each idle session's cost).
 */
const ready: Uint8Array[] = [];
/** Scratch list of the pooled buffers (`../redis/reply_buffers.ts`) those replies are views of, shared likewise. */
const readyBuffers: ReplyBuffer[] = [];

/**
 * Writes one session's answered requests in order (see the module doc), and keeps what its backpressure needs: the
 * usual size of its replies, so that requests still in flight count for the bytes they are about to add.
 */
export class ReplyWriter {
  /** This session's reply size, smoothed over flushes (bytes per reply). */
  replyBytes = 0;
  /**
   * Pooled buffers of replies written while the socket still held unsent bytes: the socket may keep views of them
   * until it has sent everything ({@link releaseWritten}, on its drain event). Null while there are none.
   */
  #unsent: ReplyBuffer[] | null = null;

  /**
   * Takes every answered request off the head of `queue`, records it in `stats` and writes its reply to `sock`: one
   * socket write for all of them, since each write is a syscall; big replies are handed over as they are. Counts
   * keyed requests in `load` (per-slot statistics), and hands a request that took at least `slowUs` microseconds (the
   * slow log's threshold, Infinity while it is off) to `slowLog`. Returns whether one of the requests failed in the
   * proxy.
   */
  writeReady(
    queue: Fifo<Request>,
    sock: ClientSocket,
    stats: ProxyStats,
    load: LoadStats,
    slowUs: number,
    slowLog: SlowLogSink,
  ): boolean {
    let head = queue.peek();
    if (head === undefined || head.reply === null) return false;
    const now = performance.now();
    let total = 0;
    let failed = false;
    ready.length = 0; // (a flush that threw must not hand its replies to the next session's)
    readyBuffers.length = 0; // (nor its buffers: they are simply not reused)
    while (head !== undefined && head.reply !== null) {
      queue.shift();
      const reply = head.reply;
      ready.push(reply);
      if (head.replyBuffer !== null) {
        readyBuffers.push(head.replyBuffer);
        head.replyBuffer = null;
      }
      total += reply.length;
      const usecs = Math.round((now - head.start) * 1000);
      stats.record(head.name, usecs, head.failed, reply[0] === 45 && !head.failed);
      if (head.slot >= 0) load.answered(head, reply, usecs);
      if (usecs >= slowUs && head.argv !== null) slowLog.logSlow(head.argv, usecs); // (it copies what it keeps)
      if (head.failed) failed = true;
      const slab = head.slab;
      if (slab !== null) {
        // Nothing reads the request's views after this, if it took the plain path and its backend answered (a
        // failure may leave its bytes in a write that is still pending): its read buffer may be reused.
        head.slab = null;
        if (head.plain && !head.failed) slab.release();
        else slab.pin();
      }
      head = queue.peek();
    }
    // Weighs the latest flush as much as the past: a client that switches to big values is held back at once.
    const mean = total / ready.length;
    this.replyBytes = this.replyBytes === 0 ? mean : (this.replyBytes + mean) / 2;
    if (ready.length === 1) sock.write(ready[0]);
    else sock.writeParts(ready);
    ready.length = 0;
    if (readyBuffers.length > 0) this.#released(sock);
    return failed;
  }

  /**
   * The replies' pooled buffers may be reused once the socket holds no view of them: at once when it sent (or copied)
   * everything, else when it has (the socket's drain event). A socket that closes first keeps them from reuse.
   */
  #released(sock: ClientSocket): void {
    const bufs = readyBuffers;
    if (sock.pendingBytes === 0) {
      for (let i = 0; i < bufs.length; i++) releaseReply(bufs[i]);
      this.releaseWritten();
    } else {
      const unsent = this.#unsent ??= [];
      for (let i = 0; i < bufs.length; i++) unsent.push(bufs[i]);
    }
    bufs.length = 0;
  }

  /** The socket has sent everything written to it (its drain event): the buffers held for it may be reused. */
  releaseWritten(): void {
    const unsent = this.#unsent;
    if (unsent === null) return;
    this.#unsent = null;
    for (let i = 0; i < unsent.length; i++) releaseReply(unsent[i]);
  }
}

/** Writes the replies already made at the head of `queue` as they are (before a session's closing error). */
export function writeMadeReplies(queue: Fifo<Request>, sock: ClientSocket): void {
  for (let head = queue.peek(); head !== undefined && head.reply !== null; head = queue.peek()) {
    queue.shift();
    sock.write(head.reply);
  }
}
