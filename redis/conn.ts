/**
 * One pipelined connection to a Redis server. Requests from many client sessions are written back to back, and
 * replies are matched to them in order. `SELECT` is sent only when the next request's database differs from the
 * connection's current one. On loss, every request in flight fails with a clear error, the connection reconnects
 * with back-off, and requests fail fast while it is down.
 * @module
 */
import { Fifo } from "../util/fifo.ts";
import { atTurnEnd } from "../util/turn_end.ts";
import { logger } from "../util/log.ts";
import { encodeCommand } from "./encode.ts";
import { ReplyFramer } from "./reply_framer.ts";
import { type ReplyBuffer, retireReplyBuffer, takeReplyBuffer } from "./reply_buffers.ts";
import { errorText, isErrorReply } from "./decode.ts";
import { NetSocket } from "./socket.ts";
import { dialRedis } from "./dial.ts";
import { INFO_PROBE, isStaleError, servesReads, StaleProbe } from "./data_stale.ts";
import { recvTimeoutReason } from "./recv_timeout.ts";
import { StallTolerantTimeout } from "../util/stall_tolerant_timeout.ts";

const log = logger("backend");
/** Backend reads carry the replies of many sessions at once. */
const READ_SLAB = 64 * 1024;
/** Below this much free tail, the slab is retired and the next read goes into a new one. */
const MIN_TAIL = 512;
/**
 * The socket's own slab, used only by a read after the socket was replaced (its bytes are ignored): every read of the
 * live socket goes into the connection's pooled slab or the framer's buffer (see #readTarget).
 */
const UNUSED_SOCKET_SLAB = 1024;

/** Something waiting for one reply. Exactly one of the two methods is called, once. */
export interface PendingReply {
  onReply(raw: Uint8Array): void;
  onError(msg: string): void;
}

/** Connection state, as shown in stats. */
export type BackendState = "connecting" | "connected" | "down" | "closed";

/** Options shared by every backend connection of a proxy. */
export interface BackendOptions {
  /** Sent as `AUTH` on connect when non-empty. */
  auth: string;
  /** Largest number of requests in flight; more fail with an error instead of queueing without bound. */
  maxPipeline: number;
  /** Back-off bounds for reconnecting, in ms. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Connect timeout in ms. */
  connectTimeoutMs: number;
  /** An idle connection sends PING this often (backend_ping_period), so that a dead peer is noticed; 0: never. */
  pingPeriodMs?: number;
  /**
   * A connection that has requests in flight and reads nothing for this long is dropped (backend_recv_timeout):
   * a server that hangs, or a partition that sends no reset, must not hold clients forever. 0: never. Found by a
   * health check that runs up to four times per timeout (at most every second), and confirmed by the next one.
   */
  recvTimeoutMs?: number;
  /** TCP keepalive on the socket (backend_keepalive_period > 0); the probe period is the OS's. */
  keepAlive?: boolean;
}

const PING = encodeCommand(["PING"]);
const CLOSING = "proxy is closing";
/** Pre-encoded `SELECT n` for every database a slot can live in. */
const SELECT_CMDS: Uint8Array[] = [];
function selectCommand(db: number): Uint8Array {
  return SELECT_CMDS[db] ??= encodeCommand(["SELECT", String(db)]);
}

class InternalReply implements PendingReply {
  constructor(private readonly conn: BackendConn, private readonly what: string) {}
  onReply(raw: Uint8Array): void {
    if (isErrorReply(raw)) this.conn.fatal(`${this.what} failed: ${errorText(raw)}`);
  }
  onError(): void {}
}

class PromiseReply implements PendingReply {
  constructor(readonly resolve: (raw: Uint8Array) => void, readonly reject: (e: Error) => void) {}
  onReply(raw: Uint8Array): void {
    this.resolve(raw);
  }
  onError(msg: string): void {
    this.reject(new Error(msg));
  }
}

