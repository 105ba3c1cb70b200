/**
 * One client connection: parses its requests, routes each by slot, and writes the replies back in request order,
 * gathering every reply ready in one event-loop turn into one write.
 * @module
 */
import { logger } from "../util/log.ts";
import { Fifo } from "../util/fifo.ts";
import { atTurnEnd } from "../util/turn_end.ts";
import type { ClientSocket } from "./net/client_socket.ts";
import type { PooledBuffer } from "../util/buffer_pool.ts";
import {
  checkArity,
  type CommandInfo,
  formatUnknownCommand,
  formatUnknownSubcommand,
  isUnknownSubcommand,
  refusalText,
} from "./commands/mod.ts";
import type { ProxyCore, SessionState } from "./core/core.ts";
import { runLocal } from "./local/dispatch.ts";
import { SESSION_COMMANDS, SessionModes } from "./session_modes.ts";
import { Request, type RequestOwner } from "./forward/request.ts";
import { errorReply, OK } from "../redis/encode.ts";
import { ProtocolError, type RequestLimits, RequestParser, type RequestSink } from "./resp/request_parser.ts";
import { allowedBeforeAuth, NOAUTH, parserLimits, sessionLimits } from "./session_auth.ts";
import { ReplyWriter, writeMadeReplies } from "./session_replies.ts";
import { MAX_STASHED_BYTES, SessionGate } from "./session_gate.ts";
import { SubscriberOutput } from "./session_pubsub.ts";
import { KeyRouter } from "./key_route.ts";
import type { OperatorHooks } from "./core/ops.ts";
import type { ClientDescription } from "./core/client_info.ts";
import { logSlowRequest, pausedOrFed } from "./local/monitor.ts";
import { describeSession } from "./local/client_list.ts";
import { isClientSetinfo } from "./local/connection.ts";
import { nextReplyMode, QuietRequest, REPLY_ON, REPLY_SKIP_NEXT, requestWhileQuiet } from "./local/client_reply.ts";

const log = logger("session");

/** Replies written but not yet taken by the kernel, beyond which a session stops reading requests. */
const MAX_UNSENT_BYTES = 16 << 20;
const EMPTY = new Uint8Array(0);

