/**
 * Authenticated Raft peer transport over TCP.
 *
 * Each node dials every peer it sends to; connections carry traffic one way (dialer → listener). Handshake:
 * 1. listener → dialer: `"RAFT1" | nonceS` (16 random bytes);
 * 2. dialer → listener: JSON `{cluster, from, to, addr, meta, nonceC, mac}` with
 *    `mac = HMAC(secret, "hello" | JSON [cluster, from, to, addr, meta] | nonceS | nonceC)`;
 * 3. listener → dialer: `HMAC(secret, "ack" | nonceS | nonceC)`, only when `from` is admitted (a member or a node
 *    being added, see {@link TransportOptions.admit}): knowing the secret is not enough to speak for any id.
 * Every later frame is `HMAC(K, seq | payload) | payload` with the per-connection key
 * `K = HMAC(secret, "key" | nonceS | nonceC)` and a frame counter, so frames cannot be replayed on another
 * connection or reordered within one. Anything unauthenticated or malformed closes the connection.
 *
 * With {@link TransportOptions.tls} the same protocol runs inside TLS (Deno's rustls): the dialer verifies the
 * listener's certificate against the given roots, and the nonces and MACs still authenticate every peer, since a
 * TLS listener in Deno cannot verify client certificates.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { decodeMessage, encodeMessage } from "../codec.ts";
import type { Message, NodeId } from "../types.ts";
import { frameBytes, FrameReader, hmac, macEqual, nonce, ProtocolError, seqBytes, writeAll } from "./frames.ts";
import { logger } from "../../util/log.ts";
import { concat } from "../../util/bytes.ts";

const log = logger("raft-transport");
const MAGIC = new TextEncoder().encode("RAFT1");
const enc = new TextEncoder();
const dec = new TextDecoder();
const HANDSHAKE_MS = 5000;

/** Options of {@link TcpTransport.start}. */
export interface TransportOptions {
  id: NodeId;
  /** "host:port" to listen on (port 0 picks one; see {@link TcpTransport.addr}). */
  listen: string;
  /** Address announced to peers (default: the listen address). */
  advertise?: string;
  clusterId: string;
  clusterSecret: string;
  /** Called for every authenticated, validated message addressed to this node. */
  onMessage: (m: Message) => void;
  /** Called when messages to a peer were dropped because it could not be reached. */
  onUnreachable?: (id: NodeId) => void;
  /** Called when the last chunk of a snapshot to `id` was written (ok) or dropped. */
  onSnapshotSent?: (id: NodeId, ok: boolean) => void;
  /**
   * Whether a dialer that authenticated as `id` may speak (default: any id). Asked before the handshake is
   * acknowledged, so a refused id never reaches {@link onPeerAddr} or {@link onMessage}.
   */
  admit?: (id: NodeId) => boolean;
  /** Called when an authenticated peer announces its address. */
  onPeerAddr?: (id: NodeId, addr: string, meta: string) => void;
  /** Opaque string announced to peers with the address (e.g. this node's service API address); ≤ 255 chars. */
  meta?: string;
  /** Largest accepted frame (default 64 MiB). */
  maxFrame?: number;
  /** Largest backlog per peer before new messages are dropped (default 64 MiB). */
  maxQueueBytes?: number;
  /** Run over TLS: this node's certificate and key (PEM) and the roots peers' certificates chain to. */
  tls?: { cert: string; key: string; caCerts?: string[] } | null;
}

