/**
 * Slot actions (Codis's `topom_slots.go` / `topom_action.go`) as pure functions: queueing and cancelling
 * migrations, picking which ones run in parallel, and the state machine
 * pending → preparing → prepared → migrating → finished → (cleared).
 *
 * The proxy barrier of Codis (push to every proxy, wait for every OK) becomes a revision barrier here: the
 * caller stores a step, every online proxy long-polls the model and reports the revision it has applied, and
 * the next step is taken only once the lowest applied revision reaches the one that stored the current step.
 * @module
 */
import { MAX_SLOT_NUM, type SlotActionState, type SlotMapping } from "../models/mod.ts";
import { cleanSlotMapping, type Context, TopomError, type Write } from "./context.ts";

export { clampActionInterval, MAX_ACTION_INTERVAL_US } from "./slot_action_settings.ts";
export { progressStatus } from "./executor/progress.ts";

function checkTarget(ctx: Context, gid: number) {
  const g = ctx.getGroup(gid);
  if (g.servers.length === 0) throw new TopomError(`group-[${gid}] is empty`);
  return g;
}

function queue(ctx: Context, sids: number[], gid: number): Write[] {
  let index = ctx.maxSlotActionIndex();
  return sids.map((sid) => {
    const m = ctx.getSlotMapping(sid);
    index++;
    return {
      kind: "slot",
      slot: { id: m.id, group_id: m.group_id, action: { index, state: "pending", target_id: gid } },
    };
  });
}

/** `PUT /api/topom/slots/action/create/:xauth/:sid/:gid`: queue moving slot `sid` to group `gid`. */
export function createSlotAction(ctx: Context, sid: number, gid: number): Write[] {
  checkTarget(ctx, gid);
  const m = ctx.getSlotMapping(sid);
  if (m.action.state) throw new TopomError(`slot-[${sid}] action already exists`);
  if (m.group_id === gid) throw new TopomError(`slot-[${sid}] already in group-[${gid}]`);
  return queue(ctx, [sid], gid);
}

/**
 * `create-some`: queue the first `num` slots (by id) of group `from` that have no action, to group `to`.
 * Fewer (or none) are queued when `from` has fewer idle slots.
 */
export function createSlotActionSome(ctx: Context, from: number, to: number, num: number): Write[] {
  checkTarget(ctx, to);
  const sids: number[] = [];
  for (const m of ctx.slots) {
    if (sids.length >= num) break;
    if (m.action.state || m.group_id !== from || m.group_id === to) continue;
    sids.push(m.id);
  }
  return queue(ctx, sids, to);
}

/**
 * `create-range`: queue slots `beg..end` (inclusive) to group `gid`. With `must` (the API's behaviour) any slot
 * that already has an action or is already in `gid` fails the whole request; without it such slots are skipped.
 */
export function createSlotActionRange(ctx: Context, beg: number, end: number, gid: number, must = true): Write[] {
  if (!(Number.isInteger(beg) && Number.isInteger(end) && beg >= 0 && beg <= end && end < MAX_SLOT_NUM)) {
    throw new TopomError(`invalid slot range [${beg},${end}]`, 400);
  }
  checkTarget(ctx, gid);
  const sids: number[] = [];
  for (let sid = beg; sid <= end; sid++) {
    const m = ctx.slots[sid];
    if (m.action.state) {
      if (!must) continue;
      throw new TopomError(`slot-[${sid}] action already exists`);
    }
    if (m.group_id === gid) {
      if (!must) continue;
      throw new TopomError(`slot-[${sid}] already in group-[${gid}]`);
    }
    sids.push(sid);
  }
  return queue(ctx, sids, gid);
}

/** `slots/action/remove`: cancel a queued action; only `pending` ones can be cancelled. */
export function removeSlotAction(ctx: Context, sid: number): Write[] {
  const m = ctx.getSlotMapping(sid);
  if (!m.action.state) throw new TopomError(`slot-[${sid}] action doesn't exist`, 404);
  if (m.action.state !== "pending") throw new TopomError(`slot-[${sid}] action isn't pending`);
  return [{ kind: "slot", slot: { id: m.id, group_id: m.group_id, action: {} } }];
}

/** Options of {@link pickSlotActions}. */
export interface PickOptions {
  /** `migration_parallel_slots`; values below 1 count as 1. */
  parallel: number;
  /** `slots/action/disabled`: pending actions do not start; ones in progress are still picked. */
  disabled: boolean;
}

/**
 * The slot actions that should be running, in Codis's order: repeatedly the lowest-index action in progress
 * (any state but pending), else — unless disabled — the lowest-index pending one, skipping any that shares a
 * source or target group with one already picked, up to `parallel` slots. Offline sources (group 0) do not
 * conflict with each other.
 */
export function pickSlotActions(slots: readonly SlotMapping[], opts: PickOptions): SlotMapping[] {
  const parallel = Math.max(1, Math.trunc(opts.parallel) || 1);
  const busy = new Set<number>();
  const picked = new Set<number>();
  const out: SlotMapping[] = [];
  const accept = (m: SlotMapping) => !busy.has(m.group_id) && !busy.has(m.action.target_id ?? 0) && !picked.has(m.id);
  const lowest = (filter: (m: SlotMapping) => boolean): SlotMapping | undefined => {
    let best: SlotMapping | undefined;
    for (const m of slots) {
      if (!m.action?.state || !filter(m)) continue;
      if (best && (best.action.index ?? 0) < (m.action.index ?? 0)) continue;
      if (accept(m)) best = m;
    }
    return best;
  };
  while (out.length < parallel) {
    let m = lowest((x) => x.action.state !== "pending");
    if (!m && !opts.disabled) m = lowest((x) => x.action.state === "pending");
    if (!m) break;
    if (m.group_id !== 0) busy.add(m.group_id);
    busy.add(m.action.target_id ?? 0);
    picked.add(m.id);
    out.push(cleanSlotMapping(m));
  }
  return out;
}

