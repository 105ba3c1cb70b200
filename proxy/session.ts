/**
 * One client connection: parses its requests, routes each by slot, and writes the replies back in request order,
 * gathering every reply ready in one event-loop turn into one corked write.
 * @module
 */
import type net from "node:net";
import { logger } from "../util/log.ts";
import { BackendConn } from "./backend/conn.ts";
import { Fifo } from "../util/fifo.ts";
import {
  callRefusal,
  checkArity,
  type CommandInfo,
  formatRefused,
  formatUnknownCommand,
  formatUnknownSubcommand,
  isUnknownSubcommand,
  REASONS,
} from "./commands/mod.ts";
import type { ProxyCore } from "./core.ts";
import { slotOf } from "./hash.ts";
import { type BlockingHost, runBlocking } from "./blocking/blocking.ts";
import { runLocal } from "./local/mod.ts";
import { helloCommand } from "./local/connection.ts";
import { OwnConns, routeResp3 } from "./resp3/own_conns.ts";
import { publish, pubsubCommand } from "./pubsub/commands.ts";
import { PubSub } from "./pubsub/pubsub.ts";
import { Transaction } from "./txn/transaction.ts";
import { Request, type RequestOwner } from "./request.ts";
import { encodeCommand, encodeValue, errorReply } from "./resp/encode.ts";
import { ProtocolError, RequestParser, type RequestSink } from "./resp/request_parser.ts";
import { copyKeys, type KeyRef } from "./slot_forward.ts";
import { splitBySlot, type SplitKind } from "./split.ts";

const log = logger("session");

const NOAUTH = errorReply("NOAUTH Authentication required.");
const CROSSSLOT = errorReply("CROSSSLOT Keys in request don't hash to the same slot");
const OK_REPLY = new TextEncoder().encode("+OK\r\n");
const RESET_REPLY = new TextEncoder().encode("+RESET\r\n");
const SETINFO = new TextEncoder().encode("SETINFO");

/** CLIENT SETINFO (Redis 7.2, sent by clients on connect) is unknown to a 7.0 command table: accepted and ignored. */
function isClientSetinfo(info: CommandInfo, argv: Uint8Array[]): boolean {
  if (info.name !== "client" || argv[1].length !== SETINFO.length) return false;
  for (let i = 0; i < SETINFO.length; i++) if ((argv[1][i] & 0xdf) !== SETINFO[i]) return false;
  return true;
}

/** Transaction commands handled as such even inside MULTI. */
const TXN_CONTROL = new Set(["multi", "exec", "discard", "watch", "quit", "reset"]);

const PUBSUB_KIND: Record<string, "channel" | "pattern" | "shard"> = {
  subscribe: "channel",
  unsubscribe: "channel",
  psubscribe: "pattern",
  punsubscribe: "pattern",
  ssubscribe: "shard",
  sunsubscribe: "shard",
};

function errText(e: Error): string {
  return e.message.startsWith("ERR") ? e.message : `ERR ${e.message}`;
}

/** Commands Redis accepts from a subscribed RESP2 client. */
const SUBSCRIBED_OK = new Set([
  "subscribe",
  "ssubscribe",
  "psubscribe",
  "unsubscribe",
  "sunsubscribe",
  "punsubscribe",
  "ping",
  "quit",
  "reset",
]);

const SPLIT_KIND: Record<string, SplitKind> = {
  mget: "mget",
  mset: "mset",
  del: "sum",
  unlink: "sum",
  exists: "sum",
  touch: "sum",
};

/** Per-session state that local commands read and change. */
export interface SessionState {
  readonly id: number;
  name: Uint8Array | null;
  authenticated: boolean;
  /** Set by QUIT: no more requests are read, and the socket closes once replies are flushed. */
  quitting: boolean;
  readonly remote: string;
  readonly createdAt: number;
  /** The protocol the client chose with HELLO: 2 (default) or 3. */
  protover: 2 | 3;
}

