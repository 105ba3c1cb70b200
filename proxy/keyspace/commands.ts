/**
 * Keyspace-wide and server-wide commands, answered by fanning out: KEYS, DBSIZE and RANDOMKEY over every slot on
 * the master(s) holding it; FLUSHALL/FLUSHDB, SCRIPT and FUNCTION to every master (so that EVALSHA finds a loaded
 * script on any slot); CONFIG GET, TIME, LASTSAVE and ROLE with answers that describe the cluster as one server.
 * @module
 */
import { MAX_SLOT_NUM } from "../../models/slots.ts";
import type { ProxyCore } from "../core/core.ts";
import { parseKeyspace } from "./counts.ts";
import { arrayElements, decodeReply, errorText, integerOf, isErrorReply, textOf } from "../../redis/decode.ts";
import { bulkReply, concat, encodeValue, errorReply, integerReply, NULL_BULK, OK } from "../../redis/encode.ts";
import { BackendConn } from "../../redis/conn.ts";
import type { BackendPool } from "../forward/router.ts";
import { callEveryMaster, firstError, masters, slotHolders } from "./fanout.ts";
import { isSecretConfigParameter } from "./secret_config.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const latin1 = new TextDecoder("latin1");

/** KEYS pattern: every slot's database on the master(s) holding it; duplicates (mid-migration) removed. */
export async function keysCommand(core: ProxyCore, pattern: Uint8Array): Promise<Uint8Array> {
  const calls: Promise<Uint8Array>[] = [];
  for (let s = 0; s < MAX_SLOT_NUM; s++) {
    for (const pool of slotHolders(core.router.slots[s])) calls.push(pool.connFor(s).call(s, ["KEYS", pattern]));
  }
  const replies = await Promise.all(calls);
  const err = firstError(replies);
  if (err) return err;
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const r of replies) {
    for (const k of arrayElements(r) ?? []) {
      const id = latin1.decode(k);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(k);
    }
  }
  return concat([enc.encode(`*${out.length}\r\n`), ...out]);
}

/** Key counts per (pool, database) from INFO keyspace of every master. */
async function keyspaceCounts(core: ProxyCore): Promise<Map<BackendPool, Map<number, number>>> {
  const pools = masters(core);
  const replies = await Promise.all(pools.map((p) => p.connFor(0).call(0, ["INFO", "keyspace"])));
  const out = new Map<BackendPool, Map<number, number>>();
  replies.forEach((raw, i) => {
    if (isErrorReply(raw)) throw new Error(`backend ${pools[i].addr}: ${errorText(raw)}`);
    const m = new Map<number, number>();
    for (const [db, c] of parseKeyspace(textOf(decodeReply(raw)))) m.set(db, c.keys);
    out.set(pools[i], m);
  });
  return out;
}

/** Non-empty (slot, pool) pairs with their key counts: each slot counted where it lives now. */
async function slotCounts(core: ProxyCore): Promise<{ slot: number; pool: BackendPool; keys: number }[]> {
  const counts = await keyspaceCounts(core);
  const out: { slot: number; pool: BackendPool; keys: number }[] = [];
  for (const route of core.router.slots) {
    for (const pool of slotHolders(route)) {
      const n = counts.get(pool)?.get(route.id) ?? 0;
      if (n > 0) out.push({ slot: route.id, pool, keys: n });
    }
  }
  return out;
}

/** DBSIZE: the sum over slots (a key mid-migration may briefly count twice, as Redis Cluster's sum would). */
export async function dbsizeCommand(core: ProxyCore): Promise<Uint8Array> {
  let n = 0;
  for (const c of await slotCounts(core)) n += c.keys;
  return integerReply(n);
}

/** RANDOMKEY: a slot chosen with probability proportional to its key count, then RANDOMKEY in its database. */
export async function randomkeyCommand(core: ProxyCore): Promise<Uint8Array> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const counts = await slotCounts(core);
    let total = 0;
    for (const c of counts) total += c.keys;
    if (total === 0) return NULL_BULK;
    let pick = Math.floor(Math.random() * total);
    const c = counts.find((c) => (pick -= c.keys) < 0) ?? counts[counts.length - 1];
    const raw = await c.pool.connFor(c.slot).call(c.slot, ["RANDOMKEY"]);
    if (raw[0] !== 36 || raw[1] !== 45) return raw; // a key (or an error); $-1 means the slot emptied meanwhile
  }
  return NULL_BULK;
}

/** FLUSHALL / FLUSHDB [ASYNC|SYNC]: FLUSHALL on every master (the proxy's one database is all of them). */
export async function flushCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  const name = dec.decode(argv[0]).toUpperCase();
  const args: (string | Uint8Array)[] = ["FLUSHALL"];
  // Argument errors first, as Redis answers them, then the switch.
  if (argv.length > 2) return errorReply("ERR syntax error");
  if (argv.length === 2) {
    const mode = dec.decode(argv[1]).toUpperCase();
    if (mode !== "ASYNC" && mode !== "SYNC") return errorReply("ERR syntax error");
    args.push(mode);
  }
  if (!core.config.proxy_allow_flush) {
    return errorReply(
      `ERR command '${name}' is not supported by codis-proxy: it is disabled unless proxy_allow_flush = true`,
    );
  }
  const replies = await callEveryMaster(core, args);
  return firstError(replies) ?? OK;
}

