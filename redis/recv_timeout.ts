/**
 * The reason a backend connection gives when it is dropped for backend_recv_timeout. Such a loss is rare and hard to
 * reproduce, so the reason carries what tells the possible causes apart: a server that stopped answering (the
 * requests were sent, a read is waiting), requests that never left the proxy (bytes unsent), a read loop that stopped
 * (no read waiting), or a proxy that did not run (health checks far apart: a stopped or starved process, a paused
 * machine).
 * @module
 */

/** What a backend connection knows of itself when its health check finds it quiet for too long. */
export interface RecvTimeoutFacts {
  /** Milliseconds since the last read, or since requests began to wait when that is later. */
  quietMs: number;
  /** Requests written and not yet answered. */
  waiting: number;
  /** Whether the socket has a read waiting for the server's bytes (false: its read loop is not reading). */
  readPending: boolean;
  /** Bytes handed to the socket and not yet taken by the kernel. */
  unsentBytes: number;
  /** Milliseconds since the last write was handed to the socket. */
  sinceWriteMs: number;
  /** The longest time between two health checks while the connection was quiet. */
  longestCheckGapMs: number;
}

/**
 * `no reply for N ms (backend_recv_timeout): ...` with the facts above. The first part is what clients have always
 * seen; the rest is for whoever reads the log.
 */
export function recvTimeoutReason(f: RecvTimeoutFacts): string {
  const ms = (n: number) => `${Math.round(n)} ms`;
  return `no reply for ${ms(f.quietMs)} (backend_recv_timeout): ` +
    `${f.waiting} request${f.waiting === 1 ? "" : "s"} waiting, ` +
    `${f.readPending ? "a read waiting on the server" : "no read waiting (the read loop stopped)"}, ` +
    `${f.unsentBytes} bytes not yet sent, last write ${ms(f.sinceWriteMs)} ago, ` +
    `health checks up to ${ms(f.longestCheckGapMs)} apart`;
}
