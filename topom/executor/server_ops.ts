/**
 * The dashboard's operations on group servers: the add-server check, sync actions (REPLICAOF with masterauth),
 * replication state, promotion, and per-slot key counts and flushes (slot s lives in database s).
 * @module
 */
import { MAX_SLOT_NUM } from "../../models/slots.ts";
import { decodeReply, errorText, isErrorReply, RespError, textOf } from "../../redis/decode.ts";
import { callText, callValue, parseInfoText, parseKeyspace, splitAddr, withConn } from "./conn.ts";

/** Default bound of one server operation, in ms. */
export const SERVER_OP_TIMEOUT_MS = 5000;

/** Why a server cannot join a group. */
export type ServerCheckFailure =
  | "unreachable"
  | "auth_required"
  | "auth_wrong"
  | "auth_not_set"
  | "databases"
  | "protocol";

/** A failed {@link checkServer}: `kind` tells the failures apart, the message names the address and the fix. */
export class ServerCheckError extends Error {
  constructor(readonly addr: string, readonly kind: ServerCheckFailure, message: string) {
    super(message);
    this.name = "ServerCheckError";
  }
}

/** What {@link checkServer} learned about a server. */
export interface ServerFacts {
  addr: string;
  version: string;
  databases: number;
  hz: number;
  role: "master" | "slave";
  /** host:port of its master when it is a replica. */
  master?: string;
  /** Accepted, but worth saying (e.g. hz below 100). */
  warnings: string[];
}

function classifyConnectError(addr: string, msg: string, authGiven: boolean): ServerCheckError {
  if (/NOAUTH/i.test(msg)) {
    return new ServerCheckError(addr, "auth_required", `server ${addr} requires a password: set product_auth`);
  }
  if (/without any password configured|no password is set/i.test(msg)) {
    return new ServerCheckError(
      addr,
      "auth_not_set",
      `server ${addr} has no password but product_auth is set: set 'requirepass' on it to product_auth`,
    );
  }
  if (/WRONGPASS|invalid password|AUTH failed/i.test(msg) && authGiven) {
    return new ServerCheckError(addr, "auth_wrong", `server ${addr} rejected product_auth (wrong password)`);
  }
  return new ServerCheckError(addr, "unreachable", `server ${addr} is unreachable: ${msg}`);
}

/**
 * Checks a server before it joins a group: reachable, `productAuth` accepted, at least 1024 databases. A `hz` below
 * 100 is accepted with a warning. Throws {@link ServerCheckError}; "already in another group" is the caller's check.
 */
export async function checkServer(
  addr: string,
  productAuth: string,
  timeoutMs = SERVER_OP_TIMEOUT_MS,
): Promise<ServerFacts> {
  splitAddr(addr);
  let info: Map<string, string>;
  let databases: number;
  let hz: number;
  try {
    [info, databases, hz] = await withConn(addr, productAuth, timeoutMs, async (c) => {
      const text = await callText(c, 0, ["INFO"]);
      const dbs = await configNumber(c, "databases");
      const hz = await configNumber(c, "hz");
      // CONFIG may be renamed away: SELECT of the last slot's database is what matters.
      const canSelectLast = dbs !== null ||
        !isErrorReply(await c.call(MAX_SLOT_NUM - 1, ["PING"]).catch(() => ERR_REPLY));
      return [parseInfoText(text), dbs ?? (canSelectLast ? MAX_SLOT_NUM : 0), hz ?? Number.NaN];
    });
  } catch (e) {
    if (e instanceof ServerCheckError) throw e;
    throw classifyConnectError(addr, (e as Error).message, productAuth !== "");
  }
  if (databases < MAX_SLOT_NUM) {
    throw new ServerCheckError(
      addr,
      "databases",
      `server ${addr} has ${databases} databases; slot s lives in database s, so it needs 'databases ${MAX_SLOT_NUM}'`,
    );
  }
  const role = info.get("role") === "slave" ? "slave" : "master";
  const facts: ServerFacts = {
    addr,
    version: info.get("redis_version") ?? "unknown",
    databases,
    hz: Number.isNaN(hz) ? Number(info.get("hz") ?? 0) : hz,
    role,
    warnings: [],
  };
  if (role === "slave" && info.get("master_host")) {
    facts.master = `${info.get("master_host")}:${info.get("master_port")}`;
  }
  if (facts.hz < 100) {
    facts.warnings.push(
      `server ${addr} runs with hz ${facts.hz}: with ${MAX_SLOT_NUM} databases expired keys linger for seconds ` +
        `(about 8 s at hz 10); set 'hz 100'`,
    );
  }
  return facts;
}

const ERR_REPLY = new TextEncoder().encode("-ERR\r\n");

async function configNumber(c: Parameters<typeof callValue>[0], key: string): Promise<number | null> {
  const raw = await c.call(0, ["CONFIG", "GET", key]);
  if (isErrorReply(raw)) {
    if (/unknown command|NOPERM/i.test(errorText(raw))) return null;
    throw new ServerCheckError(c.addr, "protocol", `server ${c.addr}: CONFIG GET ${key} failed: ${errorText(raw)}`);
  }
  const v = decodeReply(raw);
  return Array.isArray(v) && v.length >= 2 ? Number(textOf(v[1])) : null;
}

