/**
 * Fencing sentinel views that predate the dashboard's own master changes, pure. A promotion (`group/promote`) makes a
 * replica master without any Sentinel failover: no sentinel's `config-epoch` moves, and the promotion removes the
 * group from every sentinel it reaches (`SENTINEL REMOVE`). A sentinel it did not reach (down, cut off) keeps naming
 * the old master, and following that view would undo the promotion and lose the writes made to the promoted server.
 *
 * The dashboard's memory of the sentinels' epochs (sentinel_staleness.ts) cannot judge such a view when it learnt
 * nothing yet: no check ran between `sentinels/resync-all` and the promotion, or the dashboard restarted or another one
 * took over since. So the promotion stores, in the same write that names the new master, the highest `config-epoch`
 * the sentinels had for the group just before it removed the group from them ({@link Group.sentinel_fence}). A view
 * naming another master than the model's with an epoch no newer than that predates the promotion; a genuine failover
 * after it always carries a newer epoch (Sentinel bumps its current epoch for each one), so it is still followed.
 * When no sentinel answered at the promotion, no such view is followed until the sentinels are re-synced.
 * `sentinels/resync-all` makes every sentinel monitor the model's masters afresh, which ends every fence.
 * @module
 */
import type { Group, SentinelFence } from "../models/mod.ts";
import type { Context, Write } from "./context.ts";
import { parseSentinelGroupName } from "./sentinel_plan.ts";

/**
 * The fence a promotion of group `gid` stores: the highest `config-epoch` any of `reports` (each sentinel's
 * `SENTINEL MASTERS` reply taken just before its `SENTINEL REMOVE`; null for one that did not answer) gives the
 * group, and the epoch of the fence the group already has. An existing fence without an epoch stays so (sentinels
 * that missed the earlier promotion may hold any epoch); a group no answering sentinel monitors keeps the epoch it
 * had, or gets a fence without one.
 */
export function promotionFence(
  product: string,
  gid: number,
  reports: readonly (readonly Record<string, string>[] | null)[],
  previous: SentinelFence | undefined,
): SentinelFence {
  if (previous && previous.epoch === undefined) return {};
  let epoch = previous?.epoch;
  for (const reply of reports) {
    for (const m of reply ?? []) {
      if (parseSentinelGroupName(product, m.name ?? "") !== gid) continue;
      const e = Number(m["config-epoch"] ?? 0);
      const known = Number.isSafeInteger(e) && e >= 0 ? e : 0;
      epoch = Math.max(epoch ?? 0, known);
    }
  }
  return epoch === undefined ? {} : { epoch };
}

/** `writes` with `fence` stored on each write of group `gid` (the promotion's write that names the new master). */
export function withSentinelFence(writes: readonly Write[], gid: number, fence: SentinelFence): Write[] {
  return writes.map((w) =>
    w.kind === "group" && w.group.id === gid ? { kind: "group", group: { ...w.group, sentinel_fence: fence } } : w
  );
}

/**
 * Per fenced group, the epoch up to which a sentinel view naming another master than the model's predates the
 * model's master: the fence's epoch, or Infinity for a fence without one.
 */
export function sentinelFenceEpochs(groups: Iterable<Group>): Map<number, number> {
  const out = new Map<number, number>();
  for (const g of groups) {
    if (g.sentinel_fence) out.set(g.id, g.sentinel_fence.epoch ?? Number.POSITIVE_INFINITY);
  }
  return out;
}

/** The writes that end every fence, for `sentinels/resync-all` once each sentinel monitors the model's masters. */
export function clearSentinelFences(ctx: Context): Write[] {
  const out: Write[] = [];
  for (const g of ctx.groups.values()) {
    if (!g.sentinel_fence) continue;
    const { sentinel_fence: _, ...rest } = g;
    out.push({ kind: "group", group: rest });
  }
  return out;
}
