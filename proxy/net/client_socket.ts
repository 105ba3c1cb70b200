/**
 * What a client session needs from its connection. Three implementations: NetSocket on a `Deno.Conn` (redis/socket.ts),
 * FdSocket on a file descriptor of the proxy's own epoll set (proxy/net/fd_socket.ts), used for client listeners on
 * Linux, and UvSocket for the first few of those connections, adopted by the runtime's own TCP handle
 * (proxy/net/uv_socket.ts).
 * @module
 */
import type { SocketEvents } from "../../redis/socket.ts";
import type { PooledBuffer } from "../../util/buffer_pool.ts";

export type { SocketEvents };

/** A client connection as a session sees it. */
export interface ClientSocket {
  /** `host:port` of the peer. */
  readonly remote: string;
  /** The file descriptor, where the proxy owns it (its own epoll sockets); absent for Deno's connections. */
  readonly fd?: number;
  /** `Date.now()` of the last read or write, for the idle timeout. */
  readonly lastActive: number;
  readonly closed: boolean;
  /** When the write now waiting on the peer began (`Date.now()`), or 0 when no write is waiting. */
  readonly writeWaitingSince: number;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  readonly pendingBytes: number;
  /**
   * The reused read buffer `view` lies in, when it is the one being read into now; null (or no such method: Deno's
   * connections read into fresh buffers) otherwise. Its users and pins decide when it is written again
   * (`util/buffer_pool.ts`).
   */
  slabOf?(view: Uint8Array): PooledBuffer | null;
  /** Starts reading; events go to `events` from then on. */
  start(events: SocketEvents): void;
  /** Stops reading until resume(). */
  pause(): void;
  resume(): void;
  /** Queues bytes for the peer, written in order; the buffer must not change afterwards. */
  write(buf: Uint8Array): void;
  /**
   * Queues several buffers, written in order (small ones gathered into one write); they must not change afterwards.
   * The caller empties and reuses `parts` as soon as this returns: a socket that keeps buffers for later keeps a copy
   * of the list.
   */
  writeParts(parts: readonly Uint8Array[]): void;
  /** Writes `last` (if any) after everything queued, then closes; `done` runs once closed. */
  end(last?: Uint8Array, done?: () => void): void;
  /** Closes at once; queued bytes are dropped. */
  destroy(): void;
}
