import assert from "node:assert/strict";
import { applyWrites, type ClusterModel, Context, type TopomError, type Write } from "./context.ts";
import {
  actionHolders,
  barrierHolders,
  clampActionInterval,
  createSlotAction,
  createSlotActionRange,
  createSlotActionSome,
  executorBlocked,
  minAckedRevision,
  nextSlotStep,
  pickSlotActions,
  progressStatus,
  removeSlotAction,
} from "./slot_actions.ts";
import { buildModel } from "./testing.ts";
import type { SlotMapping } from "../models/mod.ts";

function fourGroups(): ClusterModel {
  return buildModel({
    groups: { 1: ["a:1"], 2: ["b:1"], 3: ["c:1"], 4: ["d:1"], 5: [] },
    assign: [[0, 255, 1], [256, 511, 2], [512, 767, 3], [768, 1023, 4]],
  });
}

function slotsOf(writes: Write[]): SlotMapping[] {
  return writes.map((w) => {
    assert.equal(w.kind, "slot");
    return (w as { slot: SlotMapping }).slot;
  });
}

Deno.test("slot actions: create queues a pending action with index max+1", () => {
  let model = fourGroups();
  const w1 = slotsOf(createSlotAction(new Context(model), 3, 2));
  assert.deepEqual(w1, [{ id: 3, group_id: 1, action: { index: 1, state: "pending", target_id: 2 } }]);
  model = applyWrites(model, w1.map((slot) => ({ kind: "slot", slot })));
  const w2 = slotsOf(createSlotAction(new Context(model), 300, 1));
  assert.equal(w2[0].action.index, 2);
});

