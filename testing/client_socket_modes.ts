/**
 * The proxy's kinds of client socket, for tests that run each case on every one: Deno's connections
 * (`session_epoll = false`), the proxy's epoll set with its first connections handed to the runtime's own reactor
 * (`session_epoll_direct = 8`, `proxy/net/uv_socket.ts`), and the epoll set alone (the default,
 * `proxy/net/fd_socket.ts`).
 * @module
 */
import type { ProxyConfig } from "../proxy/core/config.ts";

/** A client socket kind: a name for test titles and the proxy settings that choose it. */
export interface ClientSocketMode {
  name: string;
  config: Partial<ProxyConfig>;
}

export const CLIENT_SOCKET_MODES: readonly ClientSocketMode[] = [
  { name: "Deno sockets", config: { session_epoll: false } },
  { name: "epoll, direct", config: { session_epoll: true, session_epoll_direct: 8 } },
  { name: "epoll", config: { session_epoll: true } },
];
