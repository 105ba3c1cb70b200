/**
 * Codis 3's slot-count rebalance (`SlotsRebalance`): compute which slots move where so that every group with
 * servers owns ⌊1024/n⌋ or ⌈1024/n⌉ slots, moving as few as possible, then (on confirm) queue the moves.
 * @module
 */
import { MAX_SLOT_NUM } from "../models/mod.ts";
import { type Context, TopomError, type Write } from "./context.ts";

/** A rebalance plan: slot id → target group id (the API's `{"<sid>": gid}`). */
export type RebalancePlan = Record<number, number>;

/**
 * Computes the rebalance plan for the current model. Slots that already have an action count for their target
 * and are left alone; offline slots go to the smallest groups; then one slot at a time moves from the largest
 * group to the smallest until sizes are within one, or the largest is at ⌊1024/n⌋, or the smallest at ⌈1024/n⌉.
 * Givers give their highest-numbered slots; all moved slots, ascending, are dealt to receivers by ascending id.
 */
export function computeRebalance(ctx: Context): RebalancePlan {
  const groupIds = [...ctx.groups.values()].filter((g) => g.servers.length > 0).map((g) => g.id).sort((a, b) => a - b);
  if (groupIds.length === 0) throw new TopomError("no valid group could be found");
  const assigned = new Map<number, number>();
  const pendings = new Map<number, number[]>();
  const moveout = new Map<number, number>();
  const docking: number[] = [];
  const get = (m: Map<number, number>, gid: number) => m.get(gid) ?? 0;
  const size = (gid: number) => get(assigned, gid) + (pendings.get(gid)?.length ?? 0) - get(moveout, gid);

  for (const m of ctx.slots) {
    if (m.action.state) assigned.set(m.action.target_id ?? 0, get(assigned, m.action.target_id ?? 0) + 1);
  }
  const lower = Math.floor(MAX_SLOT_NUM / groupIds.length);
  for (const m of ctx.slots) {
    if (m.action.state || m.group_id === 0) continue;
    if (size(m.group_id) < lower) {
      assigned.set(m.group_id, get(assigned, m.group_id) + 1);
    } else {
      const list = pendings.get(m.group_id) ?? [];
      list.push(m.id);
      pendings.set(m.group_id, list);
    }
  }

  // Codis keeps the groups in a tree ordered by (size, id); a linear scan over a set picks the same ends.
  const tree = new Set(groupIds);
  const cmp = (a: number, b: number) => (size(a) - size(b)) || (a - b);
  const smallest = () => [...tree].reduce((x, y) => cmp(x, y) <= 0 ? x : y);
  const largest = () => [...tree].reduce((x, y) => cmp(x, y) >= 0 ? x : y);

  for (const m of ctx.slots) {
    if (m.action.state || m.group_id !== 0) continue;
    const dest = smallest();
    docking.push(m.id);
    moveout.set(dest, get(moveout, dest) - 1);
  }

  const upper = Math.ceil(MAX_SLOT_NUM / groupIds.length);
  while (tree.size >= 2) {
    const from = largest();
    tree.delete(from);
    if ((pendings.get(from)?.length ?? 0) === get(moveout, from)) continue;
    const dest = smallest();
    const fromSize = size(from);
    const destSize = size(dest);
    if (fromSize <= lower || destSize >= upper || fromSize - destSize <= 1) break;
    moveout.set(from, get(moveout, from) + 1);
    moveout.set(dest, get(moveout, dest) - 1);
    tree.add(from);
  }

  for (const [gid, n] of moveout) {
    if (n < 0) continue;
    if (n > 0) {
      const sids = [...(pendings.get(gid) ?? [])].sort((a, b) => b - a);
      docking.push(...sids.slice(0, n));
      pendings.set(gid, sids.slice(n));
    }
    moveout.delete(gid);
  }
  docking.sort((a, b) => a - b);
  const plan: RebalancePlan = {};
  let next = 0;
  for (const gid of groupIds) {
    const n = -get(moveout, gid);
    for (let i = 0; i < n && next < docking.length; i++) plan[docking[next++]] = gid;
  }
  return plan;
}

/**
 * Queues a pending action for every entry of `plan`, in ascending slot id with increasing action indexes
 * (the API's confirm = 1). Fails without writing anything when a slot already has an action or a target group
 * is missing or empty.
 */
export function queueRebalancePlan(ctx: Context, plan: RebalancePlan): Write[] {
  const sids = Object.keys(plan).map(Number).sort((a, b) => a - b);
  let index = ctx.maxSlotActionIndex();
  const writes: Write[] = [];
  for (const sid of sids) {
    const gid = plan[sid];
    const m = ctx.getSlotMapping(sid);
    if (m.action.state) throw new TopomError(`slot-[${sid}] action already exists`);
    const g = ctx.getGroup(gid);
    if (g.servers.length === 0) throw new TopomError(`group-[${gid}] is empty`);
    if (m.group_id === gid) throw new TopomError(`slot-[${sid}] already in group-[${gid}]`);
    index++;
    writes.push({
      kind: "slot",
      slot: { id: sid, group_id: m.group_id, action: { index, state: "pending", target_id: gid } },
    });
  }
  return writes;
}

/** `PUT /api/topom/slots/rebalance/:xauth/:confirm`: the plan, plus the writes that queue it when confirmed. */
export function slotsRebalance(ctx: Context, confirm: boolean): { plan: RebalancePlan; writes: Write[] } {
  const plan = computeRebalance(ctx);
  return { plan, writes: confirm ? queueRebalancePlan(ctx, plan) : [] };
}

/** A run of consecutive slots going to one group. */
export interface PlanRange {
  beg: number;
  end: number;
  gid: number;
}

/** Groups a plan into runs of consecutive slot ids with the same target, ascending. */
export function planRanges(plan: RebalancePlan): PlanRange[] {
  const out: PlanRange[] = [];
  for (const sid of Object.keys(plan).map(Number).sort((a, b) => a - b)) {
    const gid = plan[sid];
    const last = out[out.length - 1];
    if (last && last.gid === gid && last.end === sid - 1) last.end = sid;
    else out.push({ beg: sid, end: sid, gid });
  }
  return out;
}

/** codis-admin's rebalance preview lines: `[0000,0255] => 1`, or `nothing changes` for an empty plan. */
export function formatPlan(plan: RebalancePlan): string[] {
  const ranges = planRanges(plan);
  if (ranges.length === 0) return ["nothing changes"];
  const pad = (n: number) => String(n).padStart(4, "0");
  return ranges.map((r) => `[${pad(r.beg)},${pad(r.end)}] => ${r.gid}`);
}
