/**
 * CLIENT LIST, CLIENT INFO, CLIENT KILL, CLIENT PAUSE and CLIENT UNPAUSE over this proxy's sessions, in Redis 7.0's
 * formats and with its argument errors. With proxy_workers > 1 the other threads are asked too (proxy/worker/).
 * @module
 */
import type { ClientDescription } from "../core/client_info.ts";
import type { ProxyCore, SessionState } from "../core/core.ts";
import { PAUSE_ALL, PAUSE_WRITE } from "../core/client_pause.ts";
import type { ClientFilter, OpsAnswer, OpsQuery } from "../core/ops.ts";
import { bulkReply, errorReply, integerReply, OK } from "../../redis/encode.ts";
import { parseIntArg } from "../commands/keys.ts";

const decoder = new TextDecoder();

/** What a session's modes (transactions, pub/sub, MONITOR) add to its CLIENT LIST line. */
export interface SessionFacts {
  sub: number;
  psub: number;
  ssub: number;
  monitor: boolean;
  /** RESP2 and subscribed. */
  pubsub: boolean;
  /** Commands queued in MULTI, -1 outside it. */
  multi: number;
}

/** The raw facts a session hands over for {@link describeSession}. */
export interface SessionSnapshot {
  id: number;
  addr: string;
  laddr: string;
  /** -1 when unknown. */
  fd: number;
  name: Uint8Array | null;
  createdAt: number;
  lastActive: number;
  modes: SessionFacts | null;
  blocked: boolean;
  qbuf: number;
  omem: number;
  cmd: string;
  resp: 2 | 3;
}

/** A session's CLIENT LIST facts. */
export function describeSession(s: SessionSnapshot): ClientDescription {
  const now = Date.now();
  const m = s.modes;
  // Redis's order of flag letters: O (monitor), P, x, b; N when none.
  let flags = "";
  if (m?.monitor) flags += "O";
  if (m?.pubsub) flags += "P";
  if (m !== null && m.multi >= 0) flags += "x";
  if (s.blocked) flags += "b";
  return {
    id: s.id,
    addr: s.addr,
    laddr: s.laddr,
    fd: s.fd,
    name: s.name === null ? "" : decoder.decode(s.name),
    ageSec: Math.floor((now - s.createdAt) / 1000),
    idleSec: Math.max(0, Math.floor((now - s.lastActive) / 1000)),
    flags: flags === "" ? "N" : flags,
    sub: m?.sub ?? 0,
    psub: m?.psub ?? 0,
    ssub: m?.ssub ?? 0,
    multi: m?.multi ?? -1,
    qbuf: s.qbuf,
    omem: s.omem,
    cmd: s.cmd,
    resp: s.resp,
    pubsub: m?.pubsub ?? false,
  };
}

/**
 * One CLIENT LIST line, with Redis 7.0's fields in its order. Fields about Redis's own buffers (qbuf-free,
 * argv-mem, multi-mem, rbs, rbp, obl, oll) are 0; omem is the reply bytes not yet sent.
 */
export function clientLine(d: ClientDescription): string {
  return `id=${d.id} addr=${d.addr} laddr=${d.laddr} fd=${d.fd} name=${d.name} age=${d.ageSec} idle=${d.idleSec} ` +
    `flags=${d.flags} db=0 sub=${d.sub} psub=${d.psub} ssub=${d.ssub} multi=${d.multi} qbuf=${d.qbuf} ` +
    `qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${d.omem} tot-mem=${d.qbuf + d.omem} ` +
    `events=${d.omem > 0 ? "rw" : "r"} cmd=${d.cmd} user=default redir=-1 resp=${d.resp}\n`;
}

/** Redis's client types; the proxy's sessions are `normal` or, subscribed in RESP2, `pubsub`. */
const TYPES = new Set(["normal", "pubsub", "master", "replica", "slave"]);

function typeOf(d: ClientDescription): string {
  return d.pubsub ? "pubsub" : "normal";
}

/** CLIENT INFO: the session's own line. */
export function clientInfo(session: SessionState): Uint8Array {
  return bulkReply(clientLine(session.describe()));
}

/** A reply now, or (worker mode, where the other threads are asked) later. */
export type ClientReply = Uint8Array | Promise<Uint8Array>;

/** CLIENT LIST [TYPE type] | [ID id ...], with Redis 7.0's checks; in worker mode, every thread's sessions. */
export function clientList(core: ProxyCore, argv: Uint8Array[]): ClientReply {
  let type: string | null = null;
  let ids: number[] | null = null;
  if (argv.length === 4 && lower(argv[2]) === "type") {
    type = lower(argv[3]);
    if (!TYPES.has(type)) return errorReply(`ERR Unknown client type '${decoder.decode(argv[3])}'`);
    if (type === "slave") type = "replica";
  } else if (argv.length > 3 && lower(argv[2]) === "id") {
    ids = [];
    for (let i = 3; i < argv.length; i++) {
      const id = parseIntArg(argv[i]);
      if (Number.isNaN(id)) return errorReply("ERR Invalid client ID");
      ids.push(id);
    }
  } else if (argv.length !== 2) {
    return errorReply("ERR syntax error");
  }
  const own = listLines(core, type, ids);
  if (!core.ops.threaded) return bulkReply(own);
  return core.ops.askOthers({ kind: "clientList", type, ids }).then((others) => bulkReply(own + others.join("")));
}

