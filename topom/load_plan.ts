/**
 * Rebalancing by load: which slots to move so that the groups carry about the same load (ops/s, bytes/s or keys,
 * measured per slot by the proxies or the servers), within a number of moves. Codis's rebalance evens out slot
 * counts whatever traffic they carry; this evens out the traffic. A pure function of the model and the per-slot
 * loads: {@link planLoadMoves} returns the moves and the expected load per group, and {@link loadRebalance} the
 * writes that queue them (the existing slot-move machinery runs them, as for `slots/rebalance`).
 * @module
 */
import { MAX_SLOT_NUM } from "../models/mod.ts";
import { type Context, TopomError, type Write } from "./context.ts";
import { queueRebalancePlan, type RebalancePlan } from "./rebalance.ts";

/** What a load plan evens out. */
export type LoadMeasure = "load" | "bytes" | "keys";

/** One planned move. */
export interface LoadMove {
  slot: number;
  from: number;
  to: number;
  /** The slot's load (the measure's unit). */
  load: number;
}

/** A slot carrying more than a group's fair share on its own: moving it would only move the problem. */
export interface HotSlot {
  slot: number;
  group: number;
  load: number;
}

/** The plan, as `PUT /api/topom/slots/rebalance-load/...` answers it. */
export interface LoadPlan {
  by: LoadMeasure;
  /** The unit of the loads: "ops/s", "bytes/s" or "keys". */
  unit: string;
  max_moves: number;
  moves: LoadMove[];
  /** Load per group id now, and once the moves are done. */
  before: Record<string, number>;
  after: Record<string, number>;
  /** The total divided by the number of groups: what each group should carry. */
  target: number;
  hot_slots: HotSlot[];
  /** Why planning stopped: "balanced", "max moves", "no better move", or "no load". */
  stopped: string;
}

/** Inputs of {@link planLoadMoves}. */
export interface LoadPlanInput {
  /** Group of each slot (index = slot id); 0 = offline. */
  slotGroup: ArrayLike<number>;
  /** Load of each slot (index = slot id). */
  slotLoad: ArrayLike<number>;
  /** Groups that may receive slots (those with servers). */
  groups: number[];
  /** Slots that must stay where they are (a pending or running action). */
  pinned?: ReadonlySet<number>;
  maxMoves: number;
  /** Stop once the most and least loaded groups differ by at most this fraction of the target (default 0.05). */
  tolerance?: number;
}

const UNITS: Record<LoadMeasure, string> = { load: "ops/s", bytes: "bytes/s", keys: "keys" };

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Plans up to `maxMoves` slot moves. Each step takes the most and the least loaded group and moves, from the first to
 * the second, the slot whose load is nearest half their difference (and below all of it, so the step always
 * narrows the gap): the largest improvement a single move can make. It stops when the two are within `tolerance` of
 * the target, when no slot improves, or at `maxMoves`. Slots hotter than the target are never moved, and named.
 */
export function planLoadMoves(input: LoadPlanInput, by: LoadMeasure = "load"): LoadPlan {
  const { slotGroup, slotLoad, maxMoves } = input;
  const tolerance = input.tolerance ?? 0.05;
  const groups = [...new Set(input.groups)].sort((a, b) => a - b);
  const load = new Map<number, number>(groups.map((g) => [g, 0]));
  const members = new Map<number, number[]>(groups.map((g) => [g, []]));
  let total = 0;
  for (let s = 0; s < slotGroup.length; s++) {
    const g = slotGroup[s];
    const l = slotLoad[s] ?? 0;
    if (!load.has(g)) continue; // offline, or a group without servers
    load.set(g, load.get(g)! + l);
    total += l;
    members.get(g)!.push(s);
  }
  const before = Object.fromEntries(groups.map((g) => [String(g), round2(load.get(g)!)]));
  const target = groups.length > 0 ? total / groups.length : 0;
  const hot: HotSlot[] = [];
  for (let s = 0; s < slotGroup.length; s++) {
    if (load.has(slotGroup[s]) && groups.length > 1 && (slotLoad[s] ?? 0) > target) {
      hot.push({ slot: s, group: slotGroup[s], load: round2(slotLoad[s]) });
    }
  }
  const hotSet = new Set(hot.map((h) => h.slot));
  const moves: LoadMove[] = [];
  const moved = new Set<number>();
  let stopped = "max moves";
  if (total <= 0 || groups.length < 2) stopped = total <= 0 ? "no load" : "balanced";
  while (stopped === "max moves" && moves.length < maxMoves) {
    let from = groups[0];
    let to = groups[0];
    for (const g of groups) {
      const l = load.get(g)!;
      if (l > load.get(from)! || (l === load.get(from)! && g < from)) from = g;
      if (l < load.get(to)! || (l === load.get(to)! && g < to)) to = g;
    }
    const gap = load.get(from)! - load.get(to)!;
    if (gap <= tolerance * target) {
      stopped = "balanced";
      break;
    }
    let best = -1;
    let bestScore = Infinity;
    for (const s of members.get(from)!) {
      const l = slotLoad[s] ?? 0;
      if (l <= 0 || l >= gap || moved.has(s) || hotSet.has(s) || input.pinned?.has(s)) continue;
      const score = Math.abs(gap / 2 - l);
      if (score < bestScore || (score === bestScore && s < best)) {
        best = s;
        bestScore = score;
      }
    }
    if (best < 0) {
      stopped = "no better move";
      break;
    }
    const l = slotLoad[best];
    moves.push({ slot: best, from, to, load: round2(l) });
    moved.add(best);
    load.set(from, load.get(from)! - l);
    load.set(to, load.get(to)! + l);
    const list = members.get(from)!;
    list.splice(list.indexOf(best), 1);
    members.get(to)!.push(best);
  }
  return {
    by,
    unit: UNITS[by],
    max_moves: maxMoves,
    moves,
    before,
    after: Object.fromEntries(groups.map((g) => [String(g), round2(load.get(g)!)])),
    target: round2(target),
    hot_slots: hot,
    stopped,
  };
}

/** The plan for the current model, and the writes that queue its moves when `confirm`. */
export function loadRebalance(
  ctx: Context,
  slotLoad: ArrayLike<number>,
  by: LoadMeasure,
  maxMoves: number,
  confirm: boolean,
): { plan: LoadPlan; writes: Write[] } {
  const groups = [...ctx.groups.values()].filter((g) => g.servers.length > 0).map((g) => g.id);
  if (groups.length === 0) throw new TopomError("no valid group could be found");
  const slotGroup = new Int32Array(MAX_SLOT_NUM);
  const pinned = new Set<number>();
  for (const m of ctx.slots) {
    slotGroup[m.id] = m.group_id;
    if (m.action.state) pinned.add(m.id);
  }
  const plan = planLoadMoves({ slotGroup, slotLoad, groups, pinned, maxMoves }, by);
  if (!confirm) return { plan, writes: [] };
  const moves: RebalancePlan = {};
  for (const m of plan.moves) moves[m.slot] = m.to;
  return { plan, writes: queueRebalancePlan(ctx, moves) };
}
