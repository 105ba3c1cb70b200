import assert from "node:assert/strict";
import type { ClusterModel, Write } from "./context.ts";
import { ModelCache, writeToOp } from "./model_cache.ts";
import { schedulerTick, type TickInput } from "./scheduler.ts";
import { createSlotActionRange } from "./slot_actions.ts";
import { promoteStart } from "./promote.ts";
import { buildModel } from "./testing.ts";

/** A store stand-in: a revision counter feeding a ModelCache, with compare-and-set on slot and group nodes. */
class FakeStore {
  cache = new ModelCache("demo");
  rev = 0;
  constructor(model: ClusterModel) {
    this.put([
      ...model.slots.map((slot): Write => ({ kind: "slot", slot })),
      ...model.groups.map((group): Write => ({ kind: "group", group })),
      ...model.proxies.map((proxy): Write => ({ kind: "proxy", proxy })),
    ]);
  }
  put(writes: Write[]) {
    for (const w of writes) {
      const op = writeToOp("demo", w);
      this.rev++;
      this.cache.applyEvent(
        op.op === "put"
          ? { type: "put", path: op.path, revision: this.rev, data: op.data }
          : { type: "delete", path: op.path, revision: this.rev },
      );
    }
  }
  cas(w: Write, expect: number) {
    const current = w.kind === "slot"
      ? this.cache.slotRevision(w.slot.id)
      : w.kind === "group"
      ? this.cache.groupRevision(w.group.id)
      : expect;
    assert.equal(current, expect, "compare-and-set");
    this.put([w]);
  }
}

Deno.test("scheduler: migrations advance only as proxies acknowledge, executors run while migrating", () => {
  const store = new FakeStore(buildModel({
    groups: { 1: ["a:1"], 2: ["b:1"], 3: ["c:1"], 4: ["d:1"] },
    assign: [[0, 511, 1], [512, 1023, 3]],
    proxies: [{}, {}],
  }));
  store.put(createSlotActionRange(store.cache.context(), 0, 1, 2));
  store.put(createSlotActionRange(store.cache.context(), 512, 512, 4));
  const acks = [{ token: "t1", revision: store.rev }, { token: "t2", revision: store.rev }];
  const done = new Set<number>();
  const input = (): TickInput => ({
    parallel: 100,
    disabled: false,
    acks,
    slotRevision: (sid) => store.cache.slotRevision(sid),
    groupRevision: (gid) => store.cache.groupRevision(gid),
    executorDone: (sid) => done.has(sid),
  });
  const trace: string[] = [];
  let lagTested = false;
  for (let round = 0; round < 40; round++) {
    const plan = schedulerTick(store.cache.context(), input());
    for (const m of plan.runExecutors) done.add(m.id); // the executor empties the slot at once
    for (const g of plan.slotWrites) {
      store.cas(g.write, g.expectRevision);
      if (g.write.kind === "slot") trace.push(`${g.write.slot.id}:${g.write.slot.action.state ?? "done"}`);
    }
    if (!lagTested && plan.slotWrites.length > 0) {
      lagTested = true;
      // t2 lags: it holds both running slots, and stats name it.
      acks[0].revision = store.rev;
      const held = schedulerTick(store.cache.context(), input());
      assert.deepEqual(held.slotWrites, []);
      assert.deepEqual(held.holders, { 0: ["t2"], 512: ["t2"] });
    }
    acks[0].revision = acks[1].revision = store.rev;
    if (store.cache.model().slots.every((s) => !s.action.state)) break;
  }
  const model = store.cache.model();
  assert.deepEqual([0, 1, 512].map((s) => model.slots[s].group_id), [2, 2, 4]);
  assert.ok(model.slots.every((s) => !s.action.state));
  // Slots 0 and 512 use disjoint groups and run side by side; slot 1 waits for slot 0 (same groups).
  const order = (s: string) => trace.indexOf(s);
  assert.ok(order("512:preparing") < order("0:finished"));
  assert.ok(order("0:done") < order("1:preparing"));
  assert.deepEqual(trace.filter((t) => t.startsWith("1:")), [
    "1:preparing",
    "1:prepared",
    "1:migrating",
    "1:finished",
    "1:done",
  ]);
});

Deno.test("scheduler: disabled blocks executors; promotions advance with acks and name their holders", () => {
  const store = new FakeStore(
    buildModel({ groups: { 1: ["a:1", "a:2"], 2: ["b:1"] }, assign: [[0, 1023, 1]], proxies: [{}] }),
  );
  store.put(createSlotActionRange(store.cache.context(), 0, 0, 2));
  const m0 = store.cache.model().slots[0];
  store.put([{ kind: "slot", slot: { ...m0, action: { ...m0.action, state: "migrating" } } }]);
  const acks = [{ token: "t1", revision: store.rev }];
  const input = (disabled: boolean): TickInput => ({
    parallel: 1,
    disabled,
    acks,
    slotRevision: (sid) => store.cache.slotRevision(sid),
    groupRevision: (gid) => store.cache.groupRevision(gid),
    executorDone: () => false,
  });
  let plan = schedulerTick(store.cache.context(), input(true));
  assert.deepEqual(plan.runExecutors, []);
  assert.equal(plan.blockedExecutors[0].reason, "slot actions are disabled");

  store.put(promoteStart(store.cache.context(), 1, "a:2", 0));
  plan = schedulerTick(store.cache.context(), input(false));
  assert.equal(plan.blockedExecutors[0].reason, "group-[1] is promoting");
  assert.deepEqual(plan.promoteHolders, { 1: ["t1"] });
  assert.deepEqual(plan.promotions, []);
  acks[0].revision = store.rev;
  plan = schedulerTick(store.cache.context(), input(false));
  assert.equal(plan.promotions.length, 1);
  assert.equal(plan.promotions[0].step.kind, "advance");
  assert.equal(plan.promotions[0].expectRevision, store.cache.groupRevision(1));
});

Deno.test("scheduler: an action on an offline slot moves no data and finishes; no executor runs", () => {
  const store = new FakeStore(buildModel({ groups: { 1: ["a:1"] }, assign: [[0, 511, 1]], proxies: [{}] }));
  store.put(createSlotActionRange(store.cache.context(), 600, 601, 1));
  const acks = [{ token: "t1", revision: store.rev }];
  for (let round = 0; round < 40; round++) {
    const plan = schedulerTick(store.cache.context(), {
      parallel: 100,
      disabled: false,
      acks,
      slotRevision: (sid) => store.cache.slotRevision(sid),
      groupRevision: (gid) => store.cache.groupRevision(gid),
      executorDone: () => false, // an executor asked to move an offline slot would never finish
    });
    assert.deepEqual(plan.runExecutors, []);
    assert.deepEqual(plan.blockedExecutors, []);
    for (const g of plan.slotWrites) store.cas(g.write, g.expectRevision);
    acks[0].revision = store.rev;
    if (store.cache.model().slots.every((s) => !s.action.state)) break;
  }
  const model = store.cache.model();
  assert.deepEqual([600, 601].map((s) => [model.slots[s].group_id, model.slots[s].action.state ?? ""]), [
    [1, ""],
    [1, ""],
  ]);
});
