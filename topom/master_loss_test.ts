import assert from "node:assert/strict";
import { Context } from "./context.ts";
import { groupsWithLostMaster } from "./master_loss.ts";
import { buildModel } from "./testing.ts";

const ctxOf = (sentinels: string[] = []) =>
  new Context(buildModel({ groups: { 1: ["m:1", "r:1"], 2: ["m:2", "r:2"], 3: ["solo:1"] }, sentinels }));

Deno.test("master loss: a master down for the whole delay is reported; one that answers again is forgotten", () => {
  const down = new Map<string, number>();
  const ctx = ctxOf();
  const answered = new Map([["m:1", false], ["m:2", true], ["solo:1", false]]);
  assert.deepEqual(groupsWithLostMaster(ctx, answered, down, 1000, 3000), []);
  assert.deepEqual([...down], [["m:1", 1000]], "a group without a replica is not watched");
  assert.deepEqual(groupsWithLostMaster(ctx, answered, down, 3999, 3000), []);
  assert.deepEqual(groupsWithLostMaster(ctx, answered, down, 4000, 3000), [1]);
  // It answers once: the clock starts again.
  assert.deepEqual(groupsWithLostMaster(ctx, new Map([["m:1", true]]), down, 4500, 3000), []);
  assert.deepEqual(groupsWithLostMaster(ctx, answered, down, 5000, 3000), []);
  assert.equal(down.get("m:1"), 5000);
});

Deno.test("master loss: never with sentinels, nor with the setting at 0, nor for a group promoting", () => {
  const answered = new Map([["m:1", false]]);
  const down = new Map([["m:1", 0]]);
  assert.deepEqual(groupsWithLostMaster(ctxOf(["s:1"]), answered, down, 10_000, 3000), []);
  assert.deepEqual(groupsWithLostMaster(ctxOf(), answered, down, 10_000, 0), []);
  const m = buildModel({ groups: { 1: ["m:1", "r:1"] } });
  m.groups[0].promoting = { index: 1, state: "preparing" };
  assert.deepEqual(groupsWithLostMaster(new Context(m), answered, down, 10_000, 3000), []);
});