/** A client session. */
export class Session implements RequestSink, RequestOwner, SessionState {
  readonly id: number;
  name: Uint8Array | null = null;
  authenticated: boolean;
  quitting = false;
  protover: 2 | 3 = 2;
  readonly remote: string;
  readonly createdAt = Date.now();
  #core: ProxyCore;
  #socket: net.Socket;
  #parser: RequestParser;
  #queue = new Fifo<Request>(16);
  #flushScheduled = false;
  #paused = false;
  #closed = false;
  #keyPos = new Int32Array(256);
  /** Where the current request's keys are, for the migration path; reuses #keyPos. */
  #keyRef: KeyRef = { argv: [], pos: this.#keyPos, n: 0 };
  #slots = new Int32Array(256);
  #flush = () => this.#flushReplies();
  /**
   * True while a request holds the session (a blocking command, a WATCH or EXEC on the dedicated connection), or the
   * session is in MULTI or subscribed: the one field the hot path tests.
   */
  #special = false;
  /** The request holding the session, and what to run once every earlier request is answered. */
  #gateReq: Request | null = null;
  #gateStart: (() => void) | null = null;
  /** Requests read while the gate is held, dispatched in order when it opens. */
  #deferred: [Uint8Array[], Uint8Array | null][] = [];
  /** A backend connection of this session alone (blocking commands, WATCH). */
  #dedicated: BackendConn | null = null;
  #txn: Transaction | null = null;
  #pubsub: PubSub | null = null;
  #blockingHost: BlockingHost | null = null;
  /** The backend connections of a RESP3 session (HELLO 3); null for RESP2. */
  #own: OwnConns | null = null;

