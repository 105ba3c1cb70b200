/**
 * Sentinel reports older than the model, pure. A manual promotion changes a group's master without any sentinel
 * failover (no new config-epoch) and removes the group from every sentinel (`SENTINEL REMOVE`, best effort). A
 * sentinel that was down then comes back still monitoring the old master: following its report would undo the
 * promotion, and the sentinel itself would soon turn the promoted server back into a replica (`+convert-to-slave`),
 * losing the writes made to it. Such a report names another master than the model's with a config-epoch no newer
 * than the one the sentinels had when they last agreed with the model, or than the one the promotion stored
 * (sentinel_fence.ts): it predates the model's master. A genuine failover always carries a newer epoch. The dashboard
 * re-syncs that sentinel's group and ignores the report.
 * @module
 */
import { hostOf } from "./context.ts";
import { parseSentinelGroupName } from "./sentinel_plan.ts";

/** One sentinel's report on one group that predates the model's master. */
export interface StaleReport {
  /** Index of the sentinel in the replies. */
  sentinel: number;
  gid: number;
  /** Sentinel master name, `{product}-{gid}`. */
  name: string;
  /** The master it reports, and the config-epoch of that view. */
  reported: string;
  epoch: number;
}

/** Output of {@link screenSentinelReports}. */
export interface ScreenedReports {
  /** The replies without the stale reports (what the choice of masters may use). */
  replies: (Record<string, string>[] | null)[];
  stale: StaleReport[];
  /** Per group: the highest config-epoch of a report that agreed with the model's master (carried to the next check). */
  agreedEpochs: Map<number, number>;
}

/**
 * Whether a server the model names `model` is the one a sentinel reports as `reported`: sentinels name servers by IP,
 * the model may name them `localhost:port` (as sentinelMonitorPlan resolves it).
 */
export function sameServer(model: string, reported: string): boolean {
  if (model === reported) return true;
  return hostOf(model) === "localhost" && `127.0.0.1${model.slice(model.lastIndexOf(":"))}` === reported;
}

/**
 * Splits the sentinels' `SENTINEL MASTERS` replies (null: no answer) into usable and stale reports. `modelMasters`
 * are the groups' masters when the sentinels were asked; `agreedEpochs` what the previous checks learnt; `fenceEpochs`
 * the stored fences of the dashboard's own promotions (sentinel_fence.ts `sentinelFenceEpochs`, read with
 * `modelMasters`). A group whose epoch is known neither way (a dashboard that just took over, no promotion since) is
 * never judged stale: its reports are followed as Codis does.
 */
export function screenSentinelReports(
  product: string,
  modelMasters: ReadonlyMap<number, string>,
  replies: readonly (readonly Record<string, string>[] | null)[],
  agreedEpochs: ReadonlyMap<number, number>,
  fenceEpochs: ReadonlyMap<number, number> = new Map(),
): ScreenedReports {
  const view = (m: Record<string, string>) => {
    const gid = parseSentinelGroupName(product, m.name ?? "");
    const model = gid === undefined ? undefined : modelMasters.get(gid);
    if (gid === undefined || model === undefined || !m.ip || !m.port) return undefined;
    const reported = `${m.ip}:${m.port}`;
    // A sentinel failing the master over already carries the new epoch while it still names the old master: such a view
    // must not teach the epoch, or the failover it is finishing would look no newer than the model and be ignored.
    const settled = !/(^|,)(s_down|o_down|failover_in_progress|promoted)(,|$)/.test(m.flags ?? "");
    const epoch = Number(m["config-epoch"] ?? 0) || 0;
    return { gid, reported, agrees: sameServer(model, reported), settled, epoch };
  };
  // What the sentinels that agree with the model say now counts as much as what earlier checks learnt.
  const agreed = new Map(agreedEpochs);
  for (const reply of replies) {
    for (const m of reply ?? []) {
      const v = view(m);
      if (v?.agrees && v.settled) agreed.set(v.gid, Math.max(agreed.get(v.gid) ?? 0, v.epoch));
    }
  }
  const stale: StaleReport[] = [];
  const out = replies.map((reply, sentinel) =>
    reply === null ? null : reply.filter((m) => {
      const v = view(m);
      if (!v || v.agrees) return true;
      const learnt = agreed.get(v.gid);
      const fence = fenceEpochs.get(v.gid);
      const known = learnt === undefined ? fence : fence === undefined ? learnt : Math.max(learnt, fence);
      if (known === undefined || v.epoch > known) return true;
      stale.push({ sentinel, gid: v.gid, name: m.name, reported: v.reported, epoch: v.epoch });
      return false;
    })
  );
  return { replies: out, stale, agreedEpochs: agreed };
}
