/**
 * Per-database key counts of the backends, read from `INFO keyspace`: with one database per slot, this is the
 * per-slot key count.
 * @module
 */
import type { ProxyCore } from "../core.ts";
import { decodeReply, errorText, isErrorReply, textOf } from "../../redis/decode.ts";

/** Keys and keys-with-expiry of one database. */
export interface DbKeys {
  keys: number;
  expires: number;
}

/** Parses the text of `INFO keyspace` into database → counts. */
export function parseKeyspace(text: string): Map<number, DbKeys> {
  const out = new Map<number, DbKeys>();
  for (const line of text.split("\n")) {
    const m = /^db(\d+):keys=(\d+),expires=(\d+)/.exec(line.trim());
    if (m) out.set(Number(m[1]), { keys: Number(m[2]), expires: Number(m[3]) });
  }
  return out;
}

/** Key counts per slot, each read from the master currently serving the slot. Slots without keys are absent. */
export async function slotKeyCounts(core: ProxyCore): Promise<Map<number, DbKeys>> {
  const byAddr = new Map<string, Promise<Map<number, DbKeys>>>();
  for (const pool of core.router.pools.values()) {
    byAddr.set(
      pool.addr,
      pool.conns[0].call(0, ["INFO", "keyspace"]).then((raw) => {
        if (isErrorReply(raw)) throw new Error(`backend ${pool.addr}: ${errorText(raw)}`);
        return parseKeyspace(textOf(decodeReply(raw)));
      }),
    );
  }
  // Settle all of them before reading any, so that one failure leaves no other rejection unhandled.
  const settled = new Map<string, Map<number, DbKeys>>();
  await Promise.all([...byAddr].map(async ([addr, p]) => settled.set(addr, await p)));
  const out = new Map<number, DbKeys>();
  for (const route of core.router.slots) {
    const addr = route.backend?.addr;
    if (!addr) continue;
    const counts = settled.get(addr)!;
    const c = counts.get(route.id);
    if (c) out.set(route.id, c);
  }
  return out;
}
