/**
 * The parts of a client session that ordinary GET/SET traffic never touches: transactions, pub/sub, blocking
 * commands, RESP3 and the session's own backend connections. A {@link Session} creates this on the first command
 * that needs it, and routes requests here only while its one `special` flag is set (see `Session.#dispatch`).
 * @module
 */
import { BackendConn } from "../redis/conn.ts";
import { ackedCommand } from "./commands/flags.ts";
import { type BlockingHost, runBlocking } from "./blocking/blocking.ts";
import { waitCommand } from "./blocking/wait.ts";
import {
  callRefusal,
  type CommandInfo,
  KEYLESS_SLOT,
  REASONS,
  refusalText,
  TXN_PUBSUB_COMMANDS,
} from "./commands/mod.ts";
import type { ProxyCore, SessionState } from "./core/core.ts";
import { helloCommand } from "./local/connection.ts";
import { publish, pubsubCommand } from "./pubsub/commands.ts";
import { PubSub } from "./pubsub/pubsub.ts";
import type { Request } from "./forward/request.ts";
import { CROSSSLOT, encodeCommand, encodeValue, errorReply } from "../redis/encode.ts";
import { OwnConns, routeResp3 } from "./resp3/own_conns.ts";
import { Transaction } from "./txn/transaction.ts";
import { ownConnOptions } from "./core/own_conn.ts";
import { MonitorMode } from "./local/monitor.ts";
import type { SessionFacts } from "./local/client_list.ts";

const enc = new TextEncoder();
const OK_REPLY = enc.encode("+OK\r\n");
const RESET_REPLY = enc.encode("+RESET\r\n");

/** Local commands handled here rather than by runLocal. */
export const SESSION_COMMANDS: ReadonlySet<string> = new Set([
  ...TXN_PUBSUB_COMMANDS,
  "pubsub|channels",
  "pubsub|numsub",
  "pubsub|numpat",
  "pubsub|shardchannels",
  "pubsub|shardnumsub",
  "pubsub|help",
  "hello",
  "reset",
  "wait",
  "monitor",
]);

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

function errText(e: Error): string {
  return e.message.startsWith("ERR") ? e.message : `ERR ${e.message}`;
}