/** One proxy's acknowledgement: the model revision it has applied. */
export interface ProxyAck {
  token: string;
  revision: number;
}

/** The lowest revision applied by every proxy in `acks`; Infinity when there are no proxies. */
export function minAckedRevision(acks: readonly ProxyAck[]): number {
  let min = Infinity;
  for (const a of acks) if (a.revision < min) min = a.revision;
  return min;
}

/** Tokens of the proxies that have not yet applied `stepRevision`: the ones holding the step (for stats). */
export function barrierHolders(acks: readonly ProxyAck[], stepRevision: number): string[] {
  return acks.filter((a) => a.revision < stepRevision).map((a) => a.token).sort();
}

/**
 * For stats: for each slot whose action is past `pending`, the proxies that have not applied the revision that
 * stored its current state (`stepRevision(sid)`). Slots nobody holds are left out.
 */
export function actionHolders(
  slots: readonly SlotMapping[],
  acks: readonly ProxyAck[],
  stepRevision: (sid: number) => number,
): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const m of slots) {
    if (!m.action?.state || m.action.state === "pending") continue;
    const holders = barrierHolders(acks, stepRevision(m.id));
    if (holders.length > 0) out[m.id] = holders;
  }
  return out;
}

/** Input of {@link nextSlotStep}. */
export interface StepInput {
  /** Lowest model revision applied by every online proxy ({@link minAckedRevision}). */
  ackedRevision: number;
  /** Revision of the write that stored the slot's current state (its node's modRevision). */
  stepRevision: number;
  /** For `migrating`: the executor has emptied the slot on the source. */
  executorDone?: boolean;
}

/** What to do next with one slot. */
export type SlotStep =
  /** The slot has no action. */
  | { kind: "none" }
  /** Wait: for every proxy to apply the current step ("ack"), or for the executor to empty the slot. */
  | { kind: "wait"; reason: "ack" | "executor" }
  /** Store `slot` (state `to`; "" means the action is cleared and `group_id` is the target). */
  | { kind: "advance"; from: SlotActionState; to: SlotActionState; slot: SlotMapping };

const NEXT: Partial<Record<SlotActionState, SlotActionState>> = {
  pending: "preparing",
  preparing: "prepared",
  prepared: "migrating",
  migrating: "finished",
  finished: "",
};

/**
 * The next step of slot `m`'s action. Every step but the first waits until all proxies applied the revision
 * that stored the current state: `pending` looks the same to proxies as no action, so it needs no barrier;
 * `preparing` → `prepared` needs every proxy off replicas; `prepared` → `migrating` needs every proxy holding the
 * slot (the lock barrier); `migrating` → `finished` needs every proxy migrating and the executor done;
 * `finished` → cleared needs every proxy on the target only.
 */
export function nextSlotStep(m: SlotMapping, input: StepInput): SlotStep {
  const from = (m.action?.state ?? "") as SlotActionState;
  if (from === "") return { kind: "none" };
  const to = NEXT[from];
  if (to === undefined) throw new TopomError(`slot-[${m.id}] action state is invalid`, 400);
  if (from !== "pending" && input.ackedRevision < input.stepRevision) return { kind: "wait", reason: "ack" };
  if (from === "migrating" && !input.executorDone) return { kind: "wait", reason: "executor" };
  const target = m.action.target_id ?? 0;
  const slot: SlotMapping = to === ""
    ? { id: m.id, group_id: target, action: {} }
    : { id: m.id, group_id: m.group_id, action: { ...cleanSlotMapping(m).action, state: to } };
  return { kind: "advance", from, to, slot };
}

/**
 * Why the executor may not move data for slot `m` now, or undefined when it may (Codis's
 * `newSlotActionExecutor`): only in `migrating`, not while actions are disabled, nor while either group is
 * promoting. Every proxy is already holding or migrating the slot once `migrating` is stored (the `prepared`
 * barrier passed), so the executor need not wait for `migrating` to be acknowledged.
 */
export function executorBlocked(ctx: Context, m: SlotMapping, disabled: boolean): string | undefined {
  if (m.action?.state !== "migrating") return `slot-[${m.id}] action isn't migrating`;
  if (disabled) return "slot actions are disabled";
  if (ctx.isGroupPromoting(m.group_id)) return `group-[${m.group_id}] is promoting`;
  const target = m.action.target_id ?? 0;
  if (ctx.isGroupPromoting(target)) return `group-[${target}] is promoting`;
  return undefined;
}

/**
 * `slots/action/resume`: checks that slot `m`'s move is paused and may run again; throws TopomError otherwise.
 * A paused slot stays `migrating` and its executor is not retried by itself (the cause — a key too big for
 * migration_timeout, or one the target refuses — needs the operator), so this is the operator's way back.
 * While actions are disabled no executor runs; enabling them starts every migrating slot afresh.
 */
export function checkResumable(m: SlotMapping, progress: { paused?: boolean } | undefined, disabled: boolean): void {
  const state = m.action?.state ?? "";
  if (!state) throw new TopomError(`slot-[${m.id}] action doesn't exist`, 404);
  if (state !== "migrating") throw new TopomError(`slot-[${m.id}] action isn't migrating (state ${state})`);
  if (disabled) throw new TopomError("slot actions are disabled: enabling them restarts every migrating slot");
  if (!progress?.paused) throw new TopomError(`slot-[${m.id}] migration isn't paused`);
}