/** Splits "host:port". */
export function splitAddr(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad address "${addr}"`);
  return { hostname: addr.slice(0, i), port };
}

class Peer {
  queue: Message[] = [];
  queueBytes = 0;
  conn: Deno.Conn | undefined;
  key: Uint8Array | undefined;
  seq = 0;
  running = false;
  retryAt = 0;
  constructor(readonly id: NodeId, public addr: string) {}
}

/** The TCP transport. */
export class TcpTransport {
  private readonly peers = new Map<NodeId, Peer>();
  private readonly inbound = new Set<Deno.Conn>();
  private readonly tasks = new Set<Promise<void>>();
  private closed = false;
  private readonly maxFrame: number;
  private readonly maxQueue: number;

  private constructor(private readonly opts: TransportOptions, private readonly listener: Deno.Listener) {
    this.maxFrame = opts.maxFrame ?? 64 * 1024 * 1024;
    this.maxQueue = opts.maxQueueBytes ?? 64 * 1024 * 1024;
  }

  /** Starts listening. */
  static start(opts: TransportOptions): Promise<TcpTransport> {
    const { hostname, port } = splitAddr(opts.listen);
    const tls = opts.tls;
    const listener = tls
      ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key })
      : Deno.listen({ hostname, port });
    const t = new TcpTransport(opts, listener);
    t.track(t.acceptLoop());
    return Promise.resolve(t);
  }

  /** The address peers should dial. */
  get addr(): string {
    if (this.opts.advertise) return this.opts.advertise;
    const a = this.listener.addr as Deno.NetAddr;
    return `${a.hostname}:${a.port}`;
  }

  /** Sets or updates a peer's address. */
  setPeer(id: NodeId, addr: string): void {
    if (id === this.opts.id) return;
    const p = this.peers.get(id);
    if (!p) this.peers.set(id, new Peer(id, addr));
    else if (p.addr !== addr) {
      p.addr = addr;
      p.conn?.close();
    }
  }

  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void {
    const p = this.peers.get(id);
    if (!p) return;
    this.peers.delete(id);
    try {
      p.conn?.close();
    } catch { /* already closed */ }
  }

  /** Known peer addresses. */
  peerAddrs(): Map<NodeId, string> {
    return new Map([...this.peers].map(([id, p]) => [id, p.addr]));
  }

  /** Queues messages; never blocks. Messages to unknown or unreachable peers are dropped (and reported). */
  send(msgs: Message[]): void {
    for (const m of msgs) {
      const p = this.peers.get(m.to);
      if (!p || this.closed) {
        this.dropped(m);
        continue;
      }
      const size = 64 + (m.entries?.reduce((n, e) => n + e.data.length, 0) ?? 0) + (m.snapshot?.data.length ?? 0);
      if (p.queueBytes + size > this.maxQueue || Date.now() < p.retryAt) {
        this.dropped(m);
        continue;
      }
      p.queue.push(m);
      p.queueBytes += size;
      if (!p.running) {
        p.running = true;
        this.track(this.writeLoop(p));
      }
    }
  }

  /** Stops listening, closes every connection and waits for its tasks. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.listener.close();
    } catch { /* already closed */ }
    for (const c of this.inbound) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    for (const p of this.peers.values()) {
      try {
        p.conn?.close();
      } catch { /* already closed */ }
      p.conn = undefined;
    }
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private track(p: Promise<void>): void {
    this.tasks.add(p);
    p.finally(() => this.tasks.delete(p));
  }

  private dropped(m: Message): void {
    if (m.type === "snap") this.opts.onSnapshotSent?.(m.to, false);
    this.opts.onUnreachable?.(m.to);
  }

  // --- outbound ---

  private async writeLoop(p: Peer): Promise<void> {
    try {
      while (p.queue.length > 0 && !this.closed && this.peers.get(p.id) === p) {
        if (!p.conn) {
          try {
            const c = await this.dial(p);
            p.conn = c.conn;
            p.key = c.key;
            p.seq = 0;
            this.track(this.watch(p, c.conn));
          } catch (e) {
            log.debug(`cannot reach peer ${p.id} at ${p.addr}: ${(e as Error).message}`);
            p.retryAt = Date.now() + 200;
            this.failQueue(p);
            break;
          }
        }
        const batch = p.queue;
        p.queue = [];
        p.queueBytes = 0;
        const frames: Uint8Array[] = [];
        for (const m of batch) {
          const payload = encodeMessage(m);
          frames.push(frameBytes(hmac(p.key!, seqBytes(p.seq++), payload), payload));
        }
        try {
          await writeAll(p.conn!, frames.length === 1 ? frames[0] : concat(frames));
          for (const m of batch) if (m.type === "snap" && m.snapshot?.done) this.opts.onSnapshotSent?.(m.to, true);
        } catch (e) {
          log.debug(`send to peer ${p.id} failed: ${(e as Error).message}`);
          try {
            p.conn?.close();
          } catch { /* already closed */ }
          p.conn = undefined;
          for (const m of batch) this.dropped(m);
        }
      }
    } finally {
      p.running = false;
      if (p.queue.length > 0 && !this.closed && this.peers.get(p.id) === p) {
        p.running = true;
        this.track(this.writeLoop(p));
      }
    }
  }

  /**
   * The listener never writes after the handshake, so a read returning means the peer closed or died: drop the
   * connection at once rather than losing the next message into a dead socket.
   */
  private async watch(p: Peer, conn: Deno.Conn): Promise<void> {
    try {
      await conn.read(new Uint8Array(1));
    } catch { /* reset or closed locally */ }
    if (p.conn === conn) {
      p.conn = undefined;
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  private failQueue(p: Peer): void {
    const q = p.queue;
    p.queue = [];
    p.queueBytes = 0;
    for (const m of q) this.dropped(m);
  }

  private async dial(p: Peer): Promise<{ conn: Deno.Conn; key: Uint8Array }> {
    const tls = this.opts.tls;
    const at = splitAddr(p.addr);
    const conn: Deno.Conn = tls
      ? await Deno.connectTls({ hostname: at.hostname.replace(/^\[|\]$/g, ""), port: at.port, caCerts: tls.caCerts })
      : await Deno.connect({ ...at, transport: "tcp" });
    const timer = setTimeout(() => conn.close(), HANDSHAKE_MS);
    try {
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      const r = new FrameReader(conn, 1024);
      const hello = await r.next();
      if (!hello || hello.length !== MAGIC.length + 16 || !macEqual(hello.subarray(0, MAGIC.length), MAGIC)) {
        throw new ProtocolError("bad server hello");
      }
      const nonceS = hello.subarray(MAGIC.length);
      const nonceC = nonce();
      const { clusterId: cluster, clusterSecret: secret, id: from } = this.opts;
      const addr = this.addr;
      const meta = this.opts.meta ?? "";
      const mac = hmac(secret, "hello", JSON.stringify([cluster, from, p.id, addr, meta]), nonceS, nonceC);
      const body = { cluster, from, to: p.id, addr, meta, nonceC: b64(nonceC), mac: b64(mac) };
      await writeAll(conn, frameBytes(enc.encode(JSON.stringify(body))));
      const ack = await r.next();
      if (!ack || !macEqual(ack, hmac(secret, "ack", nonceS, nonceC))) {
        throw new ProtocolError(`peer ${p.id} at ${p.addr} failed authentication`);
      }
      return { conn, key: hmac(secret, "key", nonceS, nonceC) };
    } catch (e) {
      try {
        conn.close();
      } catch { /* closed by the timer */ }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  // --- inbound ---

  private async acceptLoop(): Promise<void> {
    while (!this.closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.listener.accept();
      } catch {
        break;
      }
      this.inbound.add(conn);
      this.track(
        this.serve(conn).finally(() => {
          this.inbound.delete(conn);
          try {
            conn.close();
          } catch { /* already closed */ }
        }),
      );
    }
  }

  private async serve(conn: Deno.Conn): Promise<void> {
    const remote = conn.remoteAddr as Deno.NetAddr;
    try {
      // Small frames only until the peer is authenticated.
      const r = new FrameReader(conn, 4096);
      const { from, key } = await this.accept(conn, r);
      r.maxFrame = this.maxFrame;
      let seq = 0;
      while (!this.closed) {
        const f = await r.next();
        if (f === null) return;
        if (f.length < 32) throw new ProtocolError("short frame");
        const payload = f.subarray(32);
        if (!macEqual(f.subarray(0, 32), hmac(key, seqBytes(seq++), payload))) {
          throw new ProtocolError("frame MAC mismatch");
        }
        const m = decodeMessage(payload);
        if (m.from !== from || m.to !== this.opts.id) throw new ProtocolError("message from/to mismatch");
        this.opts.onMessage(m);
      }
    } catch (e) {
      if (!this.closed && !(e instanceof Deno.errors.BadResource) && !(e instanceof Deno.errors.Interrupted)) {
        log.warn(`dropping connection from ${remote.hostname}:${remote.port}: ${(e as Error).message}`);
      }
    }
  }

  private async accept(conn: Deno.Conn, r: FrameReader): Promise<{ from: NodeId; key: Uint8Array }> {
    const timer = setTimeout(() => conn.close(), HANDSHAKE_MS);
    try {
      const nonceS = nonce();
      await writeAll(conn, frameBytes(MAGIC, nonceS));
      const f = await r.next();
      if (!f) throw new ProtocolError("closed during handshake");
      let h: Record<string, unknown>;
      try {
        h = JSON.parse(dec.decode(f));
      } catch {
        throw new ProtocolError("malformed handshake");
      }
      const { cluster, from, to, addr, meta } = h;
      if (
        typeof cluster !== "string" || typeof addr !== "string" || addr.length > 255 ||
        typeof meta !== "string" || meta.length > 255 ||
        typeof from !== "number" || !Number.isSafeInteger(from) || from < 1 || typeof to !== "number" ||
        typeof h.nonceC !== "string" || typeof h.mac !== "string"
      ) throw new ProtocolError("malformed handshake");
      const nonceC = unb64(h.nonceC);
      const signed = JSON.stringify([cluster, from, to, addr, meta]);
      const want = hmac(this.opts.clusterSecret, "hello", signed, nonceS, nonceC);
      if (!macEqual(unb64(h.mac), want)) throw new ProtocolError("authentication failed");
      if (cluster !== this.opts.clusterId) throw new ProtocolError(`peer is in cluster "${cluster}"`);
      if (to !== this.opts.id) throw new ProtocolError(`peer addressed node ${to}, this is ${this.opts.id}`);
      if (from === this.opts.id) throw new ProtocolError("peer claims this node's id");
      if (this.opts.admit && !this.opts.admit(from)) throw new ProtocolError(`node ${from} is not a member`);
      await writeAll(conn, frameBytes(hmac(this.opts.clusterSecret, "ack", nonceS, nonceC)));
      this.opts.onPeerAddr?.(from, addr, meta);
      return { from, key: hmac(this.opts.clusterSecret, "key", nonceS, nonceC) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function b64(u: Uint8Array): string {
  return Buffer.from(u).toString("base64");
}

function unb64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}