Deno.test("slot actions: create refuses with Codis's messages", () => {
  const model = applyWrites(fourGroups(), createSlotAction(new Context(fourGroups()), 3, 2));
  const ctx = new Context(model);
  assert.throws(() => createSlotAction(ctx, 3, 3), /slot-\[3\] action already exists/);
  assert.throws(() => createSlotAction(ctx, 4, 1), /slot-\[4\] already in group-\[1\]/);
  assert.throws(() => createSlotAction(ctx, 4, 5), /group-\[5\] is empty/);
  assert.throws(
    () => createSlotAction(ctx, 4, 9),
    (e: TopomError) => e.status === 404 && /group-\[9\] doesn't exist/.test(e.message),
  );
  assert.throws(() => createSlotAction(ctx, 1024, 2), /slot-\[1024\] doesn't exist/);
});

Deno.test("slot actions: create-some takes the first idle slots of the source by id", () => {
  let model = fourGroups();
  model = applyWrites(model, createSlotAction(new Context(model), 1, 3));
  const w = slotsOf(createSlotActionSome(new Context(model), 1, 2, 4));
  assert.deepEqual(w.map((m) => m.id), [0, 2, 3, 4]);
  assert.deepEqual(w.map((m) => m.action.index), [2, 3, 4, 5]);
  assert.ok(w.every((m) => m.action.target_id === 2 && m.group_id === 1));
  // Fewer than asked when the source runs out; none for from == to or num 0.
  assert.equal(createSlotActionSome(new Context(model), 1, 2, 1000).length, 255);
  assert.equal(createSlotActionSome(new Context(model), 2, 2, 10).length, 0);
  assert.equal(createSlotActionSome(new Context(model), 1, 2, 0).length, 0);
  assert.throws(() => createSlotActionSome(new Context(model), 1, 5, 10), /group-\[5\] is empty/);
});

Deno.test("slot actions: create-range queues beg..end, or fails as a whole", () => {
  let model = fourGroups();
  const w = slotsOf(createSlotActionRange(new Context(model), 250, 260, 3));
  assert.equal(w.length, 11);
  assert.deepEqual(w.map((m) => m.action.index), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  model = applyWrites(model, w.map((slot) => ({ kind: "slot", slot })));
  const ctx = new Context(model);
  assert.throws(() => createSlotActionRange(ctx, 240, 250, 2), /slot-\[250\] action already exists/);
  assert.throws(() => createSlotActionRange(ctx, 500, 520, 3), /slot-\[512\] already in group-\[3\]/);
  assert.throws(
    () => createSlotActionRange(ctx, 10, 5, 3),
    (e: TopomError) => e.status === 400 && /invalid slot range \[10,5\]/.test(e.message),
  );
  assert.throws(() => createSlotActionRange(ctx, 0, 1024, 3), /invalid slot range/);
  // Without must, conflicting slots are skipped.
  assert.deepEqual(slotsOf(createSlotActionRange(ctx, 245, 265, 2, false)).map((m) => m.id), [245, 246, 247, 248, 249]);
});

Deno.test("slot actions: remove only while pending", () => {
  let model = fourGroups();
  model = applyWrites(model, createSlotAction(new Context(model), 3, 2));
  assert.deepEqual(removeSlotAction(new Context(model), 3), [{
    kind: "slot",
    slot: { id: 3, group_id: 1, action: {} },
  }]);
  assert.throws(() => removeSlotAction(new Context(model), 4), /slot-\[4\] action doesn't exist/);
  model.slots[3].action.state = "migrating";
  assert.throws(() => removeSlotAction(new Context(model), 3), /slot-\[3\] action isn't pending/);
});

Deno.test("slot actions: interval is clamped to 0..1s in µs", () => {
  assert.equal(clampActionInterval(-5), 0);
  assert.equal(clampActionInterval(100), 100);
  assert.equal(clampActionInterval(5_000_000), 1_000_000);
  assert.equal(clampActionInterval(Number.NaN), 0);
});

Deno.test("slot actions: pick runs in-progress actions first, then pending, across disjoint group pairs", () => {
  let model = fourGroups();
  // 1→2 (idx 1, 2), 3→4 (idx 3), 1→3 (idx 4), 2→1 (idx 5) ...
  model = applyWrites(model, createSlotAction(new Context(model), 0, 2));
  model = applyWrites(model, createSlotAction(new Context(model), 1, 2));
  model = applyWrites(model, createSlotAction(new Context(model), 600, 4));
  model = applyWrites(model, createSlotAction(new Context(model), 2, 3));
  model = applyWrites(model, createSlotAction(new Context(model), 300, 1));
  const ids = (opts: { parallel: number; disabled: boolean }) =>
    pickSlotActions(new Context(model).slots, opts).map((m) => m.id);
  assert.deepEqual(ids({ parallel: 100, disabled: false }), [0, 600]);
  assert.deepEqual(ids({ parallel: 1, disabled: false }), [0]);
  assert.deepEqual(ids({ parallel: 0, disabled: false }), [0]);
  assert.deepEqual(ids({ parallel: 100, disabled: true }), []);
  // An action in progress comes first even with a higher index, and still runs while disabled.
  model.slots[300].action.state = "migrating";
  assert.deepEqual(ids({ parallel: 100, disabled: false }), [300, 600]);
  assert.deepEqual(ids({ parallel: 100, disabled: true }), [300]);
});

Deno.test("slot actions: slots coming from offline do not conflict through group 0", () => {
  let model = buildModel({ groups: { 1: ["a:1"], 2: ["b:1"] }, assign: [] });
  model = applyWrites(model, createSlotActionRange(new Context(model), 0, 3, 1));
  model = applyWrites(model, createSlotActionRange(new Context(model), 4, 7, 2));
  assert.deepEqual(pickSlotActions(new Context(model).slots, { parallel: 10, disabled: false }).map((m) => m.id), [
    0,
    4,
  ]);
});

Deno.test("slot actions: with many groups, parallel picks are pairwise disjoint and capped", () => {
  const groups: Record<number, string[]> = {};
  for (let g = 1; g <= 20; g++) groups[g] = [`h${g}:1`];
  let model = buildModel({ groups, assign: [[0, 1023, 1]] });
  // Spread the slots over 10 groups, then queue 1..10 → 11..20.
  const assign: Write[] = [];
  for (let i = 0; i < 1024; i++) assign.push({ kind: "slot", slot: { id: i, group_id: 1 + (i % 10), action: {} } });
  model = applyWrites(model, assign);
  for (let g = 1; g <= 10; g++) model = applyWrites(model, createSlotActionSome(new Context(model), g, g + 10, 5));
  const picked = pickSlotActions(new Context(model).slots, { parallel: 100, disabled: false });
  assert.equal(picked.length, 10);
  const used = new Set<number>();
  for (const m of picked) {
    assert.ok(!used.has(m.group_id) && !used.has(m.action.target_id!));
    used.add(m.group_id);
    used.add(m.action.target_id!);
  }
  assert.equal(pickSlotActions(new Context(model).slots, { parallel: 4, disabled: false }).length, 4);
});

Deno.test("slot actions: every step waits for all proxies to apply the previous one", () => {
  const m0: SlotMapping = { id: 7, group_id: 1, action: { index: 3, state: "pending", target_id: 2 } };
  // pending looks like no action to proxies: it moves on without a barrier.
  const s1 = nextSlotStep(m0, { ackedRevision: 0, stepRevision: 10 });
  assert.equal(s1.kind, "advance");
  assert.deepEqual(s1.kind === "advance" && s1.slot, { ...m0, action: { ...m0.action, state: "preparing" } });
  let m = s1.kind === "advance" ? s1.slot : m0;
  const chain: string[] = ["preparing"];
  for (let rev = 11; rev < 20; rev++) {
    // Stored at revision `rev`; a proxy still at rev-1 holds the step.
    assert.deepEqual(nextSlotStep(m, { ackedRevision: rev - 1, stepRevision: rev, executorDone: true }), {
      kind: "wait",
      reason: "ack",
    });
    const step = nextSlotStep(m, {
      ackedRevision: rev,
      stepRevision: rev,
      executorDone: m.action.state !== "migrating" || rev > 13,
    });
    if (step.kind === "wait") {
      assert.equal(step.reason, "executor");
      continue;
    }
    if (step.kind !== "advance") break;
    chain.push(step.to || "(cleared)");
    m = step.slot;
    if (step.to === "") break;
  }
  assert.deepEqual(chain, ["preparing", "prepared", "migrating", "finished", "(cleared)"]);
  assert.deepEqual(m, { id: 7, group_id: 2, action: {} });
  assert.deepEqual(nextSlotStep(m, { ackedRevision: 99, stepRevision: 1 }), { kind: "none" });
});

Deno.test("slot actions: barrier helpers name the proxies that hold a step", () => {
  const acks = [{ token: "b", revision: 5 }, { token: "a", revision: 9 }, { token: "c", revision: 4 }];
  assert.equal(minAckedRevision(acks), 4);
  assert.equal(minAckedRevision([]), Infinity);
  assert.deepEqual(barrierHolders(acks, 6), ["b", "c"]);
  assert.deepEqual(barrierHolders(acks, 4), []);
});

Deno.test("slot actions: the executor runs only while migrating, enabled and no group promotes", () => {
  const model = fourGroups();
  const m: SlotMapping = { id: 1, group_id: 1, action: { index: 1, state: "migrating", target_id: 2 } };
  assert.equal(executorBlocked(new Context(model), m, false), undefined);
  assert.match(executorBlocked(new Context(model), m, true)!, /disabled/);
  assert.match(
    executorBlocked(new Context(model), { ...m, action: { ...m.action, state: "prepared" } }, false)!,
    /isn't migrating/,
  );
  model.groups[1].promoting = { index: 1, state: "preparing" };
  assert.equal(executorBlocked(new Context(model), m, false), "group-[2] is promoting");
});

Deno.test("slot actions: progress lines match Codis's format", () => {
  assert.equal(progressStatus(42, { db: 42, remaining: 123 }), "[OK] Slot[0042]@DB[42]=123");
  assert.equal(progressStatus(7, { error: "key too big" }), "[ERROR] Slot[0007]: key too big");
});

Deno.test("slot actions: stats name the proxies holding each running action", () => {
  const slots: SlotMapping[] = [
    { id: 1, group_id: 1, action: { index: 1, state: "prepared", target_id: 2 } },
    { id: 2, group_id: 1, action: { index: 2, state: "pending", target_id: 2 } },
    { id: 3, group_id: 3, action: { index: 3, state: "migrating", target_id: 4 } },
    { id: 4, group_id: 3, action: {} },
  ];
  const acks = [{ token: "p1", revision: 10 }, { token: "p2", revision: 12 }];
  const revs: Record<number, number> = { 1: 11, 2: 50, 3: 10 };
  assert.deepEqual(actionHolders(slots, acks, (sid) => revs[sid] ?? 0), { 1: ["p1"] });
});
