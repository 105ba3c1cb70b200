/**
 * A randomized simulation of the migration and promote barriers: a store with revisions, proxies that apply
 * revisions at their own pace (one of them stalls for a while), and a scheduler built only from the pure
 * functions. It checks Codis's safety rule: no proxy writes a slot straight to its source while another writes it
 * to the target, and the executor never runs while some proxy still writes to the source.
 */
import assert from "node:assert/strict";
import { applyWrites, type ClusterModel, Context, type Write } from "./context.ts";
import { createSlotAction, executorBlocked, minAckedRevision, nextSlotStep, pickSlotActions } from "./slot_actions.ts";
import { buildModel } from "./testing.ts";
import type { Slot, SlotMapping } from "../models/mod.ts";

/** A store with one revision per write; keeps each slot's history so proxies can read it at any revision. */
const STALL = 100;
const MAX_TICKS = 5000;

class Store {
  rev = 0;
  model: ClusterModel;
  slotHistory = new Map<number, { rev: number; m: SlotMapping }[]>();
  slotRev = new Map<number, number>();
  constructor(initial: ClusterModel) {
    this.model = initial;
    for (const m of initial.slots) this.slotHistory.set(m.id, [{ rev: 0, m }]);
  }
  write(writes: Write[]) {
    for (const w of writes) {
      assert.equal(w.kind, "slot", "the simulation only moves slots");
      if (w.kind !== "slot") continue;
      this.rev++;
      this.model = applyWrites(this.model, [w]);
      this.slotHistory.get(w.slot.id)!.push({ rev: this.rev, m: w.slot });
      this.slotRev.set(w.slot.id, this.rev);
    }
  }
  /** Slot `sid` as stored at revision `rev`. */
  slotAt(sid: number, rev: number): SlotMapping {
    const h = this.slotHistory.get(sid)!;
    let i = h.length - 1;
    while (h[i].rev > rev) i--;
    return h[i].m;
  }
}

/** Where a proxy sends a write for the slot: "hold", or the group it writes to directly. */
function writeTarget(s: Slot): "hold" | number {
  if (s.locked) return "hold";
  // With migrate_from the proxy first moves the key out of the source, then writes to the target.
  return s.backend_addr_group_id ?? 0;
}

function simulate(seed: number, groupCount: number) {
  let state = seed;
  const rand = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const groups: Record<number, string[]> = {};
  for (let g = 1; g <= groupCount; g++) groups[g] = [`10.0.0.${g}:6379`];
  const per = Math.ceil(1024 / groupCount);
  const assign: [number, number, number][] = [];
  for (let g = 1; g <= groupCount; g++) assign.push([(g - 1) * per, Math.min(1023, g * per - 1), g]);
  const store = new Store(buildModel({ groups, assign, proxies: [{}, {}, {}] }));
  // Random moves between random groups, so that some run in parallel and some wait for a busy group.
  for (let i = 0; i < 40; i++) {
    const sid = rand(1024);
    const gid = 1 + rand(groupCount);
    const m = store.model.slots[sid];
    if (m.action.state || m.group_id === gid) continue;
    store.write(createSlotAction(new Context(store.model), sid, gid));
  }
  const applied = [store.rev, store.rev, store.rev];
  const done = new Set<number>();
  const unsettled = new Set<number>();
  let ticks = 0;
  let ctx: Context | undefined;
  let ctxRev = -1;
  for (; ticks < MAX_TICKS; ticks++) {
    // Proxies catch up at random; proxy 2 stalls for the first STALL ticks (it holds every barrier meanwhile).
    for (let p = 0; p < applied.length; p++) {
      if (p === 2 && ticks < STALL) continue;
      if (rand(2) === 0) applied[p] = Math.min(store.rev, applied[p] + 1 + rand(4));
    }
    const acks = applied.map((revision, i) => ({ token: `t${i + 1}`, revision }));
    if (ctx === undefined || ctxRev !== store.rev) [ctx, ctxRev] = [new Context(store.model), store.rev];
    const picked = pickSlotActions(ctx.slots, { parallel: 8, disabled: false });
    if (picked.length === 0) break;
    for (const m of picked) {
      const executorMayRun = executorBlocked(ctx, m, false) === undefined;
      if (executorMayRun) checkNoDirectSourceWriter(store, applied, m.id, m.group_id);
      if (executorMayRun && rand(2) === 0) done.add(m.id);
      const step = nextSlotStep(m, {
        ackedRevision: minAckedRevision(acks),
        stepRevision: store.slotRev.get(m.id) ?? 0,
        executorDone: done.has(m.id),
      });
      if (ticks < STALL && step.kind === "advance") {
        assert.equal(step.from, "pending", "a stalled proxy holds the barrier");
      }
      if (step.kind === "advance") store.write([{ kind: "slot", slot: step.slot }]);
    }
    // Only slots some proxy has not caught up with can disagree.
    const lowest = Math.min(...applied);
    for (const [sid, rev] of store.slotRev) if (rev <= lowest) unsettled.delete(sid);
    for (const m of picked) unsettled.add(m.id);
    checkSafety(store, applied, unsettled);
  }
  return { store, ticks };
}

function viewsAt(store: Store, applied: number[], sid: number): Slot[] {
  // Groups never change here, so one context serves every revision.
  const ctx = new Context({ ...store.model, slots: [] });
  return applied.map((rev, i) => ctx.toSlot(store.slotAt(sid, rev), store.model.proxies[i]));
}

function checkSafety(store: Store, applied: number[], sids: Iterable<number>) {
  for (const sid of sids) {
    const targets = new Set(viewsAt(store, applied, sid).map(writeTarget).filter((t) => t !== "hold"));
    assert.ok(targets.size <= 1, `slot ${sid}: proxies write to groups ${[...targets]}`);
  }
}

function checkNoDirectSourceWriter(store: Store, applied: number[], sid: number, source: number) {
  for (const v of viewsAt(store, applied, sid)) {
    assert.ok(
      v.locked || v.backend_addr_group_id !== source,
      `slot ${sid}: executor runs while a proxy writes the source`,
    );
  }
}

Deno.test("migration sim: lagging and stalled proxies never see two writers for a slot", () => {
  for (const [seed, n] of [[7, 2], [1, 3], [99, 4], [12345, 6]]) {
    const { store, ticks } = simulate(seed, n);
    assert.ok(ticks < MAX_TICKS, "every migration finishes");
    assert.ok(store.model.slots.every((s) => !s.action.state));
  }
});