/** A client session. */
export class Session implements RequestSink, RequestOwner, SessionState {
  readonly id: number;
  name: Uint8Array | null = null;
  quitting = false;
  protover: 2 | 3 = 2;
  readonly remote: string;
  readonly createdAt: number = Date.now();
  /** The parser's big requests may use reused buffers: #dispatch counts their users (util/buffer_pool.ts). */
  get countsBufferUsers(): boolean {
    return true;
  }
  #core: ProxyCore;
  #socket: ClientSocket;
  #parser: RequestParser;
  /** The session's request limits once authenticated; before, the parser has Redis's pre-auth ones. */
  #limits: RequestLimits;
  #authenticated: boolean;
  #queue = new Fifo<Request>(4); // grows (doubling) with the session's pipeline
  #flushScheduled = false;
  #replies = new ReplyWriter();
  #paused = false;
  #closed = false;
  #route: KeyRouter;
  /** performance.now() of the read being parsed: the start time of the requests in it. */
  #readAt = performance.now();
  /**
   * True while a request holds the session (a blocking command, a WATCH or EXEC on the dedicated connection), or the
   * session is in MULTI or subscribed: the one field the hot path tests.
   */
  #special = false;
  /** The request holding the session, and the requests and chunks read meanwhile (session_gate.ts). */
  #gate = new SessionGate();
  /** Dispatch a request that waited behind the gate, or feed a stashed chunk; true while the session may go on. */
  // (Made when the gate opens rather than per session: an idle session should cost as little as possible.)
  #dispatchDeferred(argv: Uint8Array[], raw: Uint8Array | null): boolean {
    this.#dispatch(argv, raw);
    return this.#gate.req === null && !this.#closed && !this.quitting;
  }
  #feedStashed(chunk: Uint8Array): boolean {
    this.onData(chunk);
    return !this.#gate.stashing && !this.#paused && !this.#closed;
  }
  /** Pub/sub messages and their limits (session_pubsub.ts), made by the first message. */
  #pubsubOutput: SubscriberOutput | null = null;
  /** CLIENT REPLY: REPLY_ON, REPLY_OFF, or REPLY_SKIP_NEXT (the next request's reply is dropped). */
  #replyMode = REPLY_ON;
  /** Transactions, pub/sub, blocking commands, RESP3: created by the first command that needs them. */
  #modes: SessionModes | null = null;
  /** The last command's name, for CLIENT LIST. */
  #lastCommand = "NULL";

  constructor(core: ProxyCore, socket: ClientSocket, id: number) {
    this.#core = core;
    this.#socket = socket;
    this.#route = new KeyRouter(core, this);
    this.id = id;
    this.remote = socket.remote;
    const cfg = core.config;
    this.#authenticated = cfg.session_auth === "";
    this.#limits = sessionLimits(cfg);
    this.#parser = new RequestParser(parserLimits(this.#limits, this.#authenticated), this);
    // The session takes its socket's events itself: an object of five closures made each idle session 0.4 KB bigger.
    socket.start(this);
  }

  /** Socket event: where the next read should go (a big bulk's own buffer), or null for the socket's slab. */
  readTarget(): Uint8Array | null {
    return this.#gate.stashing || this.#gate.hasStash || this.quitting || this.#closed
      ? null
      : this.#parser.readTarget();
  }

  /** Runs a blocking command on the session's own connection (KeyRouter). */
  runBlocking(slot: number, raw: Uint8Array, keys: Uint8Array[], req: Request): void {
    this.#sessionModes().blocking(slot, raw, keys, req);
  }

  /** Socket event: the connection is gone. */
  onClose(): void {
    this.close();
  }

  /** Socket event: everything written was handed to the kernel. */
  onDrain(): void {
    this.#replies.releaseWritten();
    this.#maybeResume();
  }

  /** True while the session waits in a blocking command or WAIT (INFO's blocked_clients). */
  get blocked(): boolean {
    return this.#modes !== null && this.#modes.blocked;
  }

  /** True while the session has subscriptions (INFO's pubsub_clients). */
  get subscribed(): boolean {
    return this.#modes !== null && this.#modes.subscribed;
  }

  /** Whether the session may run commands (no session_auth, or AUTH given); it also chooses the request limits. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  set authenticated(yes: boolean) {
    if (yes === this.#authenticated) return;
    this.#authenticated = yes;
    this.#parser.setLimits(parserLimits(this.#limits, yes));
  }

  /**
   * Closes the session when nothing was read or written for `idleMs` (session_recv_timeout), or when a reply has
   * waited more than `sendMs` for the client to read it (session_send_timeout); 0 disables either. The proxy calls
   * this from one periodic sweep instead of arming timers per read and write.
   */
  checkIdle(now: number, idleMs: number, sendMs = 0): void {
    // As Redis's `timeout`, the idle limit spares a client waiting on the proxy: blocked, or subscribed.
    const waiting = this.#gate.req !== null || (this.#modes !== null && this.#modes.subscribed);
    if (idleMs > 0 && !waiting && now - this.#socket.lastActive >= idleMs) {
      return this.#abort("ERR idle timeout (session_recv_timeout), closing the connection");
    }
    const since = this.#socket.writeWaitingSince;
    if (sendMs > 0 && since > 0 && now - since >= sendMs) {
      log.debug(`session ${this.id} from ${this.remote} does not read its replies: closed (session_send_timeout)`);
      this.close();
    }
  }

  /**
   * The client sent EOF: like QUIT, the replies to what it sent still go out before the connection closes. A session
   * that is blocked, subscribed or in a transaction closes at once, as Redis does, so its backend connection is freed.
   */
  onEnd(): void {
    if (this.#closed) return;
    if (this.#special) return this.close();
    this.quitting = true;
    if (this.#queue.length === 0) this.#finishQuit();
  }

  /** Socket event: bytes from the client. */
  onData(chunk: Uint8Array): void {
    if (this.quitting || this.#closed) return;
    if (this.#gate.stashing) return this.#stashChunk(chunk);
    // One clock read per read, not per request: every request in a read arrived at the same moment, and
    // performance.now() is a runtime call that showed up in profiles of pipelined traffic.
    this.#readAt = performance.now();
    const router = this.#core.router;
    if (this.#readAt > router.servingUntil) router.leaseExpired = true; // the dashboard lease (proxy/lease.ts)
    try {
      this.#parser.feed(chunk);
      // Views of this read kept for later (backpressure): its slab must not be reused (util/buffer_pool.ts).
      if (this.#parser.keptBytes > 0) this.#pinSlab(chunk);
    } catch (e) {
      this.#core.stats.fail();
      if (e instanceof ProtocolError) return this.#abort(`ERR ${e.message}`);
      // A bug of ours: say so in the log and to this client, and close only this session (the socket's read loop
      // would otherwise drop it silently).
      log.error(`session ${this.id} from ${this.remote}: internal error: ${(e as Error)?.stack ?? e}`);
      this.#abort("ERR internal error in the proxy, closing the connection (see the proxy's log)");
    }
  }

  /** Called by the parser for each request. */
  onRequest(argv: Uint8Array[], raw: Uint8Array | null): void {
    if (this.quitting || this.#closed) return;
    if (this.#special && this.#gate.req !== null) return this.#defer(argv, raw);
    this.#dispatch(argv, raw);
  }

  #dispatch(argv: Uint8Array[], raw: Uint8Array | null): void {
    const core = this.#core;
    if (
      !this.#paused &&
      (this.#queue.length >= core.config.session_max_pipeline || this.#unsentBytes() > MAX_UNSENT_BYTES)
    ) {
      // Backpressure instead of Codis's disconnect: stop reading until replies drain, so any depth streams. Replies
      // the client does not read count too, or one client's unread replies could fill the proxy's memory; and so do
      // the replies of requests still in flight, or a pipeline read before any reply came back would all be sent.
      this.#paused = true;
      this.#socket.pause();
      this.#parser.hold();
    }
    const argc = argv.length;
    const info = core.commands.lookup(argv, argc);
    const req = this.#replyMode === REPLY_ON
      ? new Request(this, info ? info.name : "unknown", this.#readAt)
      : this.#replyModeRequest(info, argv);
    req.argv = argv;
    this.#queue.push(req);
    const slab = this.#pooledOf(raw ?? argv[0]);
    if (slab !== null) {
      // The request's bytes are views of a reused read slab: counted until its reply is written (session_replies.ts),
      // unless the session's modes may keep them (a transaction's queue...): then the slab is never reused.
      if (this.#special) slab.pin();
      else {
        slab.users++;
        req.slab = slab;
      }
    }
    if (info === undefined) return this.#reject(req, errorReply(formatUnknownCommand(argv, argc)));
    if (isUnknownSubcommand(info, argc)) {
      if (isClientSetinfo(info, argv)) return req.onReply(OK);
      return this.#reject(req, errorReply(formatUnknownSubcommand(argv, argc)));
    }
    if (!checkArity(info, argc)) {
      return this.#reject(req, errorReply(`ERR wrong number of arguments for '${info.name}' command`));
    }
    if (!this.#authenticated && !allowedBeforeAuth(info.name)) {
      return req.onReply(NOAUTH);
    }
    this.#run(info, argv, argc, raw, req);
  }

  /** Runs a request that passed the checks. */
  #run(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    this.#lastCommand = info.name;
    const ops = this.#core.ops;
    // The one check the operator features cost a request while no monitor is attached and no pause is in force.
    if (ops.active !== 0 && pausedOrFed(ops, info, argv, this.remote, this.#modes)) {
      return this.#holdPaused(ops, info, argv, argc, raw, req);
    }
    if (this.#special) return this.#modes!.request(info, argv, argc, raw, req);
    switch (info.policy) {
      case "forward":
        return this.#route.forward(info, argv, argc, raw, req);
      case "split":
        return this.#route.split(info, argv, argc, raw, req);
      case "local":
        return this.#local(info, argv, argc, raw, req);
      default:
        if (info.closeConnection) return this.close(); // HTTP sent to a Redis port: Redis closes silently too
        return req.onReply(errorReply(refusalText(info, argv, argc)));
    }
  }

  /** Holds the session for a command CLIENT PAUSE holds (its later commands wait behind it) until the pause ends. */
  #holdPaused(
    ops: OperatorHooks,
    info: CommandInfo,
    argv: Uint8Array[],
    argc: number,
    raw: Uint8Array | null,
    req: Request,
  ): void {
    this.#holdGate(req, () =>
      ops.pause.wait(() => {
        if (this.#closed) return;
        this.#gate.release();
        this.#modeChanged();
        this.#run(info, argv, argc, raw, req);
        if (this.#gate.req === null) this.#openGate();
      }));
  }

  /** The session as CLIENT LIST shows it. */
  describe(): ClientDescription {
    const m = this.#modes;
    return describeSession({
      id: this.id,
      addr: this.remote,
      laddr: this.#core.config.proxy_addr,
      fd: this.#socket.fd ?? -1,
      name: this.name,
      createdAt: this.createdAt,
      lastActive: this.#socket.lastActive,
      modes: m === null ? null : m.facts(),
      blocked: this.#gate.req !== null,
      qbuf: this.#parser.buffered,
      omem: this.#socket.pendingBytes,
      cmd: this.#lastCommand,
      resp: this.protover,
    });
  }

  /** CLIENT KILL: the session itself ends once this reply is written, as Redis's close-after-reply. */
  kill(self: boolean): void {
    if (self) this.quitting = true;
    else this.close();
  }

  /** See {@link SessionState.setClientReply}. */
  setClientReply(mode: "on" | "off" | "skip"): void {
    this.#replyMode = nextReplyMode(this.#replyMode, mode);
  }

  /** A request made while CLIENT REPLY is OFF or SKIP: its reply is dropped, unless it turns replies back on. */
  #replyModeRequest(info: CommandInfo | undefined, argv: Uint8Array[]): Request {
    const req = requestWhileQuiet(this, info, argv, this.#readAt);
    if (this.#replyMode === REPLY_SKIP_NEXT && req instanceof QuietRequest) this.#replyMode = REPLY_ON;
    return req;
  }

  /** An error answered before the policy runs; inside MULTI it also dooms the transaction, as in Redis. */
  #reject(req: Request, err: Uint8Array): void {
    if (this.#special && this.#modes !== null && this.#modes.failInMulti(req, err)) return;
    req.onReply(err);
  }

  /** Holds a request read while the gate is held; stops parsing (not reading) when too many wait. */
  #defer(argv: Uint8Array[], raw: Uint8Array | null): void {
    this.#pinSlab(raw ?? argv[0]);
    if (this.#gate.defer(argv, raw) >= this.#core.config.session_max_pipeline && !this.#paused) {
      this.#paused = true;
      this.#gate.stashing = true;
      this.#parser.hold();
    }
  }

  #stashChunk(chunk: Uint8Array): void {
    this.#pinSlab(chunk);
    if (!this.#gate.stashChunk(chunk)) {
      this.#abort(`ERR more than ${MAX_STASHED_BYTES >> 20} MB of requests queued behind a blocking command`);
    }
  }

  /** Views of `view`'s read slab are kept where nothing counts them: the slab is never reused. */
  #pinSlab(view: Uint8Array): void {
    const slab = this.#pooledOf(view);
    if (slab !== null) slab.pin();
  }

  /** The reused buffer `view` lies in: the read slab being filled, or a big request's own buffer; null: none. */
  #pooledOf(view: Uint8Array): PooledBuffer | null {
    return this.#socket.slabOf?.(view) ?? this.#parser.bufferOf(view);
  }

  /** Commands answered by the proxy: the session's own (transactions, pub/sub, HELLO, RESET), then runLocal. */
  #local(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    if (SESSION_COMMANDS.has(info.name)) return this.#sessionModes().command(info, argv, argc, raw, req);
    runLocal(this.#core, this, info, argv, req);
  }

  #sessionModes(): SessionModes {
    return this.#modes ??= new SessionModes({
      core: this.#core,
      state: this,
      gate: (req, start) => this.#holdGate(req, start),
      openGate: () => this.#openGate(),
      keysSlot: (info, argv, argc) => this.#route.keysSlot(info, argv, argc),
      forward: (info, argv, argc, raw, req) => this.#route.forward(info, argv, argc, raw, req),
      split: (info, argv, argc, raw, req) => this.#route.split(info, argv, argc, raw, req),
      local: (info, argv, argc, raw, req) => this.#local(info, argv, argc, raw, req),
      push: (raw) => this.#push(raw),
      modeChanged: () => this.#modeChanged(),
      close: () => this.close(),
    });
  }

  /** Writes a pub/sub message after the replies already queued; closes a subscriber over the output limits. */
  #push(raw: Uint8Array): void {
    if (this.#closed) return;
    const out = this.#pubsubOutput ??= new SubscriberOutput(this.#core.config, this.#core.stats, this);
    if (out.push(this, this.#queue, raw, this.#socket.pendingBytes)) this.close();
  }

  #modeChanged(): void {
    this.#special = this.#gate.req !== null || (this.#modes !== null && this.#modes.special);
  }

  /** Holds the session for `req`: `start` runs once every earlier request is answered; later ones wait. */
  #holdGate(req: Request, start: () => void): void {
    this.#gate.hold(req, start);
    this.#special = true;
    if (this.#queue.peek() === req) this.#gate.begin();
  }

  /** Ends the gate and dispatches the requests that waited, until one of them holds the session again. */
  #openGate(): void {
    const gate = this.#gate;
    gate.release();
    this.#modeChanged();
    if (!this.#closed && !this.quitting) gate.dispatchDeferred((argv, raw) => this.#dispatchDeferred(argv, raw));
    if (this.#closed) gate.clear();
    this.#maybeResume();
  }

  /** Called when a request's reply is set. */
  requestDone(_req: Request): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // After this turn's I/O, not in a microtask: a pipeline's replies often come from several backends' reads in
      // one turn, and waiting for all of them makes one write where a microtask made one per backend (measured at
      // -P16: about 5% less CPU per request and 5-10% more ops/s). All sessions share one setImmediate per turn.
      const due = Session.#due;
      if (due.length === 0) atTurnEnd(Session.#flushDue);
      due.push(this);
    }
  }

  /**
   * Sessions whose replies go out at this turn's end, with one turn-end callback for all of them (a callback per
   * session was a closure in every idle session). Sessions due while the list runs go to the next turn, as with
   * atTurnEnd itself.
   */
  static #due: Session[] = [];
  static #spareDue: Session[] = [];
  static #flushDue = (): void => {
    const list = Session.#due;
    Session.#due = Session.#spareDue;
    let failure: unknown = null;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i].#flushReplies();
      } catch (e) {
        failure ??= e; // the other sessions still get their replies
      }
    }
    list.length = 0;
    Session.#spareDue = list;
    if (failure !== null) throw failure;
  };

  #flushReplies(): void {
    this.#flushScheduled = false;
    if (this.#pubsubOutput !== null) this.#pubsubOutput.pushedBytes = 0;
    if (this.#closed) return;
    const q = this.#queue;
    const head = q.peek();
    if (head === undefined || head.reply === null) return;
    const failed = this.#replies.writeReady(
      q,
      this.#socket,
      this.#core.stats,
      this.#core.load,
      this.#core.ops.slowlog.thresholdUs,
      this,
    );
    const gate = this.#gate;
    if (gate.start !== null && q.peek() === gate.req) gate.begin();
    this.#maybeResume();
    if (this.quitting && q.length === 0) this.#finishQuit();
    // session_break_on_failure (Codis): a request the proxy could not serve ends the session, after its error reply.
    else if (failed && this.#core.config.session_break_on_failure) this.#finishQuit();
  }

  /** A request that took at least slowlog_log_slower_than (from ReplyWriter.writeReady): see logSlowRequest. */
  logSlow(argv: Uint8Array[], us: number): void {
    logSlowRequest(this.#core, this, argv, us);
  }

  #finishQuit(): void {
    this.#closed = true;
    this.#socket.end();
    this.#release();
  }

  /**
   * Reply bytes this session owes its client: written but not taken by the kernel, plus, for every request not
   * written yet (in flight, or answered in this turn), the session's usual reply size.
   */
  #unsentBytes(): number {
    return this.#socket.pendingBytes + this.#queue.length * this.#replies.replyBytes;
  }

  /** Reads again once a paused session's requests and unsent replies are down to half their limits. */
  #maybeResume(): void {
    if (
      this.#paused && this.#gate.req === null && this.#queue.length <= this.#core.config.session_max_pipeline >> 1 &&
      this.#unsentBytes() <= MAX_UNSENT_BYTES >> 1
    ) {
      this.#paused = false;
      this.#gate.stashing = false;
      this.#socket.resume();
      this.#parser.release();
      // Requests the parser kept back while holding go first (they may pause the session again), then what was read
      // meanwhile.
      if (this.#parser.buffered > 0) this.onData(EMPTY);
      if (this.#gate.hasStash && !this.#closed && !this.#paused && !this.#gate.stashing) {
        this.#gate.drainStash((chunk) => this.#feedStashed(chunk));
        if (this.#closed) this.#gate.clear();
      }
    }
  }

  /** Answers with one error, then closes this session only. */
  #abort(msg: string): void {
    if (this.#closed) return;
    log.debug(`session ${this.id} from ${this.remote} closed: ${msg}`);
    this.#closed = true;
    const sock = this.#socket;
    // As Redis does, replies already made to earlier requests (say NOAUTH) go out before the error.
    writeMadeReplies(this.#queue, sock);
    sock.end(errorReply(msg));
    this.#release();
  }

  /** Closes the session; replies still in flight are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#release();
  }

  /** Frees what only this closed session used (its dedicated connection, subscriptions); tells the proxy it is gone. */
  #release(): void {
    this.#modes?.close();
    this.#gate.clear();
    this.#core.sessionClosed(this);
  }
}
