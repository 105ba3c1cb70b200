/**
 * When the dashboard replaces a lost master itself (`promote_after_master_down` > 0, and only while the product has
 * no sentinels, which decide otherwise): a group's master that has not answered for that long is promoted away from.
 * Pure: the caller passes which servers answered this round and keeps `downSince` between rounds.
 * @module
 */
import type { Context } from "./context.ts";

/**
 * Updates `downSince` (master address → ms when first seen down) from this round's `answered` and returns the
 * groups whose master has been down for at least `afterMs`. Groups promoting, without a replica, or a product with
 * sentinels are left alone; a master that answers again is forgotten.
 */
export function groupsWithLostMaster(
  ctx: Context,
  answered: ReadonlyMap<string, boolean>,
  downSince: Map<string, number>,
  now: number,
  afterMs: number,
): number[] {
  const masters = new Set<string>();
  const out: number[] = [];
  const sentinels = (ctx.sentinel.servers ?? []).length > 0;
  for (const g of ctx.groups.values()) {
    if (g.servers.length < 2 || g.promoting.state) continue;
    const master = g.servers[0].server;
    masters.add(master);
    const up = answered.get(master);
    if (up === undefined) continue; // not polled this round
    if (up) {
      downSince.delete(master);
      continue;
    }
    const since = downSince.get(master) ?? now;
    downSince.set(master, since);
    if (!sentinels && afterMs > 0 && now - since >= afterMs) out.push(g.id);
  }
  for (const addr of downSince.keys()) if (!masters.has(addr)) downSince.delete(addr);
  return out;
}