/** Options of {@link replicaOf}. */
export interface ReplicaOfOptions {
  timeoutMs?: number;
  /** Also `CLIENT KILL TYPE normal` in the same transaction, as Codis did (default false: proxies keep their
   * connections, and requests in flight are not failed). */
  killClients?: boolean;
}

/**
 * Makes `addr` a replica of `master`, or a master with "NO:ONE": in one MULTI/EXEC, `CONFIG SET masterauth` (when
 * `auth` is set) and `REPLICAOF`; then `CONFIG REWRITE`, best effort (a server started without a config file
 * cannot rewrite it).
 */
export async function replicaOf(
  addr: string,
  master: string,
  auth: string,
  opts: ReplicaOfOptions = {},
): Promise<void> {
  const [host, port] = master === "NO:ONE" || master === "" ? ["NO", "ONE"] : splitAddr(master);
  await withConn(addr, auth, opts.timeoutMs ?? SERVER_OP_TIMEOUT_MS, async (c) => {
    const cmds: string[][] = [];
    if (auth) cmds.push(["CONFIG", "SET", "masterauth", auth]);
    cmds.push(["REPLICAOF", host, port]);
    if (opts.killClients) cmds.push(["CLIENT", "KILL", "TYPE", "normal"]);
    const sent = [c.call(0, ["MULTI"]), ...cmds.map((a) => c.call(0, a)), c.call(0, ["EXEC"])];
    const replies = await Promise.all(sent);
    for (let i = 0; i < replies.length - 1; i++) {
      if (isErrorReply(replies[i])) throw new Error(`server ${addr}: ${errorText(replies[i])}`);
    }
    const exec = decodeReply(replies[replies.length - 1]);
    if (exec instanceof RespError) throw new Error(`server ${addr}: ${exec.message}`);
    if (Array.isArray(exec)) {
      for (const r of exec) if (r instanceof RespError) throw new Error(`server ${addr}: ${r.message}`);
    }
    await c.call(0, ["CONFIG", "REWRITE"]);
  });
}

/** Promotes `addr` to master (`REPLICAOF NO ONE`, keeping `masterauth` for a later demotion). */
export function promoteToMaster(addr: string, auth = "", opts: ReplicaOfOptions = {}): Promise<void> {
  return replicaOf(addr, "NO:ONE", auth, opts);
}

/** Replication state of one server, from `INFO replication`. */
export interface SyncState {
  role: "master" | "slave";
  /** Replica: host:port of its master. */
  master?: string;
  /** Replica: "up" once the link is established and the initial sync finished. */
  linkStatus?: string;
  /** Replica: a full sync is being transferred. */
  syncInProgress?: boolean;
  /** Replica: seconds since the link went down (-1 while up). */
  linkDownSinceSeconds?: number;
  /** master_repl_offset (or the replica's processed offset). */
  offset: number;
  /** Master: number of connected replicas. */
  connectedSlaves?: number;
  /** For sync actions: "synced" (master, or replica with the link up), else "syncing". */
  state: "synced" | "syncing";
}

/** Reads the replication state of `addr`. */
export async function syncState(addr: string, auth = "", timeoutMs = SERVER_OP_TIMEOUT_MS): Promise<SyncState> {
  const info = parseInfoText(await withConn(addr, auth, timeoutMs, (c) => callText(c, 0, ["INFO", "replication"])));
  const role = info.get("role") === "slave" ? "slave" : "master";
  if (role === "master") {
    return {
      role,
      offset: Number(info.get("master_repl_offset") ?? 0),
      connectedSlaves: Number(info.get("connected_slaves") ?? 0),
      state: "synced",
    };
  }
  const linkStatus = info.get("master_link_status") ?? "down";
  const syncInProgress = info.get("master_sync_in_progress") === "1";
  return {
    role,
    master: `${info.get("master_host")}:${info.get("master_port")}`,
    linkStatus,
    syncInProgress,
    linkDownSinceSeconds: Number(info.get("master_link_down_since_seconds") ?? -1),
    offset: Number(info.get("slave_repl_offset") ?? info.get("master_repl_offset") ?? 0),
    state: linkStatus === "up" && !syncInProgress ? "synced" : "syncing",
  };
}

/** Deletes every key of slot `slot` on `addr` (`FLUSHDB ASYNC` in database `slot`: freed off the main thread). */
export async function flushSlot(
  addr: string,
  slot: number,
  auth = "",
  timeoutMs = SERVER_OP_TIMEOUT_MS,
): Promise<void> {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOT_NUM) throw new Error(`bad slot ${slot}`);
  await withConn(addr, auth, timeoutMs, (c) => callValue(c, slot, ["FLUSHDB", "ASYNC"]));
}

/** Key count of every non-empty slot on `addr`, from `INFO keyspace`. */
export async function slotKeyCounts(
  addr: string,
  auth = "",
  timeoutMs = SERVER_OP_TIMEOUT_MS,
): Promise<Map<number, number>> {
  return parseKeyspace(await withConn(addr, auth, timeoutMs, (c) => callText(c, 0, ["INFO", "keyspace"])));
}
