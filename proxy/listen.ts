/**
 * The proxy's client listener: TCP, TCP6, unix or TLS through Deno, or TCP on the proxy's own epoll set
 * (`session_epoll`). Each accepted connection is handed over as a {@link ClientSocket}; the session code is the same
 * whatever the listener.
 * @module
 */
import { logger } from "../util/log.ts";
import type { ProxyConfig } from "./core/config.ts";
import { NetSocket, type SocketConn } from "../redis/socket.ts";
import { clientTls } from "./tls_setup.ts";
import { type ClientListener, listenClientsTls } from "./tls_listen.ts";
import type { ClientSocket } from "./net/client_socket.ts";
import { EpollLoop, FdListener } from "./net/epoll_loop.ts";
import { FdSocket } from "./net/fd_socket.ts";
import { UvSocket } from "./net/uv_socket.ts";
import { parseIpv4 } from "./net/libc.ts";

const log = logger("proxy");

/** Splits "host:port"; the host may be empty (all interfaces). */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  if (i < 0) throw new Error(`bad address '${addr}': expected HOST:PORT`);
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port in address '${addr}'`);
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ""), port };
}

/** A bound client listener; see {@link listenClients}. */
export interface ClientListening {
  /** The address to advertise (model and token): the host's name for a listener on every interface. */
  readonly advertised: string;
  /** The bound address (for `proto_type = "unix"`: host "unix", port 0). */
  readonly bound: { host: string; port: number };
  /** Stops accepting (a unix socket's file goes with it, so that a restart can bind it again). */
  stopAccepting(): void;
  /** Releases what outlives the sessions (the epoll set): after every session is closed. */
  close(): Promise<void>;
}

/** Binds the client listener `config` describes and hands every accepted connection to `accept`. */
export async function listenClients(
  config: ProxyConfig,
  accept: (sock: ClientSocket) => void,
): Promise<ClientListening> {
  const tls = clientTls(config);
  const epoll = tls ? null : listenEpoll(config, accept);
  if (epoll !== null) return epoll;
  let listener: ClientListener;
  let advertised: string;
  let bound: { host: string; port: number };
  if (config.proto_type === "unix") {
    listener = Deno.listen({ transport: "unix", path: config.proxy_addr });
    try {
      Deno.chmodSync(config.proxy_addr, parseInt(config.proxy_unixsocket_perm, 8));
    } catch (e) {
      listener.close();
      throw e;
    }
    advertised = config.proxy_addr;
    bound = { host: "unix", port: 0 };
  } else {
    const { host, port } = splitHostPort(config.proxy_addr);
    const reusePort = config.proxy_workers > 1;
    const wildcard = config.proto_type === "tcp6" ? "::" : "0.0.0.0";
    try {
      const at = { hostname: host || wildcard, port, reusePort };
      // TLS clients get a Deno.TlsConn (or, for mutual TLS, a node:tls socket in its shape): same session code.
      listener = tls
        ? await listenClientsTls(at, tls.key, tls.clientCaCerts)
        : Deno.listen({ ...at, transport: "tcp" });
    } catch (e) {
      if (reusePort && /unstable/i.test((e as Error).message)) {
        throw new Error(
          "proxy_workers > 1 shares the listener with SO_REUSEPORT, which needs `deno run --unstable-net`",
        );
      }
      throw e;
    }
    const a = listener.addr as Deno.NetAddr;
    // A listener on every interface is advertised under the host's name, as the dashboard does for its own
    // address: "0.0.0.0:19000" in the model would send clients and the dashboard nowhere.
    const anyHost = host === "" || host === "0.0.0.0" || host === "::";
    advertised = `${anyHost ? Deno.hostname() : host}:${a.port}`;
    bound = { host: a.hostname, port: a.port };
  }
  let stopped = false;
  acceptLoop(listener, config.session_keepalive_period > 0, () => stopped, accept);
  return {
    advertised,
    bound,
    stopAccepting() {
      if (stopped) return;
      stopped = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      if (config.proto_type === "unix") {
        try {
          Deno.removeSync(config.proxy_addr);
        } catch {
          // already gone
        }
      }
    },
    close: () => Promise.resolve(),
  };
}

async function acceptLoop(
  listener: ClientListener,
  keepAlive: boolean,
  stopped: () => boolean,
  accept: (sock: ClientSocket) => void,
): Promise<void> {
  for (;;) {
    let conn: SocketConn;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (stopped() || e instanceof Deno.errors.BadResource) return;
      // Out of file descriptors and the like: wait a little rather than spin.
      log.warn(`accept failed: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (keepAlive && "setKeepAlive" in conn) (conn as Deno.TcpConn).setKeepAlive(true);
    accept(new NetSocket(conn));
  }
}

/**
 * The client listener on the proxy's own epoll set, when session_epoll is on and the address is TCP over IPv4
 * (or every interface); null to use Deno.listen. See proxy/net/libc.ts for why.
 */
function listenEpoll(config: ProxyConfig, accept: (sock: ClientSocket) => void): ClientListening | null {
  if (!config.session_epoll || config.proto_type === "unix" || config.proto_type === "tcp6") return null;
  const { host, port } = splitHostPort(config.proxy_addr);
  const ip = host === "" ? "0.0.0.0" : host;
  if (parseIpv4(ip) === null) return null;
  const loop = EpollLoop.create();
  if (typeof loop === "string") {
    log.info(`client connections use Deno.listen (no epoll set: ${loop})`);
    return null;
  }
  let listener: FdListener;
  let adopted = 0;
  try {
    listener = new FdListener(loop, { host: ip, port }, {
      backlog: 1024,
      reusePort: config.proxy_workers > 1,
      keepAlive: config.session_keepalive_period > 0,
    }, (fd, remote) => {
      // A few connections go to the runtime's own reactor, which wakes the event loop without a thread hop.
      if (adopted < config.session_epoll_direct) {
        const sock = UvSocket.adopt(loop.libc, fd, remote, () => adopted--);
        if (sock !== null) {
          adopted++;
          return accept(sock);
        }
      }
      accept(new FdSocket(loop, fd, remote));
    });
  } catch (e) {
    loop.close().catch(() => {});
    throw e;
  }
  const anyHost = ip === "0.0.0.0";
  return {
    advertised: `${anyHost ? Deno.hostname() : ip}:${listener.port}`,
    bound: { host: ip, port: listener.port },
    // The listener's fd is in the loop: closing the loop (after the sessions) closes it, as before.
    stopAccepting() {},
    close: () => loop.close(),
  };
}
