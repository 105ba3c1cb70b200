/**
 * MSET across slots in one call per backend connection: with one database per slot, a split MSET of 10 random keys
 * is 10 `SELECT` + `SET` pairs on the backends, so the proxy handles 20 replies for it. With
 * `backend_mset_function`, the proxy loads a Redis 7 function (library `codis_proxy`, function `codis_mset`) on each
 * backend connection at connect, and sends the keys that share a connection as one
 * `FCALL codis_mset 0 db 1 key value ...`: the function selects each key's database inside its own context (the
 * caller's database does not change) and sets the key. Each key is set atomically, as by MSET; across slots the call
 * is no more atomic than the split.
 *
 * Only slots at rest go this way: a request with a slot that is locked, migrating or has key moves in flight takes
 * the split path whole (`split.ts`), so that a migrating slot's keys are still moved first. A connection whose server
 * refused the function (Redis before 7.0, an ACL without FUNCTION/FCALL) sends nothing this way; a call refused later
 * (the library was flushed) is sent again pair by pair by the split path, and the function is loaded again.
 * @module
 */
import type { BackendConn, PendingReply } from "../../redis/conn.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";
import { bulkSize, digits, encodeCommand, writeArrayHeader, writeBulk } from "../../redis/encode.ts";
import type { KeyRef } from "./forward.ts";
import type { Request } from "./request.ts";
import type { Router } from "./router.ts";
import { type SlotSender, SplitJoin, SplitPart } from "./split.ts";

const encoder = new TextEncoder();

/** The library's name: codis-specific, so that it cannot clash with a user's library. */
export const MSET_LIBRARY = "codis_proxy";

/** `FUNCTION LOAD REPLACE` of the library: arguments are groups of `db count key value ...`. */
const LOAD_MSET_FUNCTION = encodeCommand([
  "FUNCTION",
  "LOAD",
  "REPLACE",
  `#!lua name=${MSET_LIBRARY}
redis.register_function('codis_mset', function(keys, args)
  local i = 1
  local n = #args
  while i <= n do
    redis.call('SELECT', args[i])
    local last = i + 2 + 2 * tonumber(args[i + 1])
    i = i + 2
    while i < last do
      redis.call('SET', args[i], args[i + 1])
      i = i + 2
    end
  end
  return redis.status_reply('OK')
end)`,
]);

const FCALL_HEAD = [encoder.encode("FCALL"), encoder.encode("codis_mset"), encoder.encode("0")];
const ONE = encoder.encode("1");
const DB_ARGS: Uint8Array[] = [];
function dbArg(db: number): Uint8Array {
  return DB_ARGS[db] ??= encoder.encode(String(db));
}

/** Loads the function on a connection that just connected (BackendOptions.onConnected); marks it usable on success. */
export function loadMsetFunction(conn: BackendConn): void {
  conn.send(-1, LOAD_MSET_FUNCTION, {
    onReply(raw) {
      conn.functionsLoaded = !isErrorReply(raw);
    },
    onError() {},
  });
}

/** Reused scratch: which connection each pair goes to, and whether it was sent. */
let scratchConn: (BackendConn | null)[] = new Array(64).fill(null);
let scratchPos = new Int32Array(64);
const scratchRef: KeyRef = { argv: [], pos: scratchPos, n: 0 };

/**
 * Sends an MSET whose `nkeys` pairs (`slots[i]`: the slot of pair i) span several slots as one FCALL per backend
 * connection. Returns false, having sent nothing, when any slot is not at rest or any connection lacks the function:
 * the caller then splits it by slot. `send` is the split path, used for a call the server refused.
 */
export function sendMsetGrouped(
  router: Router,
  argv: Uint8Array[],
  slots: Int32Array,
  nkeys: number,
  req: Request,
  send: SlotSender,
  countSent: ((slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef) => void) | null,
): boolean {
  if (router.leaseExpired) return false;
  if (scratchConn.length < nkeys) {
    scratchConn = new Array(nkeys * 2).fill(null);
    scratchRef.pos = scratchPos = new Int32Array(nkeys * 2);
  }
  const conns = scratchConn;
  for (let i = 0; i < nkeys; i++) {
    const route = router.slots[slots[i]];
    const pool = route.backend;
    if (pool === null || route.locked || route.migrateFrom !== null || route.moving > 0) return clear(nkeys);
    const conn = pool.connFor(route.id);
    if (!conn.functionsLoaded || conn.state !== "connected") return clear(nkeys);
    conns[i] = conn;
  }
  let parts = 0;
  for (let i = 0; i < nkeys; i++) if (!seenBefore(conns, i)) parts++;
  const join = new SplitJoin("mset", nkeys, parts, req);
  scratchRef.argv = argv;
  for (let i = 0; i < nkeys; i++) {
    if (seenBefore(conns, i)) continue;
    const conn = conns[i]!;
    let n = 0;
    let oneSlot = true;
    for (let j = i; j < nkeys; j++) {
      if (conns[j] !== conn) continue;
      scratchPos[n++] = 1 + j * 2;
      if (slots[j] !== slots[i]) oneSlot = false;
    }
    const raw = oneSlot ? encodeMset(argv, n) : encodeFcall(argv, slots, n);
    const part = new FcallPart(join, n, raw, send, oneSlot ? null : conn);
    if (countSent !== null) {
      scratchRef.n = 1;
      for (let k = 0; k < n; k++) {
        scratchRef.pos = scratchPos.subarray(k);
        countSent(slots[(scratchPos[k] - 1) / 2], raw, part, scratchRef);
      }
      scratchRef.pos = scratchPos;
    }
    conn.send(oneSlot ? slots[i] : -1, raw, part);
  }
  clear(nkeys);
  return true;
}

