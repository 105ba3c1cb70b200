import assert from "node:assert/strict";
import { Context } from "./context.ts";
import { loadRebalance, planLoadMoves } from "./load_plan.ts";
import { buildModel } from "./testing.ts";

/** Two halves: group 1 owns 0-511, group 2 owns 512-1023. */
function halves(): Int32Array {
  const g = new Int32Array(1024);
  for (let s = 0; s < 1024; s++) g[s] = s < 512 ? 1 : 2;
  return g;
}

function loads(base: number, hot: Record<number, number> = {}): Float64Array {
  const l = new Float64Array(1024).fill(base);
  for (const [s, v] of Object.entries(hot)) l[Number(s)] = v;
  return l;
}

Deno.test("load plan: a hot range on one group is split between the groups, moving only its slots", () => {
  const hot: Record<number, number> = {};
  for (let s = 100; s < 132; s++) hot[s] = 100; // 3200 ops/s on 32 slots of group 1
  const plan = planLoadMoves({ slotGroup: halves(), slotLoad: loads(1, hot), groups: [1, 2], maxMoves: 64 });
  assert.ok(plan.moves.length > 0 && plan.moves.length <= 17, `${plan.moves.length} moves`);
  for (const m of plan.moves) {
    assert.ok(m.slot >= 100 && m.slot < 132, `slot ${m.slot} is not in the hot range`);
    assert.equal(m.from, 1);
    assert.equal(m.to, 2);
  }
  assert.deepEqual(plan.before, { 1: 3680, 2: 512 });
  const [a, b] = [plan.after["1"], plan.after["2"]];
  assert.ok(Math.abs(a - b) <= 0.05 * plan.target, `after ${a} / ${b}`);
  assert.equal(plan.hot_slots.length, 0);
  assert.equal(plan.stopped, "balanced");
});

Deno.test("load plan: a slot hotter than a group's share is named and never moved", () => {
  const plan = planLoadMoves({
    slotGroup: halves(),
    slotLoad: loads(1, { 7: 5000, 8: 200, 9: 200 }),
    groups: [1, 2],
    maxMoves: 10,
  });
  assert.deepEqual(plan.hot_slots, [{ slot: 7, group: 1, load: 5000 }]);
  assert.ok(!plan.moves.some((m) => m.slot === 7));
  // What can move does: the two warm slots leave group 1.
  assert.deepEqual(plan.moves.slice(0, 2).map((m) => m.slot).sort(), [8, 9]);
});

Deno.test("load plan: max moves bounds the plan; no load or one group plans nothing", () => {
  const hot: Record<number, number> = {};
  for (let s = 0; s < 64; s++) hot[s] = 50;
  const plan = planLoadMoves({ slotGroup: halves(), slotLoad: loads(0, hot), groups: [1, 2], maxMoves: 3 });
  assert.equal(plan.moves.length, 3);
  assert.equal(plan.stopped, "max moves");
  assert.equal(
    planLoadMoves({ slotGroup: halves(), slotLoad: loads(0), groups: [1, 2], maxMoves: 3 }).stopped,
    "no load",
  );
  const one = planLoadMoves({ slotGroup: halves(), slotLoad: loads(1, hot), groups: [1], maxMoves: 3 });
  assert.equal(one.moves.length, 0);
  assert.equal(one.stopped, "balanced");
});

Deno.test("load plan: three groups even out from the busiest to the idlest", () => {
  const g = new Int32Array(1024);
  for (let s = 0; s < 1024; s++) g[s] = s < 342 ? 1 : s < 683 ? 2 : 3;
  const l = new Float64Array(1024);
  for (let s = 0; s < 342; s++) l[s] = 9; // group 1: 3078
  for (let s = 342; s < 683; s++) l[s] = 3; // group 2: 1023; group 3: 0
  const plan = planLoadMoves({ slotGroup: g, slotLoad: l, groups: [1, 2, 3], maxMoves: 500 });
  const after = Object.values(plan.after);
  assert.ok(Math.max(...after) - Math.min(...after) <= 0.05 * plan.target + 9, JSON.stringify(plan.after));
  assert.ok(plan.moves.every((m) => m.to === 3 || m.to === 2));
});

Deno.test("load rebalance: confirm queues the moves as pending slot actions; slots with an action stay", () => {
  const model = buildModel({
    groups: { 1: ["10.0.0.1:6379"], 2: ["10.0.0.2:6379"] },
    assign: [[0, 511, 1], [512, 1023, 2]],
  });
  model.slots[101].action = { index: 1, state: "pending", target_id: 2 };
  const hot = loads(0);
  for (let s = 100; s < 104; s++) hot[s] = 10;
  const ctx = new Context(model);
  const preview = loadRebalance(ctx, hot, "load", 10, false);
  assert.equal(preview.writes.length, 0);
  assert.ok(!preview.plan.moves.some((m) => m.slot === 101));
  const { plan, writes } = loadRebalance(ctx, hot, "load", 10, true);
  assert.equal(writes.length, plan.moves.length);
  for (const w of writes) {
    assert.equal(w.kind, "slot");
    if (w.kind === "slot") assert.deepEqual([w.slot.action.state, w.slot.action.target_id], ["pending", 2]);
  }
});