/** SCRIPT LOAD / EXISTS / FLUSH / KILL on every master; HELP from one. */
export async function scriptCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  const sub = dec.decode(argv[1]).toLowerCase();
  if (sub === "debug") return errorReply("ERR SCRIPT DEBUG is not supported by codis-proxy");
  if (sub === "help") return (await callEveryMaster(core, argv))[0];
  const replies = await callEveryMaster(core, argv);
  if (sub === "kill") return replies.find((r) => r[0] === 43) ?? replies[0];
  const err = firstError(replies);
  if (err) return err;
  if (sub === "exists") {
    // A script exists for the cluster only if every master has it: EVALSHA may land on any of them.
    const all = replies.map((r) => arrayElements(r) ?? []);
    const n = all[0].length;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(all.every((a) => integerOf(a[i]) === 1) ? 1 : 0);
    return encodeValue(out);
  }
  return replies[0];
}

const FUNCTION_WRITES = new Set(["load", "delete", "flush", "restore"]);

/** FUNCTION: writes (LOAD, DELETE, FLUSH, RESTORE) and KILL on every master; reads from one. */
export async function functionCommand(core: ProxyCore, argv: Uint8Array[], resp3 = false): Promise<Uint8Array> {
  const sub = dec.decode(argv[1]).toLowerCase();
  if (FUNCTION_WRITES.has(sub)) {
    const replies = await callEveryMaster(core, argv);
    return firstError(replies) ?? replies[0];
  }
  if (sub === "kill") {
    const replies = await callEveryMaster(core, argv);
    return replies.find((r) => r[0] === 43) ?? replies[0];
  }
  const pools = masters(core);
  if (pools.length === 0) return errorReply("ERR no backend serves any slot yet");
  // LIST and STATS reply with maps and sets to a RESP3 client, which the shared RESP2 connection cannot carry: a
  // short-lived RESP3 connection answers them (they are rare, administrative calls).
  if (resp3) return await callResp3(core, pools[0].addr, argv);
  return await pools[0].connFor(0).call(0, argv);
}

/** One command on a new connection switched to RESP3, closed afterwards. */
async function callResp3(core: ProxyCore, addr: string, argv: Uint8Array[]): Promise<Uint8Array> {
  const cfg = core.config;
  const conn = new BackendConn(addr, {
    auth: cfg.product_auth,
    maxPipeline: 4,
    minBackoffMs: 50,
    maxBackoffMs: 1000,
    connectTimeoutMs: cfg.backend_connect_timeout,
  });
  try {
    await conn.connect();
    const hello = await conn.call(0, ["HELLO", "3"]);
    if (isErrorReply(hello)) return hello;
    return await conn.call(0, argv);
  } catch (e) {
    return errorReply(`ERR backend ${addr}: ${(e as Error).message}`);
  } finally {
    conn.close();
  }
}

/** CONFIG GET: the first master's values, with what differs behind the proxy (one database); a map for RESP3. */
export async function configGetCommand(core: ProxyCore, argv: Uint8Array[], resp3 = false): Promise<Uint8Array> {
  const pools = masters(core);
  if (pools.length === 0) return errorReply("ERR no backend serves any slot yet");
  const raw = await pools[0].connFor(0).call(0, argv);
  const parts = arrayElements(raw);
  if (parts === null) return raw;
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const name = dec.decode(decodeReply(parts[i]) as Uint8Array);
    out.push(parts[i]);
    if (name === "databases") out.push(bulkReply("1"));
    else if (isSecretConfigParameter(name)) out.push(bulkReply("")); // the backends' product_auth is not the client's
    else if (name === "maxclients") out.push(bulkReply(String(core.config.proxy_max_clients)));
    else out.push(parts[i + 1]);
  }
  // RESP3 clients get the map Redis sends them; the backend connection speaks RESP2.
  return concat([enc.encode(resp3 ? `%${out.length / 2}\r\n` : `*${out.length}\r\n`), ...out]);
}

/** TIME from one master. */
export async function timeCommand(core: ProxyCore): Promise<Uint8Array> {
  const pools = masters(core);
  if (pools.length === 0) return errorReply("ERR no backend serves any slot yet");
  return await pools[0].connFor(0).call(0, ["TIME"]);
}

/** LASTSAVE: the oldest of the masters' last saves (the last time every part of the data set was saved). */
export async function lastsaveCommand(core: ProxyCore): Promise<Uint8Array> {
  const replies = await callEveryMaster(core, ["LASTSAVE"]);
  const err = firstError(replies);
  if (err) return err;
  return integerReply(Math.min(...replies.map(integerOf)));
}

/** ROLE: the proxy is a master with no replicas of its own (the groups' replicas are not its clients' concern). */
export function roleReply(): Uint8Array {
  return encodeValue(["master", 0, []]);
}
