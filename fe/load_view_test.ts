import assert from "node:assert/strict";
import { heatColor } from "./assets/js/heatmap.js";
import { describeLoadPlan } from "./assets/js/views/load.js";

Deno.test("heat map colours: idle grey, the busiest deep red, a tenth of it still coloured", () => {
  assert.equal(heatColor(0, 100), "#eef0f3");
  assert.equal(heatColor(5, 0), "#eef0f3");
  assert.equal(heatColor(100, 100), "rgb(190, 20, 20)");
  assert.notEqual(heatColor(10, 100), heatColor(0, 100));
  assert.notEqual(heatColor(10, 100), heatColor(100, 100));
});

Deno.test("load plan lines: moves as ranges, expected load per group, hot slots named", () => {
  const lines = describeLoadPlan({
    unit: "ops/s",
    moves: [{ slot: 101, from: 1, to: 2, load: 5 }, { slot: 100, from: 1, to: 2, load: 5 }, {
      slot: 300,
      from: 1,
      to: 2,
      load: 20,
    }],
    before: { 1: 130, 2: 10 },
    after: { 1: 100, 2: 40 },
    hot_slots: [{ slot: 7, group: 1, load: 90 }],
  });
  assert.deepEqual(lines, [
    "slots 100–101: group 1 → group 2",
    "slot 300: group 1 → group 2",
    "group 1: 130 → 100 ops/s",
    "group 2: 10 → 40 ops/s",
    "hot slot 7 (group 1): 90 ops/s alone — moving it only moves the problem",
  ]);
});
