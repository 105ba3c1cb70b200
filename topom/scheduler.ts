/**
 * One pass of the leader's scheduler over the model, pure: which slot actions and promotions advance now (with
 * the revision each write must still match), which executors should run, and who holds what for stats.
 * The caller applies the writes with compare-and-set, starts/stops executors, and calls again on the next
 * model change or proxy acknowledgement.
 * @module
 */
import type { SlotMapping } from "../models/mod.ts";
import type { Context, Write } from "./context.ts";
import { nextPromoteStep, type PromoteStep } from "./promote.ts";
import {
  actionHolders,
  executorBlocked,
  minAckedRevision,
  nextSlotStep,
  pickSlotActions,
  type ProxyAck,
} from "./slot_actions.ts";

/** Input of {@link schedulerTick}. */
export interface TickInput {
  /** `migration_parallel_slots`. */
  parallel: number;
  /** `slots/action/disabled`. */
  disabled: boolean;
  /** The applied revision of every online proxy. */
  acks: readonly ProxyAck[];
  /** Revision of the write that last changed slot `sid` (ModelCache.slotRevision). */
  slotRevision(sid: number): number;
  /** Revision of the write that last changed group `gid` (ModelCache.groupRevision). */
  groupRevision(gid: number): number;
  /** Whether the executor has emptied slot `sid` on its source. */
  executorDone(sid: number): boolean;
}

/** A write that must only apply if its node is still at `expectRevision` (compare-and-set). */
export interface GuardedWrite {
  write: Write;
  expectRevision: number;
}

/** Output of {@link schedulerTick}. */
export interface TickPlan {
  /** Slot steps to store now, in order. */
  slotWrites: GuardedWrite[];
  /** Migrating slots whose executor should be running. */
  runExecutors: SlotMapping[];
  /** Migrating slots whose executor must wait, with the reason (disabled, group promoting). */
  blockedExecutors: { slot: SlotMapping; reason: string }[];
  /** Promotions that can move on; `switch` steps involve I/O before their writes (see PromoteStep). */
  promotions: {
    gid: number;
    step: Exclude<PromoteStep, { kind: "none" } | { kind: "wait" }>;
    expectRevision: number;
  }[];
  /** For stats: slot id → proxies that have not applied its current step. */
  holders: Record<number, string[]>;
  /** For stats: group id → proxies that have not applied its current promote step. */
  promoteHolders: Record<number, string[]>;
}

/** Plans one scheduler pass. Every decision depends only on the arguments. */
export function schedulerTick(ctx: Context, input: TickInput): TickPlan {
  const acked = minAckedRevision(input.acks);
  const plan: TickPlan = {
    slotWrites: [],
    runExecutors: [],
    blockedExecutors: [],
    promotions: [],
    holders: actionHolders(ctx.slots, input.acks, input.slotRevision),
    promoteHolders: {},
  };
  for (const m of pickSlotActions(ctx.slots, { parallel: input.parallel, disabled: input.disabled })) {
    const stepRevision = input.slotRevision(m.id);
    // An offline slot (group 0) has no server and so no keys: assigning it through an action moves nothing.
    const offline = m.group_id === 0;
    const executorDone = offline || input.executorDone(m.id);
    if (m.action.state === "migrating" && !offline) {
      const reason = executorBlocked(ctx, m, input.disabled);
      if (reason) plan.blockedExecutors.push({ slot: m, reason });
      else if (!executorDone) plan.runExecutors.push(m);
    }
    const step = nextSlotStep(m, { ackedRevision: acked, stepRevision, executorDone });
    if (step.kind === "advance") {
      plan.slotWrites.push({ write: { kind: "slot", slot: step.slot }, expectRevision: stepRevision });
    }
  }
  for (const [gid, g] of ctx.groups) {
    if (!g.promoting.state) continue;
    const stepRevision = input.groupRevision(gid);
    const holders = input.acks.filter((a) => a.revision < stepRevision).map((a) => a.token).sort();
    if (holders.length > 0) plan.promoteHolders[gid] = holders;
    const step = nextPromoteStep(ctx, gid, { ackedRevision: acked, stepRevision });
    if (step.kind !== "none" && step.kind !== "wait") plan.promotions.push({ gid, step, expectRevision: stepRevision });
  }
  return plan;
}