/** A pipelined connection to one Redis server. */
export class BackendConn {
  readonly addr: string;
  #host: string;
  #port: number;
  #opts: BackendOptions;
  /** The live connection; null while connecting (requests queue in #out meanwhile) or down. */
  #socket: NetSocket | null = null;
  /** Bumped on every open and loss, so that a connect that finishes late is recognised as stale. */
  #generation = 0;
  #connectTimer: StallTolerantTimeout | undefined;
  #state: BackendState = "down";
  #pending = new Fifo<PendingReply>(64);
  #framer: ReplyFramer;
  /**
   * The pooled slab replies are read into (`reply_buffers.ts`): each read fills its free tail, and the framer lends
   * the views of the replies in it; retired once its tail is small. Null until the next read needs one.
   */
  #slab: ReplyBuffer | null = null;
  #slabUsed = 0;
  #db = 0;
  /** Requests written since the last flush, sent as one socket write per event-loop turn. */
  #out: Uint8Array[] = [];
  #outLen = 0;
  #flushScheduled = false;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError = "not connected yet";
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Date.now() of the last read and the last write, and since when requests have been waiting. */
  #lastRead = 0;
  #lastWrite = 0;
  #busySince = 0;
  #healthTimer: ReturnType<typeof setInterval> | undefined;
  /** Date.now() of the last health check; the longest time between two checks while quiet (for the loss reason). */
  #lastCheck = 0;
  #longestCheckGap = 0;
  /**
   * The start of the quiet spell (see #checkHealth) the last health check found past backend_recv_timeout, or -1: the
   * next check drops the connection if it finds the same spell.
   */
  #quietSeenSince = -1;
  #selectReply: PendingReply = new InternalReply(this, "SELECT");
  #probing = false;
  /**
   * Set when the server answered MASTERDOWN or LOADING (Codis's DataStale): replica reads skip this connection until
   * an INFO, sent every backend_ping_period, shows the server loaded and its master link up.
   */
  stale = false;
  #flush = () => {
    this.#flushScheduled = false;
    const out = this.#out;
    const sock = this.#socket;
    if (out.length === 0 || sock === null) return;
    // One write per event-loop turn for the small requests (a write is a syscall, a copy of them is cheaper), gathered
    // into the socket's own reused buffer; a big value goes as it is rather than copied.
    if (out.length === 1) sock.write(out[0]);
    else sock.writeParts(out);
    out.length = 0; // (the socket took the parts over)
    this.#outLen = 0;
    if (this.#healthTimer !== undefined) this.#lastWrite = Date.now();
  };

  constructor(addr: string, opts: BackendOptions) {
    this.addr = addr;
    const i = addr.lastIndexOf(":");
    this.#host = addr.slice(0, i);
    this.#port = Number(addr.slice(i + 1));
    this.#opts = opts;
    this.#framer = new ReplyFramer((raw) => this.#onReply(raw), true);
  }

  /** Current state. */
  get state(): BackendState {
    return this.#state;
  }

  /** Requests written and not yet answered. */
  get inflight(): number {
    return this.#pending.length;
  }

  /**
   * Bumped on every open and every loss: state that lives on the server's side of one connection (a WATCH) is gone
   * once this differs from its value when the state was created.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Why the connection is not connected, when it is not. */
  get lastError(): string {
    return this.#lastError;
  }

  /** Opens the connection; resolves once connected (and authenticated), rejects on the first failure. */
  connect(): Promise<void> {
    if (this.#state === "connected") return Promise.resolve();
    if (this.#state === "closed") return Promise.reject(new Error(`backend ${this.addr} is closed`));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      // Only a connection that is down opens now: while connecting (the socket may not exist yet), a second open
      // would reset #db under the SELECTs already queued, and later requests would run in the wrong database.
      if (this.#state === "down") {
        if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#open();
      }
    });
  }