/** This thread's CLIENT LIST lines of the sessions of `type` (all when null) among `ids` (all when null). */
function listLines(core: ProxyCore, type: string | null, ids: number[] | null): string {
  const wanted = ids === null ? null : new Set(ids);
  let out = "";
  for (const s of core.sessions()) {
    if (wanted !== null && !wanted.has(s.id)) continue;
    const d = s.describe();
    if (type !== null && typeOf(d) !== type) continue;
    out += clientLine(d);
  }
  return out;
}

/** CLIENT KILL ip:port, or CLIENT KILL [ID id] [TYPE type] [ADDR a] [LADDR a] [USER u] [SKIPME yes|no]. */
export function clientKill(core: ProxyCore, self: SessionState, argv: Uint8Array[]): ClientReply {
  if (argv.length === 3) {
    // The old form: one address, the session itself included; an error when nobody matches.
    const filter = { addr: decoder.decode(argv[2]), skipMe: false };
    return killEverywhere(core, self, filter, (n) => n === 0 ? errorReply("ERR No such client") : OK);
  }
  const filter: ClientFilter = { skipMe: true };
  for (let i = 2; i < argv.length; i += 2) {
    const opt = lower(argv[i]);
    if (i + 1 >= argv.length) return errorReply("ERR syntax error");
    const value = decoder.decode(argv[i + 1]);
    if (opt === "id") {
      const id = parseIntArg(argv[i + 1]);
      if (Number.isNaN(id) || id < 1) return errorReply("ERR client-id should be greater than 0");
      filter.id = id;
    } else if (opt === "type") {
      const t = value.toLowerCase();
      if (!TYPES.has(t)) return errorReply(`ERR Unknown client type '${value}'`);
      filter.type = t === "slave" ? "replica" : t;
    } else if (opt === "addr") {
      filter.addr = value;
    } else if (opt === "laddr") {
      filter.laddr = value;
    } else if (opt === "user") {
      if (value !== "default") return errorReply(`ERR No such user '${value}'`);
      filter.user = value;
    } else if (opt === "skipme") {
      const v = value.toLowerCase();
      if (v !== "yes" && v !== "no") return errorReply("ERR syntax error");
      filter.skipMe = v === "yes";
    } else {
      return errorReply("ERR syntax error");
    }
  }
  return killEverywhere(core, self, filter, integerReply);
}

/** Kills the matching sessions of this thread and (worker mode) the others; `reply` makes the answer of the count. */
function killEverywhere(
  core: ProxyCore,
  self: SessionState,
  filter: ClientFilter,
  reply: (n: number) => Uint8Array,
): ClientReply {
  const own = killMatching(core, self, filter);
  if (!core.ops.threaded) return reply(own);
  return core.ops.askOthers({ kind: "clientKill", filter }).then((others) =>
    reply(others.reduce<number>((n, a) => n + Number(a), own))
  );
}

/** Kills this thread's sessions that match `f`; `self` (null when another thread asks) closes after its reply. */
function killMatching(core: ProxyCore, self: SessionState | null, f: ClientFilter): number {
  const victims: SessionState[] = [];
  for (const s of core.sessions()) {
    if (f.id !== undefined && s.id !== f.id) continue;
    if (f.skipMe && s === self) continue;
    const d = s.describe();
    if (f.addr !== undefined && d.addr !== f.addr) continue;
    if (f.laddr !== undefined && d.laddr !== f.laddr) continue;
    if (f.type !== undefined && typeOf(d) !== f.type) continue;
    victims.push(s);
  }
  for (const s of victims) s.kill(s === self);
  return victims.length;
}

/** Answers another thread's CLIENT LIST or CLIENT KILL about this thread's sessions (worker mode). */
export function answerOpsQuery(core: ProxyCore, q: OpsQuery): OpsAnswer {
  return q.kind === "clientList" ? listLines(core, q.type, q.ids) : killMatching(core, null, q.filter);
}

/** CLIENT PAUSE timeout [WRITE|ALL]: holds this proxy's sessions, on every thread. */
export function clientPause(core: ProxyCore, argv: Uint8Array[]): Uint8Array {
  const ms = parseIntArg(argv[2]);
  if (Number.isNaN(ms)) return errorReply("ERR timeout is not an integer or out of range");
  if (ms < 0) return errorReply("ERR timeout is negative");
  let mode = PAUSE_ALL;
  if (argv.length === 4) {
    const m = lower(argv[3]);
    if (m === "write") mode = PAUSE_WRITE;
    else if (m !== "all") return errorReply("ERR CLIENT PAUSE mode must be WRITE or ALL");
  } else if (argv.length > 4) {
    // Redis names the subcommand as the client spelled it.
    return errorReply(
      `ERR unknown subcommand or wrong number of arguments for '${decoder.decode(argv[1])}'. Try CLIENT HELP.`,
    );
  }
  core.ops.clientPause(ms, mode);
  return OK;
}

/** CLIENT UNPAUSE. */
export function clientUnpause(core: ProxyCore): Uint8Array {
  core.ops.clientUnpause();
  return OK;
}

function lower(b: Uint8Array): string {
  return decoder.decode(b).toLowerCase();
}

/** The CLIENT subcommands answered here; null for the others (proxy/local/connection.ts). */
export function clientOps(
  core: ProxyCore,
  session: SessionState,
  name: string,
  argv: Uint8Array[],
): ClientReply | null {
  switch (name) {
    case "client|list":
      return clientList(core, argv);
    case "client|info":
      return clientInfo(session);
    case "client|kill":
      return clientKill(core, session, argv);
    case "client|pause":
      return clientPause(core, argv);
    case "client|unpause":
      return clientUnpause(core);
    default:
      return null;
  }
}
