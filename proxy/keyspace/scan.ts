/**
 * SCAN over the whole keyspace, slot by slot. The cursor the client sees packs the slot, a phase and the inner
 * cursor of the slot's database: `cursor = (inner << 11) | (phase << 10) | slot`.
 *
 * Each slot is scanned on the master serving it at the time of each call. While a slot migrates, its keys are on
 * two servers and only ever move from the source to the target, so the source is scanned first (phase 0) and the
 * target after it (phase 1): a key that exists for the whole iteration is either still on the source when the
 * source scan passes it, or already on the target before the target scan starts. Hence a full iteration returns
 * every such key at least once, as Redis's SCAN guarantees, whatever the dashboard does meanwhile.
 * @module
 */
import { MAX_SLOT_NUM } from "../../models/slots.ts";
import type { ProxyCore } from "../core.ts";
import type { BackendPool } from "../router.ts";
import { arrayElements, errorText, isErrorReply } from "../../redis/decode.ts";
import { bulkReply, concat } from "../../redis/encode.ts";
import { parseIntStrict } from "../../util/bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Slots whose first SCAN is sent in parallel, so that empty slots cost one round trip per batch. */
const BATCH = 64;
/** Most slot visits in one SCAN call, to bound its latency on a sparse keyspace. */
const MAX_VISITS = 1024;

/** A position in the iteration. */
export interface ScanPos {
  slot: number;
  /** 0: the migration source (or the slot's start); 1: the slot's current master. */
  phase: number;
  inner: bigint;
}

/** Decodes a client cursor; null when it is not an unsigned decimal integer. */
export function decodeCursor(arg: Uint8Array): ScanPos | null {
  const s = dec.decode(arg);
  if (!/^\d{1,20}$/.test(s)) return null;
  const v = BigInt(s);
  if (v >= 1n << 64n) return null;
  return { slot: Number(v & 1023n), phase: Number((v >> 10n) & 1n), inner: v >> 11n };
}

/** Encodes a position; the end of the iteration is "0". */
export function encodeCursor(p: ScanPos | null): string {
  if (p === null) return "0";
  return ((p.inner << 11n) | (BigInt(p.phase) << 10n) | BigInt(p.slot)).toString();
}

interface Visit {
  slot: number;
  phase: number;
  inner: bigint;
  pool: BackendPool;
}

/** Where a position is scanned now, or null when the slot has no backend (skipped). */
function plan(core: ProxyCore, p: ScanPos): Visit | null {
  const route = core.router.slots[p.slot];
  if (route.backend === null) return null;
  const src = route.migrateFrom !== null && route.migrateFrom !== route.backend ? route.migrateFrom : null;
  if (p.phase === 0) {
    if (src !== null) return { slot: p.slot, phase: 0, inner: p.inner, pool: src };
    // The migration ended since the last call: its source cursor means nothing on the target, restart there.
    return { slot: p.slot, phase: 1, inner: 0n, pool: route.backend };
  }
  return { slot: p.slot, phase: 1, inner: p.inner, pool: route.backend };
}

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. */
export async function scanCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  let pos = decodeCursor(argv[1]);
  if (pos === null) return enc.encode("-ERR invalid cursor\r\n");
  let count = 10;
  for (let i = 2; i < argv.length; i += 2) {
    const opt = dec.decode(argv[i]).toUpperCase();
    if (i + 1 >= argv.length || (opt !== "MATCH" && opt !== "COUNT" && opt !== "TYPE")) {
      return enc.encode("-ERR syntax error\r\n");
    }
    if (opt === "COUNT") {
      const n = parseIntStrict(argv[i + 1], 0, argv[i + 1].length);
      if (n === null) return enc.encode("-ERR value is not an integer or out of range\r\n");
      if (n < 1) return enc.encode("-ERR syntax error\r\n");
      count = n;
    }
  }
  const opts = argv.slice(2);
  const keys: Uint8Array[] = [];
  let visits = 0;
  while (pos !== null && keys.length < count && visits < MAX_VISITS) {
    const batch: Visit[] = [];
    let skipTo = -1;
    for (let s = pos.slot, first = true; s < MAX_SLOT_NUM && batch.length < BATCH; s++, first = false) {
      const v = plan(core, first ? pos : { slot: s, phase: 0, inner: 0n });
      if (v === null) {
        skipTo = s + 1;
        if (batch.length === 0) continue;
        break;
      }
      batch.push(v);
      if (v.inner !== 0n || v.phase === 0) break; // mid-slot or a migrating slot: one visit at a time
    }
    if (batch.length === 0) {
      pos = skipTo >= MAX_SLOT_NUM || skipTo < 0 ? null : { slot: skipTo, phase: 0, inner: 0n };
      continue;
    }
    const replies = await Promise.all(
      batch.map((v) => v.pool.connFor(v.slot).call(v.slot, ["SCAN", v.inner.toString(), ...opts])),
    );
    let next: ScanPos | null = null;
    for (let i = 0; i < batch.length; i++) {
      const v = batch[i];
      const raw = replies[i];
      visits++;
      if (isErrorReply(raw)) {
        const text = errorText(raw);
        // Option errors are the client's (same text as Redis); anything else names the backend.
        return enc.encode(`-${text.startsWith("ERR") ? text : `ERR backend ${v.pool.addr}: ${text}`}\r\n`);
      }
      const parts = arrayElements(raw);
      const ks = parts && parts.length === 2 ? arrayElements(parts[1]) : null;
      if (ks === null) return enc.encode(`-ERR unexpected SCAN reply from backend ${v.pool.addr}\r\n`);
      for (const k of ks) keys.push(k);
      const cur = dec.decode(parts![0].subarray(parts![0].indexOf(10) + 1, parts![0].length - 2));
      const inner = BigInt(cur);
      if (inner !== 0n) {
        next = { slot: v.slot, phase: v.phase, inner };
        break;
      }
      if (v.phase === 0) {
        next = { slot: v.slot, phase: 1, inner: 0n };
        break;
      }
      next = v.slot + 1 < MAX_SLOT_NUM ? { slot: v.slot + 1, phase: 0, inner: 0n } : null;
      if (keys.length >= count) break;
    }
    pos = next;
  }
  return concat([enc.encode("*2\r\n"), bulkReply(encodeCursor(pos)), enc.encode(`*${keys.length}\r\n`), ...keys]);
}