  #settleWaiters(err: Error | null): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) err ? w.reject(err) : w.resolve();
  }

  #open(): void {
    if (this.#state === "closed") return;
    this.#state = "connecting";
    this.#db = 0;
    this.#framer.reset();
    const gen = ++this.#generation;
    // Covers the TCP connect, AUTH and the PING: a server that accepts but never answers is as down as a dead one.
    // (Stall tolerant: a connect that completed while this process did not run is read, not timed out.)
    this.#connectTimer = new StallTolerantTimeout(this.#opts.connectTimeoutMs, () => {
      if (gen === this.#generation) this.fatal(`connect timeout after ${this.#opts.connectTimeoutMs} ms`);
    });
    if (this.#opts.auth) this.#write(encodeCommand(["AUTH", this.#opts.auth]), new InternalReply(this, "AUTH"));
    // A PING after AUTH tells us when the server accepts commands: a wrong password fails the connect.
    const ready = new PromiseReply((raw) => {
      if (gen !== this.#generation) return;
      // A replica cut off from its master, or a server still loading, is up but cannot serve reads yet.
      const stale = isErrorReply(raw) && isStaleError(raw);
      if (isErrorReply(raw) && !stale) {
        const msg = `backend ${this.addr} refused PING: ${errorText(raw)}`;
        return this.fatal(msg);
      }
      this.#connectTimer?.clear();
      this.#state = "connected";
      this.#attempt = 0;
      if (this.#lastError !== "not connected yet") log.info(`backend ${this.addr} is connected`);
      this.#lastError = "";
      this.#startHealthChecks();
      this.stale = stale;
      this.#settleWaiters(null);
    }, () => {});
    this.#write(encodeCommand(["PING"]), ready);
    dialRedis(this.#host, this.#port).then((conn) => {
      if (gen !== this.#generation) return void conn.close();
      // A TLS connection has no keepalive switch in Deno: backend_ping_period is what notices a dead peer there.
      if (this.#opts.keepAlive && "setKeepAlive" in conn) (conn as Deno.TcpConn).setKeepAlive(true);
      const sock = new NetSocket(conn, UNUSED_SOCKET_SLAB, true);
      this.#socket = sock;
      sock.start({
        onData: (chunk) => {
          if (sock !== this.#socket) return;
          if (this.#healthTimer !== undefined) this.#lastRead = Date.now();
          try {
            this.#feed(chunk);
          } catch (e) {
            this.fatal(`bad reply from backend: ${(e as Error).message}`);
          }
        },
        onEnd: () => {
          if (sock === this.#socket) this.fatal("connection closed by the server");
        },
        onClose: () => {
          if (sock === this.#socket) this.fatal("connection closed");
        },
        readTarget: () => sock === this.#socket ? this.#readTarget() : null,
      });
      this.#flush();
    }, (e: Error) => {
      if (gen === this.#generation) this.fatal(connectErrorText(e));
    });
  }

  /** Where the next read goes: the rest of a big reply being gathered, or the free tail of the slab. */
  #readTarget(): Uint8Array {
    const big = this.#framer.readTarget();
    if (big !== null) return big;
    if (this.#slab === null) {
      this.#slab = takeReplyBuffer(READ_SLAB);
      this.#slabUsed = 0;
    }
    return this.#slab.bytes.subarray(this.#slabUsed);
  }

  #feed(chunk: Uint8Array): void {
    const slab = this.#slab;
    if (slab === null || chunk.buffer !== slab.bytes.buffer) return this.#framer.feed(chunk); // (read in place)
    this.#slabUsed += chunk.length;
    this.#framer.feed(chunk, slab);
    // Retired once no further read fits (after the replies in it were delivered: their views count by then); a slab
    // dropped meanwhile (the connection was lost) is not reused, see fatal().
    if (slab === this.#slab && slab.bytes.length - this.#slabUsed < MIN_TAIL) {
      this.#slab = null;
      retireReplyBuffer(slab);
    }
  }

  /** Writes one request; `raw` must be a complete RESP command. */
  send(db: number, raw: Uint8Array, reply: PendingReply): void {
    if (this.#state !== "connected" && this.#state !== "connecting") {
      reply.onError(`ERR backend ${this.addr} is unavailable (${this.#lastError}), retrying in the background`);
      return;
    }
    if (this.#pending.length >= this.#opts.maxPipeline) {
      reply.onError(`ERR backend ${this.addr} has too many requests in flight (backend_max_pipeline)`);
      return;
    }
    if (db !== this.#db) {
      this.#db = db;
      // With one database per slot nearly every request is preceded by a SELECT: one shared reply object for all.
      this.#write(selectCommand(db), this.#selectReply);
    }
    this.#write(raw, reply);
  }

  /** Sends a command of the proxy's own and resolves with its raw reply. */
  call(db: number, args: (string | Uint8Array)[]): Promise<Uint8Array> {
    return this.callEncoded(db, encodeCommand(args));
  }

  /** Like {@link call}, for a command already encoded as RESP. */
  callEncoded(db: number, raw: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => this.send(db, raw, new PromiseReply(resolve, reject)));
  }

  #write(raw: Uint8Array, reply: PendingReply): void {
    if (this.#pending.length === 0 && this.#healthTimer !== undefined) this.#busySince = Date.now();
    this.#pending.push(reply);
    this.#out.push(raw);
    this.#outLen += raw.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      atTurnEnd(this.#flush);
    }
  }

  #onReply(raw: Uint8Array): void {
    const p = this.#pending.shift();
    if (p === undefined) {
      this.fatal("backend sent a reply nobody asked for");
      return;
    }
    if (raw[0] === 45 && !this.stale && isStaleError(raw)) {
      this.stale = true;
      log.warn(`backend ${this.addr} cannot serve reads (${errorText(raw)}); replica reads skip it`);
    }
    p.onReply(raw);
  }

  /** Runs the keepalive PING and the reply-timeout check, when configured, while the connection is up. */
  #startHealthChecks(): void {
    const ping = this.#opts.pingPeriodMs ?? 0;
    const recv = this.#opts.recvTimeoutMs ?? 0;
    if (ping <= 0 && recv <= 0) return;
    const now = Date.now();
    this.#lastRead =
      this.#lastWrite =
      this.#busySince =
      this.#lastCheck =
        now;
    this.#longestCheckGap = 0;
    this.#quietSeenSince = -1;
    const every = Math.max(10, Math.min(1000, ping > 0 ? ping : Infinity, recv > 0 ? recv / 4 : Infinity));
    this.#healthTimer = setInterval(() => this.#checkHealth(ping, recv), every);
    Deno.unrefTimer(this.#healthTimer as unknown as number);
  }

  #checkHealth(ping: number, recv: number): void {
    const now = Date.now();
    const gap = now - this.#lastCheck;
    this.#lastCheck = now;
    if (this.stale && !this.#probing && ping > 0) {
      this.#probing = true;
      this.#write(INFO_PROBE, new StaleProbe((info) => this.#probed(info)));
    }
    if (this.#pending.length > 0) {
      const since = Math.max(this.#lastRead, this.#busySince);
      const quiet = now - since;
      // (A read or a first request since the previous check begins a new quiet spell.)
      this.#longestCheckGap = since > now - gap ? gap : Math.max(gap, this.#longestCheckGap);
      if (recv > 0 && quiet > recv) {
        // Dropped only when the next check finds it still quiet. A check that comes late, because the process did
        // not run for longer than the timeout (stopped, starved, its machine paused or short of memory), runs before
        // the reads of the replies that arrived meanwhile: on its own it took a healthy connection for a hung one
        // and failed every request on it.
        if (this.#quietSeenSince === since) return this.fatal(this.#recvTimeoutReason(quiet, now));
        this.#quietSeenSince = since;
      }
    } else if (ping > 0 && now - Math.max(this.#lastRead, this.#lastWrite) >= ping) {
      this.#write(PING, new InternalReply(this, "keepalive PING"));
    }
  }

  #recvTimeoutReason(quiet: number, now: number): string {
    const sock = this.#socket;
    return recvTimeoutReason({
      quietMs: quiet,
      waiting: this.#pending.length,
      readPending: sock?.readPending ?? false,
      unsentBytes: this.#outLen + (sock?.pendingBytes ?? 0),
      sinceWriteMs: now - this.#lastWrite,
      longestCheckGapMs: this.#longestCheckGap,
    });
  }

  #probed(info: string | null): void {
    this.#probing = false;
    if (info === null || !servesReads(info)) return;
    this.stale = false;
    log.info(`backend ${this.addr} serves reads again`);
  }

  /** Drops the connection: every request in flight fails, and a reconnect is scheduled. */
  fatal(reason: string): void {
    // Only a connection that is up or being opened can be lost; a second report of the same loss is ignored.
    if (this.#state !== "connecting" && this.#state !== "connected") return;
    const sock = this.#socket;
    this.#socket = null;
    this.#generation++;
    this.#connectTimer?.clear();
    clearInterval(this.#healthTimer);
    this.#healthTimer = undefined;
    this.#probing = false;
    this.stale = false;
    this.#out = [];
    this.#outLen = 0;
    // The slab is dropped, not retired: a read into its tail may still be under way. (Views of it stay valid.)
    this.#slab = null;
    sock?.destroy();
    const wasUp = this.#state === "connected";
    this.#lastError = reason;
    this.#state = "down";
    if (wasUp && reason !== CLOSING) log.warn(`backend ${this.addr} lost: ${reason}`);
    const msg = `ERR backend ${this.addr} connection lost (${reason})`;
    for (let p = this.#pending.shift(); p !== undefined; p = this.#pending.shift()) p.onError(msg);
    this.#settleWaiters(new Error(`backend ${this.addr}: ${reason}`));
    this.#framer.reset();
    const delay = this.#attempt === 0
      ? 0
      : Math.min(this.#opts.maxBackoffMs, this.#opts.minBackoffMs * 2 ** (this.#attempt - 1));
    this.#attempt++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#open();
    }, delay);
  }

  /** Closes for good; requests in flight fail. */
  close(): void {
    this.fatal(CLOSING);
    this.#state = "closed";
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#settleWaiters(new Error(`backend ${this.addr} is closed`));
  }
}

/** The error code of a failed connect (ECONNREFUSED and the like), as node:net reported it, or the message. */
function connectErrorText(e: Error): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "ECONNREFUSED";
  if (e instanceof Deno.errors.TimedOut) return "ETIMEDOUT";
  if (e instanceof Deno.errors.ConnectionReset) return "ECONNRESET";
  if (e instanceof Deno.errors.AddrNotAvailable) return "EADDRNOTAVAIL";
  return e.message;
}