/** What the session gives its modes. */
export interface ModesHost {
  readonly core: ProxyCore;
  readonly state: SessionState;
  /** Holds the session for `req`: `start` runs once every earlier request is answered; later ones wait. */
  gate(req: Request, start: () => void): void;
  /** Ends the gate. */
  openGate(): void;
  /** The common slot of the keys (see Session), -1 none, -2 differing, -3 malformed. */
  keysSlot(info: CommandInfo, argv: Uint8Array[], argc: number): number;
  /** The session's ordinary paths. */
  forward(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void;
  split(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void;
  local(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void;
  /** Queues an unsolicited frame (a pub/sub message) after the replies already queued. */
  push(raw: Uint8Array): void;
  /** The modes changed: the session recomputes its `special` flag. */
  modeChanged(): void;
  close(): void;
}

/** One session's transaction, pub/sub, blocking and RESP3 state. */
export class SessionModes {
  #host: ModesHost;
  #txn: Transaction | null = null;
  #pubsub: PubSub | null = null;
  /** A backend connection of this session alone (blocking commands, WATCH). */
  #dedicated: BackendConn | null = null;
  /** The backend connections of a RESP3 session; null for RESP2. */
  #own: OwnConns | null = null;
  #blockingHost: BlockingHost;
  /** WAIT's temporary connections, dropped if the session closes first. */
  #waitConns = new Set<BackendConn>();
  #closed = false;
  /** Set by MONITOR: the session receives the proxy's command feed. */
  #monitor: MonitorMode | null = null;
  /** True while a blocking command or WAIT runs (INFO's blocked_clients). */
  blocked = false;

  constructor(host: ModesHost) {
    this.#host = host;
    this.#blockingHost = {
      core: host.core,
      dedicated: (addr) => this.#dedicatedConn(addr),
      closed: () => this.#closed,
    };
  }

  /** True while requests must come here: in MULTI, subscribed, or RESP3. */
  get special(): boolean {
    return this.#own !== null || (this.#txn !== null && this.#txn.inMulti) ||
      (this.#pubsub !== null && this.#pubsub.active) || this.#monitor !== null;
  }

  /** True in MONITOR mode: Redis treats a monitor as a replica, which CLIENT PAUSE does not hold. */
  get monitoring(): boolean {
    return this.#monitor !== null;
  }

  /**
   * Whether the monitors see this session's command: not when a monitoring session is refused it. RESET stops this
   * session's monitoring here, before the feed, since Redis feeds a command after running it.
   */
  monitorSees(info: CommandInfo): boolean {
    if (this.#monitor === null) return true;
    if (info.name === "reset") {
      this.#monitor.stop();
      return true;
    }
    return this.#monitor.refusal(info) === null;
  }

  /** The modes' part of CLIENT LIST. */
  facts(): SessionFacts {
    const counts = this.#pubsub?.counts() ?? { sub: 0, psub: 0, ssub: 0 };
    const txn = this.#txn;
    return {
      ...counts,
      monitor: this.#monitor !== null,
      pubsub: this.#own === null && this.#pubsub !== null && this.#pubsub.active,
      multi: txn !== null && txn.inMulti ? txn.queuedCount : -1,
    };
  }

  /** True while the session has subscriptions. */
  get subscribed(): boolean {
    return this.#pubsub !== null && this.#pubsub.active;
  }

  /** True for a RESP3 session. */
  get resp3(): boolean {
    return this.#own !== null;
  }

  /** An error answered before the policy runs: inside MULTI it dooms the transaction; false when not in MULTI. */
  failInMulti(req: Request, err: Uint8Array): boolean {
    if (this.#txn === null || !this.#txn.inMulti) return false;
    this.#txn.fail(req, err);
    return true;
  }

  /** Requests of a session in MULTI, subscribed, or speaking RESP3. */
  request(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    const host = this.#host;
    const name = info.name;
    const ps = this.#pubsub;
    const resp3 = this.#own !== null;
    if (this.#monitor !== null) {
      const refusal = this.#monitor.refusal(info);
      if (refusal !== null) return req.onReply(refusal);
    }
    if (ps !== null && ps.active && !resp3) {
      if (!SUBSCRIBED_OK.has(name)) {
        return req.onReply(errorReply(
          `ERR Can't execute '${
            name.replace("|", " ")
          }': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
        ));
      }
      if (name === "ping") {
        if (argc > 2) return req.onReply(errorReply("ERR wrong number of arguments for 'ping' command"));
        return req.onReply(encodeValue(["pong", argc > 1 ? argv[1] : ""]));
      }
    }
    const txn = this.#txn;
    if (txn === null || !txn.inMulti || TXN_CONTROL.has(name)) {
      if (resp3 && (info.policy === "forward" || info.policy === "split")) {
        return routeResp3(host.core, this.#own!, info, argv, raw, req, (slot, bytes, keys) => {
          this.blocking(slot, bytes, keys, req);
        });
      }
      switch (info.policy) {
        case "forward":
          return host.forward(info, argv, argc, raw, req);
        case "split":
          return host.split(info, argv, argc, raw, req);
        case "local":
          return host.local(info, argv, argc, raw, req);
        default:
          if (info.closeConnection) return host.close();
          return req.onReply(errorReply(refusalText(info, argv, argc)));
      }
    }
    // Inside MULTI: check and queue.
    const bytes = raw ?? encodeCommand(argv);
    if (info.policy === "refused") return txn.fail(req, errorReply(refusalText(info, argv, argc)));
    if (info.policy === "local") {
      if (name === "ping" || name === "echo") return txn.queue(bytes, -1, req);
      return txn.fail(req, errorReply(`ERR command '${info.displayName}' cannot be used inside MULTI on codis-proxy`));
    }
    let slot = host.keysSlot(info, argv, argc);
    if (slot === -2) return txn.fail(req, CROSSSLOT);
    if (slot === -1) {
      if (!info.keylessAnywhere) return txn.fail(req, errorReply(refusalText(info, argv, argc, info.noKeysReason)));
      slot = KEYLESS_SLOT;
    }
    if (slot >= 0) {
      const refusal = callRefusal(info, argv, argc);
      if (refusal !== undefined && refusal !== REASONS.blocking) {
        return txn.fail(req, errorReply(refusalText(info, argv, argc, refusal)));
      }
    }
    txn.queue(bytes, slot, req, ackedCommand(info)); // slot -3: malformed keys, the backend answers the error at EXEC
  }

  /** The commands of {@link SESSION_COMMANDS}. */
  command(info: CommandInfo, argv: Uint8Array[], argc: number, raw: Uint8Array | null, req: Request): void {
    const host = this.#host;
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
        const slot = host.keysSlot(info, argv, argc);
        if (slot === -2) return req.onReply(CROSSSLOT);
        if (slot < 0) return req.onReply(errorReply("ERR wrong number of arguments for 'watch' command"));
        return this.#transaction().watch(slot, raw ?? encodeCommand(argv), req);
      }
      case "subscribe":
      case "psubscribe":
      case "ssubscribe":
        return answer(req, this.#pubs().subscribe(PUBSUB_KIND[info.name], argv.slice(1)));
      case "unsubscribe":
      case "punsubscribe":
      case "sunsubscribe":
        return answer(req, this.#pubs().unsubscribe(PUBSUB_KIND[info.name], argv.slice(1)));
      case "publish":
        return publish(host.core, argv, raw, req);
      case "hello": {
        const s = host.state;
        const before = s.protover;
        const reply = helloCommand(host.core, s, argv);
        if (s.protover === before) return req.onReply(reply);
        // Earlier requests answer in the old protocol; the switch happens once they have.
        return host.gate(req, () => {
          this.#switchProtocol();
          req.onReply(reply);
          host.openGate();
        });
      }
      case "wait":
        return host.gate(req, () => {
          this.blocked = true;
          waitCommand(host.core, argv, this.#waitConns).then(
            (r) => req.onReply(r),
            (e: Error) => req.onError(errText(e)),
          )
            .finally(() => {
              this.blocked = false;
              host.openGate();
            });
        });
      case "monitor":
        this.#monitor ??= new MonitorMode(host.core.ops.monitors, (line) => host.push(line));
        host.modeChanged();
        return req.onReply(OK_REPLY);
      case "reset": {
        const s = host.state;
        this.#monitor?.stop();
        this.#monitor = null;
        this.#txn?.reset();
        this.#pubsub?.close();
        s.name = null;
        s.setClientReply("on");
        s.authenticated = host.core.config.session_auth === "";
        if (s.protover === 3) {
          s.protover = 2;
          this.#switchProtocol();
        }
        host.modeChanged();
        return req.onReply(RESET_REPLY);
      }
    }
    if (info.name.startsWith("pubsub|")) return answer(req, pubsubCommand(host.core, argv));
    req.onReply(errorReply(`ERR command '${info.name}' has no session handler in codis-proxy`));
  }

  /** A blocking command whose keys are all in `slot`: see proxy/blocking; the session's later requests wait. */
  blocking(slot: number, raw: Uint8Array, keys: Uint8Array[], req: Request): void {
    const host = this.#host;
    host.gate(req, () => {
      this.blocked = true;
      runBlocking(this.#blockingHost, slot, raw, keys, req, () => {
        this.blocked = false;
        host.openGate();
      });
    });
  }

  /** A pub/sub message as the client's protocol wants it: a push in RESP3. */
  message(raw: Uint8Array): Uint8Array {
    if (this.#own === null) return raw;
    const out = raw.slice();
    out[0] = 62;
    return out;
  }

  #transaction(): Transaction {
    const host = this.#host;
    return this.#txn ??= new Transaction({
      core: host.core,
      dedicated: (addr) => this.#dedicatedConn(addr),
      gate: (req, start) => host.gate(req, start),
      release: () => host.openGate(),
      shared: (pool, slot) => this.#own !== null ? this.#own.conn(pool.addr) : pool.connFor(slot),
      modeChanged: () => host.modeChanged(),
    });
  }

  #pubs(): PubSub {
    const host = this.#host;
    return this.#pubsub ??= new PubSub({
      core: host.core,
      push: (raw) => host.push(this.message(raw)),
      resp3: () => this.#own !== null,
      modeChanged: () => host.modeChanged(),
    });
  }

  /** Follows `protover`: RESP3 sessions use connections of their own (see proxy/resp3). */
  #switchProtocol(): void {
    this.#dedicated?.close();
    this.#dedicated = null;
    this.#own?.close();
    this.#own = this.#host.state.protover === 3 ? new OwnConns(this.#host.core) : null;
    this.#host.modeChanged();
  }

  /** The session's dedicated backend connection to `addr`, replacing one to another server. */
  #dedicatedConn(addr: string): BackendConn {
    if (this.#own !== null) return this.#own.conn(addr);
    const d = this.#dedicated;
    if (d !== null && d.addr === addr && d.state !== "closed") return d;
    d?.close();
    const c = new BackendConn(addr, ownConnOptions(this.#host.core.config));
    c.connect().catch(() => {/* the request sent next fails with the reason */});
    this.#dedicated = c;
    return c;
  }

  /** Frees what only this session used: its own connections (a blocked command ends) and subscriptions. */
  close(): void {
    this.#closed = true;
    this.#monitor?.stop();
    this.#monitor = null;
    for (const c of this.#waitConns) c.close();
    this.#waitConns.clear();
    this.#dedicated?.close();
    this.#dedicated = null;
    this.#pubsub?.close();
    this.#own?.close();
    this.#own = null;
  }
}

function answer(req: Request, p: Promise<Uint8Array>): void {
  p.then((r) => req.onReply(r), (e: Error) => req.onError(errText(e)));
}
