/**
 * The proxy's TLS client listener. Without a client CA it is `Deno.listenTls`, whose connections are ordinary
 * `Deno.Conn`s. With one (`proxy_tls_client_ca_file`, mutual TLS) it has to be node:tls: in Deno 2.9,
 * `Deno.listenTls` cannot ask for or verify a client certificate, while node:tls's server does both
 * (`requestCert`, `rejectUnauthorized`, `ca`). Its sockets are adapted to the few `Deno.Conn` members
 * `NetSocket` uses, at the cost of one copy per read; plain and server-only TLS connections are untouched.
 * @module
 */
import type { Buffer } from "node:buffer";
import tls from "node:tls";
import { logger } from "../util/log.ts";
import type { TlsCertifiedKey } from "../util/tls.ts";
import type { SocketConn } from "../redis/socket.ts";

/** What the proxy's accept loop uses of a listener. */
export interface ClientListener {
  readonly addr: Deno.Addr;
  accept(): Promise<SocketConn>;
  close(): void;
}

/** Where to listen: `Deno.listen`'s TCP options. */
export interface ListenAt {
  hostname: string;
  port: number;
  reusePort: boolean;
}

/**
 * Opens the TLS client listener: `Deno.listenTls` with `key`, or, when `clientCaCerts` is given, a node:tls server
 * that refuses clients without a certificate signed by one of them.
 */
export async function listenClientsTls(
  at: ListenAt,
  key: TlsCertifiedKey,
  clientCaCerts: string[] | undefined,
): Promise<ClientListener> {
  if (clientCaCerts === undefined) {
    return Deno.listenTls({ ...at, transport: "tcp", cert: key.cert, key: key.key });
  }
  return await NodeTlsListener.open(at, key, clientCaCerts);
}

const log = logger("proxy");

/** Reads queue at most this much from one client before the socket is paused (the proxy reads slower). */
const HIGH_WATER = 256 * 1024;

/** A node:tls socket seen as a `Deno.Conn`. */
class NodeTlsConn implements SocketConn {
  readonly remoteAddr: Deno.NetAddr;
  #sock: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(sock: tls.TLSSocket) {
    this.#sock = sock;
    this.remoteAddr = { transport: "tcp", hostname: sock.remoteAddress ?? "", port: sock.remotePort ?? 0 };
    sock.on("data", (b: Buffer) => {
      this.#chunks.push(b);
      this.#queued += b.length;
      if (this.#queued > HIGH_WATER) sock.pause();
      this.#notify();
    });
    sock.on("end", () => this.#finish(null));
    sock.on("close", () => this.#finish(null));
    sock.on("error", (e: Error) => this.#finish(e));
  }

  #finish(e: Error | null): void {
    if (e !== null && this.#error === null) this.#error = e;
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== null) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((r) => this.#wake = r);
    }
    const c = this.#chunks[0];
    const n = Math.min(c.length, p.length);
    p.set(n === c.length ? c : c.subarray(0, n));
    if (n === c.length) this.#chunks.shift();
    else this.#chunks[0] = c.subarray(n);
    this.#queued -= n;
    if (this.#queued < HIGH_WATER / 2 && this.#sock.isPaused()) this.#sock.resume();
    return n;
  }

  /** Resolves once node has handed the bytes to TLS and the kernel, so that a slow reader holds up the writer. */
  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => this.#sock.write(p, (e) => e ? reject(e) : resolve(p.length)));
  }

  closeWrite(): Promise<void> {
    this.#sock.end();
    return Promise.resolve();
  }

  close(): void {
    this.#sock.destroy();
  }

  setNoDelay(on = true): void {
    this.#sock.setNoDelay(on);
  }

  setKeepAlive(on = true): void {
    this.#sock.setKeepAlive(on);
  }
}

/** A node:tls server that hands out verified connections through `accept()`, like a `Deno.Listener`. */
class NodeTlsListener implements ClientListener {
  #server: tls.Server;
  #ready: NodeTlsConn[] = [];
  #waiters: { resolve: (c: SocketConn) => void; reject: (e: Error) => void }[] = [];
  #closed = false;
  addr: Deno.NetAddr = { transport: "tcp", hostname: "", port: 0 };

  private constructor(key: TlsCertifiedKey, caCerts: string[]) {
    this.#server = tls.createServer({
      cert: key.cert,
      key: key.key,
      ca: caCerts,
      requestCert: true,
      rejectUnauthorized: true,
    }, (sock) => {
      // Wrapped at once, so that the socket's events have listeners even while it waits for accept().
      const conn = new NodeTlsConn(sock);
      const w = this.#waiters.shift();
      if (w) w.resolve(conn);
      else this.#ready.push(conn);
    });
    // A client without a good certificate fails its handshake and is closed; nothing reaches the proxy.
    this.#server.on("tlsClientError", () => {});
  }

  static async open(at: ListenAt, key: TlsCertifiedKey, caCerts: string[]): Promise<NodeTlsListener> {
    const l = new NodeTlsListener(key, caCerts);
    const server = l.#server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: at.hostname, port: at.port, reusePort: at.reusePort }, () => {
        server.off("error", reject);
        // After start-up an error (out of file descriptors, say) is logged; an unheard one would end the process.
        server.on("error", (e: Error) => log.warn(`TLS listener: ${e.message}`));
        resolve();
      });
    });
    const a = server.address();
    if (a !== null && typeof a === "object") l.addr = { transport: "tcp", hostname: a.address, port: a.port };
    return l;
  }

  accept(): Promise<SocketConn> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("listener closed"));
    const c = this.#ready.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const c of this.#ready) c.close();
    this.#ready = [];
    for (const w of this.#waiters) w.reject(new Deno.errors.BadResource("listener closed"));
    this.#waiters = [];
  }
}
