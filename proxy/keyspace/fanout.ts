/**
 * Helpers for commands that go to every master, or to every slot on the master serving it: the proxy's own
 * queries, sent on the shared backend connections (they never block).
 * @module
 */
import type { BackendPool, SlotRoute } from "../forward/router.ts";
import type { ProxyCore } from "../core/core.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";

/**
 * Every backend a slot routes to (targets and migration sources): the masters of the cluster. Not every pool: with
 * replica reads the router also holds pools of replicas, which must not get FLUSHALL, SCRIPT LOAD or CONFIG GET.
 */
export function masters(core: ProxyCore): BackendPool[] {
  const out = new Set<BackendPool>();
  for (const r of core.router.slots) {
    if (r.backend !== null) out.add(r.backend);
    if (r.migrateFrom !== null) out.add(r.migrateFrom);
  }
  return [...out];
}

/** Sends the same command to every master; resolves with their raw replies, in `masters` order. */
export async function callEveryMaster(core: ProxyCore, args: (string | Uint8Array)[]): Promise<Uint8Array[]> {
  const pools = masters(core);
  if (pools.length === 0) throw new Error("ERR no backend serves any slot yet");
  const settled = await Promise.allSettled(pools.map((p) => p.connFor(0).call(0, args)));
  return settled.map((s, i) => {
    if (s.status === "rejected") throw new Error(`ERR backend ${pools[i].addr}: ${(s.reason as Error).message}`);
    return s.value;
  });
}

/** The first error reply among `replies`, or null. */
export function firstError(replies: Uint8Array[]): Uint8Array | null {
  for (const r of replies) if (isErrorReply(r)) return r;
  return null;
}

/** Sends a command to database `slot` of one pool; resolves with the raw reply. */
export function callSlot(pool: BackendPool, slot: number, args: (string | Uint8Array)[]): Promise<Uint8Array> {
  return pool.connFor(slot).call(slot, args);
}

/** The pools holding a slot's keys right now: the migration source first (keys only move source → target). */
export function slotHolders(route: SlotRoute): BackendPool[] {
  if (route.backend === null) return [];
  return route.migrateFrom !== null && route.migrateFrom !== route.backend
    ? [route.migrateFrom, route.backend]
    : [route.backend];
}

/** Throws the error text of an error reply (for async handlers whose failures become `-ERR` replies). */
export function throwIfError(raw: Uint8Array, what: string): Uint8Array {
  if (isErrorReply(raw)) throw new Error(`${what}: ${errorText(raw)}`);
  return raw;
}
