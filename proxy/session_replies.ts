/**
 * A session's replies leave in the order of its requests, whatever order the backends answer in: each request waits
 * in the session's queue, and at the end of an event-loop turn every reply ready at the head of the queue is written
 * in one socket write.
 * @module
 */
import type { Fifo } from "../util/fifo.ts";
import type { ProxyStats } from "./core/stats.ts";
import type { Request } from "./forward/request.ts";
import type { ClientSocket } from "./net/client_socket.ts";

/** Above this many bytes ready at once, replies are written one by one rather than gathered into a new buffer. */
const GATHER_MAX_BYTES = 1 << 20;

/**
 * Takes every answered request off the head of `queue`, records it in `stats` and writes its reply to `sock`: one
 * socket write for all of them, since each write is a syscall; big replies are handed over as they are. `ready` is the
 * session's scratch list (left empty). Returns whether one of the requests failed in the proxy.
 */
export function writeReadyReplies(
  queue: Fifo<Request>,
  ready: Uint8Array[],
  sock: ClientSocket,
  stats: ProxyStats,
): boolean {
  let head = queue.peek();
  if (head === undefined || head.reply === null) return false;
  const now = performance.now();
  let total = 0;
  let failed = false;
  while (head !== undefined && head.reply !== null) {
    queue.shift();
    const reply = head.reply;
    ready.push(reply);
    total += reply.length;
    stats.record(head.name, Math.round((now - head.start) * 1000), head.failed, reply[0] === 45 && !head.failed);
    if (head.failed) failed = true;
    head = queue.peek();
  }
  if (ready.length === 1) {
    sock.write(ready[0]);
  } else if (total > GATHER_MAX_BYTES) {
    for (const r of ready) sock.write(r);
  } else {
    const buf = new Uint8Array(total);
    let off = 0;
    for (const r of ready) {
      buf.set(r, off);
      off += r.length;
    }
    sock.write(buf);
  }
  ready.length = 0;
  return failed;
}

/** Writes the replies already made at the head of `queue` as they are (before a session's closing error). */
export function writeMadeReplies(queue: Fifo<Request>, sock: ClientSocket): void {
  for (let head = queue.peek(); head !== undefined && head.reply !== null; head = queue.peek()) {
    queue.shift();
    sock.write(head.reply);
  }
}