function clear(nkeys: number): false {
  scratchConn.fill(null, 0, nkeys);
  return false;
}

function seenBefore(conns: (BackendConn | null)[], i: number): boolean {
  const c = conns[i];
  for (let j = 0; j < i; j++) if (conns[j] === c) return true;
  return false;
}

/** `MSET k v ...` of the `n` pairs at `scratchPos`, all in one slot. */
function encodeMset(argv: Uint8Array[], n: number): Uint8Array {
  let size = 1 + digits(1 + 2 * n) + 2 + bulkSize(argv[0]);
  for (let k = 0; k < n; k++) size += bulkSize(argv[scratchPos[k]]) + bulkSize(argv[scratchPos[k] + 1]);
  const out = new Uint8Array(size);
  let off = writeArrayHeader(out, 0, 1 + 2 * n);
  off = writeBulk(out, off, argv[0]);
  for (let k = 0; k < n; k++) {
    off = writeBulk(out, off, argv[scratchPos[k]]);
    off = writeBulk(out, off, argv[scratchPos[k] + 1]);
  }
  return out;
}

/** `FCALL codis_mset 0` then `db 1 key value` for each of the `n` pairs at `scratchPos`, in the client's order. */
function encodeFcall(argv: Uint8Array[], slots: Int32Array, n: number): Uint8Array {
  const argc = 3 + 4 * n;
  let size = 1 + digits(argc) + 2;
  for (const h of FCALL_HEAD) size += bulkSize(h);
  for (let k = 0; k < n; k++) {
    const p = scratchPos[k];
    size += bulkSize(dbArg(slots[(p - 1) / 2])) + bulkSize(ONE) + bulkSize(argv[p]) + bulkSize(argv[p + 1]);
  }
  const out = new Uint8Array(size);
  let off = writeArrayHeader(out, 0, argc);
  for (const h of FCALL_HEAD) off = writeBulk(out, off, h);
  for (let k = 0; k < n; k++) {
    const p = scratchPos[k];
    off = writeBulk(out, off, dbArg(slots[(p - 1) / 2]));
    off = writeBulk(out, off, ONE);
    off = writeBulk(out, off, argv[p]);
    off = writeBulk(out, off, argv[p + 1]);
  }
  return out;
}

/** The server does not have the function (flushed, or refused by ACL): the pairs are sent again by the split path. */
function refusedFunction(raw: Uint8Array): boolean {
  const text = errorText(raw);
  return text.includes("Function not found") || text.startsWith("NOPERM") || text.startsWith("ERR unknown command");
}

/** One connection's FCALL (or MSET) of a grouped MSET. */
class FcallPart implements PendingReply {
  #inner: SplitPart;
  constructor(
    private readonly join: SplitJoin,
    private readonly n: number,
    private readonly raw: Uint8Array,
    private readonly send: SlotSender,
    /** The connection an FCALL went on; null for a plain MSET of one slot. */
    private readonly conn: BackendConn | null,
  ) {
    this.#inner = new SplitPart(join, null, n);
  }

  onReply(raw: Uint8Array): void {
    if (this.conn !== null && isErrorReply(raw) && refusedFunction(raw)) {
      this.conn.functionsLoaded = false;
      loadMsetFunction(this.conn);
      return this.#resend();
    }
    this.#inner.onReply(raw);
  }

  onError(msg: string): void {
    this.#inner.onError(msg);
  }

  /** Sends each pair of the FCALL as `MSET key value` by the split path (the keys are read back from our own bytes). */
  #resend(): void {
    const args = bulksOf(this.raw);
    this.join.waiting += this.n - 1;
    const ref: KeyRef = { argv: args, pos: new Int32Array([1]), n: 1 };
    const decoder = new TextDecoder();
    for (let k = 0; k < this.n; k++) {
      const db = Number(decoder.decode(args[3 + 4 * k]));
      const pair = [encoder.encode("MSET"), args[5 + 4 * k], args[6 + 4 * k]];
      ref.argv = pair;
      this.send(db, encodeCommand(pair), new SplitPart(this.join, null, 1), ref);
    }
  }
}

/** The bulk arguments of a command this file encoded. */
function bulksOf(raw: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = raw.indexOf(10) + 1;
  while (off < raw.length) {
    const eol = raw.indexOf(13, off);
    let len = 0;
    for (let i = off + 1; i < eol; i++) len = len * 10 + raw[i] - 48;
    out.push(raw.subarray(eol + 2, eol + 2 + len));
    off = eol + 2 + len + 2;
  }
  return out;
}
