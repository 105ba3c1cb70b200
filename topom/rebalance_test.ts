import assert from "node:assert/strict";
import { applyWrites, type ClusterModel, Context } from "./context.ts";
import { computeRebalance, formatPlan, planRanges, queueRebalancePlan, slotsRebalance } from "./rebalance.ts";
import { buildModel, sizesAfter } from "./testing.ts";
import { createSlotAction } from "./slot_actions.ts";

function groups(n: number, empty: number[] = []): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (let g = 1; g <= n; g++) out[g] = empty.includes(g) ? [] : [`10.0.0.${g}:6379`];
  return out;
}

const ranges = (m: ClusterModel) => formatPlan(computeRebalance(new Context(m)));

Deno.test("rebalance: a fresh cluster gets contiguous even ranges", () => {
  assert.deepEqual(ranges(buildModel({ groups: groups(4) })), [
    "[0000,0255] => 1",
    "[0256,0511] => 2",
    "[0512,0767] => 3",
    "[0768,1023] => 4",
  ]);
  // 3 groups: 342, 341, 341 — offline slots go one by one to the smallest (ties by id).
  assert.deepEqual(ranges(buildModel({ groups: groups(3) })), [
    "[0000,0341] => 1",
    "[0342,0682] => 2",
    "[0683,1023] => 3",
  ]);
});

Deno.test("rebalance: adding a second group moves the highest half", () => {
  assert.deepEqual(ranges(buildModel({ groups: groups(2), assign: [[0, 1023, 1]] })), ["[0512,1023] => 2"]);
});

Deno.test("rebalance: adding a third group to two halves", () => {
  const m = buildModel({ groups: groups(3), assign: [[0, 511, 1], [512, 1023, 2]] });
  // Moves alternate between the two givers (largest first, ties to the higher id) until the sizes are within one:
  // group 1 keeps 342, group 2 keeps 341, group 3 gets 170 + 171 of their highest slots.
  assert.deepEqual(ranges(m), ["[0342,0511] => 3", "[0853,1023] => 3"]);
  const sizes = sizesAfter(m, computeRebalance(new Context(m)));
  assert.deepEqual(sizes, { 1: 342, 2: 341, 3: 341 });
});

Deno.test("rebalance: adding a fifth group to four quarters", () => {
  const m = buildModel({ groups: groups(5), assign: [[0, 255, 1], [256, 511, 2], [512, 767, 3], [768, 1023, 4]] });
  assert.deepEqual(ranges(m), ["[0205,0255] => 5", "[0461,0511] => 5", "[0717,0767] => 5", "[0973,1023] => 5"]);
  assert.deepEqual(sizesAfter(m, computeRebalance(new Context(m))), { 1: 205, 2: 205, 3: 205, 4: 205, 5: 204 });
});

Deno.test("rebalance: one full group and two new ones", () => {
  const m = buildModel({ groups: groups(3), assign: [[0, 1023, 1]] });
  assert.deepEqual(ranges(m), ["[0342,0682] => 2", "[0683,1023] => 3"]);
});

Deno.test("rebalance: slots with actions count for their target; offline slots are placed", () => {
  let m = buildModel({ groups: groups(3, [3]), assign: [[0, 999, 1]] });
  m = applyWrites(m, createSlotAction(new Context(m), 0, 2));
  // Group 3 has no servers and is ignored; slot 0 is already on its way to group 2.
  const plan = computeRebalance(new Context(m));
  assert.deepEqual(formatPlan(plan), ["[0513,1023] => 2"]);
  assert.deepEqual(sizesAfter(m, plan), { 1: 512, 2: 512 });
  assert.equal(plan[0], undefined);
});

Deno.test("rebalance: a balanced cluster changes nothing; no groups is an error", () => {
  const m = buildModel({ groups: groups(2), assign: [[0, 511, 1], [512, 1023, 2]] });
  assert.deepEqual(computeRebalance(new Context(m)), {});
  assert.deepEqual(ranges(m), ["nothing changes"]);
  // Within one is balanced enough: 342/341/341 in any order.
  const m3 = buildModel({ groups: groups(3), assign: [[0, 340, 1], [341, 682, 2], [683, 1023, 3]] });
  assert.deepEqual(computeRebalance(new Context(m3)), {});
  assert.throws(
    () => computeRebalance(new Context(buildModel({ groups: groups(2, [1, 2]) }))),
    /no valid group could be found/,
  );
});

Deno.test("rebalance: random layouts end within one slot of each other and never move a slot in place", () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let iter = 0; iter < 100; iter++) {
    const n = 1 + rand(12);
    const m = buildModel({ groups: groups(n) });
    // Biased random ownership, some offline.
    const weights = Array.from({ length: n + 1 }, () => 1 + rand(10));
    const total = weights.reduce((a, b) => a + b, 0);
    for (const s of m.slots) {
      let r = rand(total);
      let g = 0;
      while (r >= weights[g]) r -= weights[g++];
      s.group_id = g;
    }
    const plan = computeRebalance(new Context(m));
    for (const [sid, gid] of Object.entries(plan)) assert.notEqual(m.slots[Number(sid)].group_id, gid);
    const sizes = sizesAfter(m, plan);
    assert.equal(sizes[0], undefined, "every offline slot is placed");
    const counts = Array.from({ length: n }, (_, i) => sizes[i + 1] ?? 0);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `n=${n} counts=${counts}`);
    // Only slots above a group's share move out of it.
    for (let g = 1; g <= n; g++) {
      const before = m.slots.filter((s) => s.group_id === g).length;
      const out = Object.keys(plan).filter((sid) => m.slots[Number(sid)].group_id === g).length;
      assert.ok(out === 0 || before - out >= Math.floor(1024 / n), `group ${g} gave too many`);
    }
  }
});

Deno.test("rebalance: confirm queues pending actions in ascending slot order", () => {
  const m = buildModel({ groups: groups(2), assign: [[0, 1023, 1]] });
  m.slots[5].action = { index: 7, state: "migrating", target_id: 2 };
  const { plan, writes } = slotsRebalance(new Context(m), true);
  assert.equal(Object.keys(plan).length, writes.length);
  const slots = writes.map((w) => w.kind === "slot" ? w.slot : assert.fail("slot write"));
  assert.deepEqual(slots[0], { id: 513, group_id: 1, action: { index: 8, state: "pending", target_id: 2 } });
  assert.ok(
    slots.every((s, i) => i === 0 || (s.id > slots[i - 1].id && s.action.index === slots[i - 1].action.index! + 1)),
  );
  assert.deepEqual(slotsRebalance(new Context(m), false).writes, []);
  // A stale plan is refused as a whole.
  assert.throws(() => queueRebalancePlan(new Context(m), { 5: 2 }), /slot-\[5\] action already exists/);
  assert.throws(() => queueRebalancePlan(new Context(m), { 6: 1 }), /slot-\[6\] already in group-\[1\]/);
});

Deno.test("rebalance: plan ranges merge consecutive slots with one target", () => {
  assert.deepEqual(planRanges({ 1: 2, 2: 2, 3: 3, 5: 3, 6: 3 }), [
    { beg: 1, end: 2, gid: 2 },
    { beg: 3, end: 3, gid: 3 },
    { beg: 5, end: 6, gid: 3 },
  ]);
});