  constructor(core: ProxyCore, socket: net.Socket, id: number) {
    this.#core = core;
    this.#socket = socket;
    this.id = id;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const cfg = core.config;
    this.authenticated = cfg.session_auth === "";
    this.#parser = new RequestParser({
      maxBulkLen: cfg.session_max_bulk_len,
      maxArgs: cfg.session_max_args,
      maxInlineLen: 64 * 1024,
    }, this);
    socket.setNoDelay(true);
    if (cfg.session_recv_timeout > 0) socket.setTimeout(cfg.session_recv_timeout);
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("timeout", () => this.#abort("ERR idle timeout (session_recv_timeout), closing the connection"));
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  #onData(chunk: Uint8Array): void {
    if (this.quitting || this.#closed) return;
    try {
      this.#parser.feed(chunk);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#core.stats.fail();
      this.#abort(`ERR ${e.message}`);
    }
  }

  /** Called by the parser for each request. */
  onRequest(argv: Uint8Array[], raw: Uint8Array | null): void {
    if (this.quitting || this.#closed) return;
    if (this.#special && this.#gateReq !== null) return this.#defer(argv, raw);
    this.#dispatch(argv, raw);
  }

  #dispatch(argv: Uint8Array[], raw: Uint8Array | null): void {
    const core = this.#core;
    if (this.#queue.length >= core.config.session_max_pipeline && !this.#paused) {
      // Backpressure instead of Codis's disconnect: stop reading until replies drain, so any depth streams.
      this.#paused = true;
      this.#socket.pause();
    }
    const argc = argv.length;
    const info = core.commands.lookup(argv, argc);
    const req = new Request(this, info ? info.name : "unknown", performance.now());
    this.#queue.push(req);
    if (info === undefined) return this.#reject(req, errorReply(formatUnknownCommand(argv, argc)));
    if (isUnknownSubcommand(info, argc)) {
      if (isClientSetinfo(info, argv)) return req.onReply(OK_REPLY);
      return this.#reject(req, errorReply(formatUnknownSubcommand(argv, argc)));
    }
    if (!checkArity(info, argc)) {
      return this.#reject(req, errorReply(`ERR wrong number of arguments for '${info.name}' command`));
    }
    if (!this.authenticated && info.name !== "auth" && info.name !== "quit" && info.name !== "hello") {
      return req.onReply(NOAUTH);
    }
    if (this.#special) return this.#modal(info, argv, argc, raw, req);
    switch (info.policy) {
      case "forward":
        return this.#forward(info, argv, argc, raw, req);
      case "split":
        return this.#split(info, argv, argc, raw, req);
      case "local":
        return this.#local(info, argv, argc, raw, req);
      default:
        if (info.closeConnection) return this.close(); // HTTP sent to a Redis port: Redis closes silently too
        return req.onReply(errorReply(formatRefused(info)));
    }
  }

  /** The common slot of all keys, -1 when there are none, -2 when they differ, -3 when they cannot be found. */
  #keysSlot(info: CommandInfo, argv: Uint8Array[], argc: number): number {
    const pos = this.#keyPositionsFor(info, argv, argc);
    const ref = this.#keyRef;
    ref.argv = argv;
    ref.n = pos;
    if (pos <= 0) return pos === 0 ? -1 : -3;
    const kp = this.#keyPos;
    const slot = slotOf(argv[kp[0]]);
    for (let i = 1; i < pos; i++) if (slotOf(argv[kp[i]]) !== slot) return -2;
    return slot;
  }

  #keyPositionsFor(info: CommandInfo, argv: Uint8Array[], argc: number): number {
    if (argc > this.#keyPos.length) this.#keyRef.pos = this.#keyPos = new Int32Array(argc);
    return this.#core.commands.keyPositions(info, argv, argc, this.#keyPos);
  }

  #forward(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    const slot = this.#keysSlot(info, argv, argc);
    if (slot < 0) {
      if (slot === -2) return req.onReply(CROSSSLOT);
      // Malformed key arguments (a bad numkeys...): Redis itself rejects them without running anything.
      if (slot === -3) return this.#core.send(0, raw ?? encodeCommand(argv), req);
      return req.onReply(errorReply(formatRefused(info, info.noKeysReason)));
    }
    const refusal = callRefusal(info, argv, argc);
    if (refusal !== undefined) {
      if (refusal === REASONS.blocking) return this.#blocking(slot, raw ?? encodeCommand(argv), req);
      return req.onReply(errorReply(formatRefused(info, refusal)));
    }
    this.#core.send(slot, raw ?? encodeCommand(argv), req, this.#keyRef);
  }

  #split(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    const n = this.#keyPositionsFor(info, argv, argc);
    if (n <= 0) return req.onReply(errorReply(`ERR wrong number of arguments for '${info.name}' command`));
    if (n > this.#slots.length) this.#slots = new Int32Array(n);
    const kp = this.#keyPos;
    const slots = this.#slots;
    let same = true;
    for (let i = 0; i < n; i++) {
      slots[i] = slotOf(argv[kp[i]]);
      if (slots[i] !== slots[0]) same = false;
    }
    if (same) {
      this.#keyRef.argv = argv;
      this.#keyRef.n = n;
      return this.#core.send(slots[0], raw ?? encodeCommand(argv), req, this.#keyRef);
    }
    const kind = SPLIT_KIND[info.name];
    const step = kind === "mset" ? 2 : 1;
    splitBySlot(
      kind,
      argv[0],
      argv,
      slots,
      n,
      step,
      req,
      (slot, sub, reply, keys) => this.#core.send(slot, sub, reply, keys),
    );
  }

  /** An error answered before the policy runs; inside MULTI it also dooms the transaction, as in Redis. */
  #reject(req: Request, err: Uint8Array): void {
    if (this.#special && this.#txn !== null && this.#txn.inMulti) return this.#txn.fail(req, err);
    req.onReply(err);
  }

  /** Holds a request read while the gate is held; stops reading when too many wait. */
  #defer(argv: Uint8Array[], raw: Uint8Array | null): void {
    this.#deferred.push([argv, raw]);
    if (this.#deferred.length >= this.#core.config.session_max_pipeline && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** Requests of a session in MULTI or subscribed. */
  #modal(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    const name = info.name;
    const ps = this.#pubsub;
    const resp3 = this.#own !== null;
    if (ps !== null && ps.active && !resp3 && !SUBSCRIBED_OK.has(name)) {
      return req.onReply(errorReply(
        `ERR Can't execute '${
          name.replace("|", " ")
        }': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
      ));
    }
    if (ps !== null && ps.active && !resp3 && name === "ping") {
      return req.onReply(encodeValue(["pong", argc > 1 ? argv[1] : ""]));
    }
    const txn = this.#txn;
    if (txn === null || !txn.inMulti || TXN_CONTROL.has(name)) {
      if (resp3 && (info.policy === "forward" || info.policy === "split")) {
        return routeResp3(this.#core, this.#own!, info, argv, raw, req, (slot, bytes, keys) => {
          const host = this.#blockingHost ??= { core: this.#core, dedicated: (addr) => this.#dedicatedConn(addr) };
          this.#gate(req, () => runBlocking(host, slot, bytes, keys, req, () => this.#openGate()));
        });
      }
      switch (info.policy) {
        case "forward":
          return this.#forward(info, argv, argc, raw, req);
        case "split":
          return this.#split(info, argv, argc, raw, req);
        case "local":
          return this.#local(info, argv, argc, raw, req);
        default:
          if (info.closeConnection) return this.close();
          return req.onReply(errorReply(formatRefused(info)));
      }
    }
    // Inside MULTI: check and queue.
    const bytes = raw ?? encodeCommand(argv);
    if (info.policy === "refused") return txn.fail(req, errorReply(formatRefused(info)));
    if (info.policy === "local") {
      if (name === "ping" || name === "echo") return txn.queue(bytes, -1, req);
      return txn.fail(req, errorReply(`ERR command '${info.displayName}' cannot be used inside MULTI on codis-proxy`));
    }
    const slot = this.#keysSlot(info, argv, argc);
    if (slot === -2) return txn.fail(req, CROSSSLOT);
    if (slot === -1) return txn.fail(req, errorReply(formatRefused(info, info.noKeysReason)));
    if (slot >= 0) {
      const refusal = callRefusal(info, argv, argc);
      if (refusal !== undefined && refusal !== REASONS.blocking) {
        return txn.fail(req, errorReply(formatRefused(info, refusal)));
      }
    }
    txn.queue(bytes, slot, req); // slot -3: malformed keys, the backend answers the error at EXEC
  }

  /** Commands answered by the proxy: the session's own (transactions, pub/sub, RESET), then runLocal. */
  #local(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    switch (info.name) {
      case "multi":
        return this.#transaction().multi(req);
      case "exec":
        return this.#txn === null ? req.onReply(errorReply("ERR EXEC without MULTI")) : this.#txn.exec(req);
      case "discard":
        return this.#txn === null ? req.onReply(errorReply("ERR DISCARD without MULTI")) : this.#txn.discard(req);
      case "unwatch":
        return this.#txn === null ? req.onReply(OK_REPLY) : this.#txn.unwatch(req);
      case "watch": {
        const slot = this.#keysSlot(info, argv, argc);
        if (slot === -2) return req.onReply(CROSSSLOT);
        if (slot < 0) return req.onReply(errorReply("ERR wrong number of arguments for 'watch' command"));
        return this.#transaction().watch(slot, raw ?? encodeCommand(argv), req);
      }
      case "subscribe":
      case "psubscribe":
      case "ssubscribe":
        return this.#subscription(req, this.#pubs().subscribe(PUBSUB_KIND[info.name], argv.slice(1)));
      case "unsubscribe":
      case "punsubscribe":
      case "sunsubscribe":
        return this.#subscription(req, this.#pubs().unsubscribe(PUBSUB_KIND[info.name], argv.slice(1)));
      case "publish":
        return publish(this.#core, argv, raw, req);
      case "hello": {
        const before = this.protover;
        const reply = helloCommand(this.#core, this, argv);
        if (this.protover === before) return req.onReply(reply);
        // Earlier requests answer in the old protocol; the switch happens once they have.
        return this.#gate(req, () => {
          this.#switchProtocol();
          req.onReply(reply);
          this.#openGate();
        });
      }
      case "reset":
        this.#txn?.reset();
        this.#pubsub?.close();
        this.name = null;
        this.authenticated = this.#core.config.session_auth === "";
        if (this.protover === 3) {
          this.protover = 2;
          this.#switchProtocol();
        }
        this.#modeChanged();
        return req.onReply(RESET_REPLY);
    }
    if (info.name.startsWith("pubsub|")) {
      pubsubCommand(this.#core, argv).then((r) => req.onReply(r), (e: Error) => req.onError(errText(e)));
      return;
    }
    runLocal(this.#core, this, info, argv, req);
  }

  #subscription(req: Request, p: Promise<Uint8Array>): void {
    p.then((r) => req.onReply(r), (e: Error) => req.onError(errText(e)));
  }

  #transaction(): Transaction {
    return this.#txn ??= new Transaction({
      core: this.#core,
      dedicated: (addr) => this.#dedicatedConn(addr),
      gate: (req, start) => this.#gate(req, start),
      release: () => this.#openGate(),
      shared: (pool, slot) => this.#own !== null ? this.#own.conn(pool.addr) : pool.connFor(slot),
      modeChanged: () => this.#modeChanged(),
    });
  }

  #pubs(): PubSub {
    return this.#pubsub ??= new PubSub({
      core: this.#core,
      push: (raw) => this.#push(raw),
      resp3: () => this.#own !== null,
      modeChanged: () => this.#modeChanged(),
    });
  }

  /** Writes a pub/sub message after the replies already queued. */
  #push(raw: Uint8Array): void {
    if (this.#closed) return;
    const r = new Request(this, "pubsub-message", performance.now());
    this.#queue.push(r);
    if (this.#own !== null) {
      raw = raw.slice();
      raw[0] = 62; // RESP3: a push, not an array
    }
    r.onReply(raw);
  }

  #modeChanged(): void {
    this.#special = this.#gateReq !== null || this.#own !== null || (this.#txn !== null && this.#txn.inMulti) ||
      (this.#pubsub !== null && this.#pubsub.active);
  }

  /** Follows `protover`: RESP3 sessions use connections of their own (see proxy/resp3). */
  #switchProtocol(): void {
    this.#dedicated?.close();
    this.#dedicated = null;
    this.#own?.close();
    this.#own = this.protover === 3 ? new OwnConns(this.#core) : null;
    this.#modeChanged();
  }

  /** The session's dedicated backend connection to `addr`, replacing one to another server. */
  #dedicatedConn(addr: string): BackendConn {
    if (this.#own !== null) return this.#own.conn(addr);
    const d = this.#dedicated;
    if (d !== null && d.addr === addr && d.state !== "closed") return d;
    d?.close();
    const cfg = this.#core.config;
    const c = new BackendConn(addr, {
      auth: cfg.product_auth,
      maxPipeline: cfg.backend_max_pipeline,
      minBackoffMs: 50,
      maxBackoffMs: 1000,
      connectTimeoutMs: cfg.backend_connect_timeout,
    });
    c.connect().catch(() => {/* the request sent next fails with the reason */});
    this.#dedicated = c;
    return c;
  }

  /** Holds the session for `req`: `start` runs once every earlier request is answered; later ones wait. */
  #gate(req: Request, start: () => void): void {
    this.#gateReq = req;
    this.#gateStart = start;
    this.#special = true;
    if (this.#queue.peek() === req) this.#startGate();
  }

  #startGate(): void {
    const start = this.#gateStart!;
    this.#gateStart = null;
    start();
  }

  /** Ends the gate and dispatches the requests that waited, until one of them holds the session again. */
  #openGate(): void {
    this.#gateReq = null;
    this.#gateStart = null;
    this.#modeChanged();
    const d = this.#deferred;
    let i = 0;
    while (i < d.length && this.#gateReq === null && !this.#closed && !this.quitting) {
      const [argv, raw] = d[i++];
      this.#dispatch(argv, raw);
    }
    this.#deferred = i < d.length && !this.#closed ? d.slice(i) : [];
    if (this.#paused && this.#gateReq === null) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /** A blocking command whose keys are all in `slot`: see proxy/blocking; the session's later requests wait. */
  #blocking(slot: number, raw: Uint8Array, req: Request): void {
    const keys = copyKeys(this.#keyRef);
    const host = this.#blockingHost ??= { core: this.#core, dedicated: (addr) => this.#dedicatedConn(addr) };
    this.#gate(req, () => runBlocking(host, slot, raw, keys, req, () => this.#openGate()));
  }

  /** Called when a request's reply is set. */
  requestDone(_req: Request): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  #flushReplies(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    const q = this.#queue;
    const stats = this.#core.stats;
    const sock = this.#socket;
    let head = q.peek();
    if (head === undefined || head.reply === null) return;
    const now = performance.now();
    sock.cork();
    while (head !== undefined && head.reply !== null) {
      q.shift();
      const reply = head.reply;
      sock.write(reply);
      stats.record(head.name, Math.round((now - head.start) * 1000), head.failed, reply[0] === 45 && !head.failed);
      head = q.peek();
    }
    sock.uncork();
    if (this.#gateStart !== null && q.peek() === this.#gateReq) this.#startGate();
    if (this.#paused && q.length <= this.#core.config.session_max_pipeline >> 1 && this.#gateReq === null) {
      this.#paused = false;
      sock.resume();
    }
    if (this.quitting && q.length === 0) {
      this.#closed = true;
      sock.end(() => sock.destroy());
      this.#release();
      this.#core.sessionClosed(this);
    }
  }

  /** Answers with one error, then closes this session only. */
  #abort(msg: string): void {
    if (this.#closed) return;
    log.debug(`session ${this.id} from ${this.remote} closed: ${msg}`);
    this.#closed = true;
    const sock = this.#socket;
    sock.end(errorReply(msg), () => sock.destroy());
    this.#release();
    this.#core.sessionClosed(this);
  }

  /** Closes the session; replies still in flight are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#release();
    this.#core.sessionClosed(this);
  }

  /** Frees what only this session used: its dedicated connection (a blocked command ends) and subscriptions. */
  #release(): void {
    this.#dedicated?.close();
    this.#dedicated = null;
    this.#pubsub?.close();
    this.#pubsub = null;
    this.#own?.close();
    this.#own = null;
    this.#deferred = [];
  }
}
