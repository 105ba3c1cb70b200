/**
 * What CLIENT LIST, CLIENT INFO and CLIENT KILL need to know about a session (proxy/local/client_list.ts formats it
 * as Redis does).
 * @module
 */

/** A session's facts at one moment. */
export interface ClientDescription {
  readonly id: number;
  /** `ip:port` of the client. */
  readonly addr: string;
  /** The proxy's address the client connected to. */
  readonly laddr: string;
  /** The connection's file descriptor where the proxy knows it (its own epoll sockets), else -1. */
  readonly fd: number;
  readonly name: string;
  /** Seconds since connect. */
  readonly ageSec: number;
  /** Seconds since the last read or write. */
  readonly idleSec: number;
  /** Redis's flag letters: O monitor, P subscribed (RESP2), x in MULTI, b blocked; N none. */
  readonly flags: string;
  readonly sub: number;
  readonly psub: number;
  readonly ssub: number;
  /** Commands queued in MULTI, or -1 outside it. */
  readonly multi: number;
  /** Bytes read and not parsed yet. */
  readonly qbuf: number;
  /** Reply bytes not yet taken by the kernel. */
  readonly omem: number;
  /** Name of the last command, `container|sub` for subcommands. */
  readonly cmd: string;
  readonly resp: 2 | 3;
  /** RESP2 and subscribed: Redis's `pubsub` client type. */
  readonly pubsub: boolean;
}
