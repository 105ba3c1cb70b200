// Scripted leadership transfer scenarios.
import assert from "node:assert/strict";
import { ProposalDroppedError } from "./errors.ts";
import { bytes, TestCluster } from "./testing.ts";

Deno.test("transfer: to an up-to-date follower finishes at once; proposals meanwhile fail fast", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, "a");
  c.stabilize();
  c.core(1).transferLeader(2);
  assert.throws(() => c.core(1).propose(bytes("during")), ProposalDroppedError);
  c.stabilize();
  assert.deepEqual(c.leaders(), [2]);
  c.propose(2, "b");
  c.stabilize();
  for (const id of [1, 2, 3]) assert.deepEqual(c.appliedData(id), ["a", "b"]);
});

Deno.test("transfer: a lagging target is caught up before TimeoutNow", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.cut(1, 3);
  for (let i = 0; i < 5; i++) c.propose(1, `x${i}`);
  c.stabilize();
  c.heal();
  c.sent = [];
  c.core(1).transferLeader(3);
  c.stabilize();
  const tn = c.sent.findIndex((m) => m.type === "timeoutNow");
  const lastApp = c.sent.findLastIndex((m) => m.type === "app" && m.to === 3 && (m.entries?.length ?? 0) > 0);
  assert.ok(tn > lastApp && lastApp >= 0, "entries first, then TimeoutNow");
  assert.deepEqual(c.leaders(), [3]);
  assert.ok(c.appliedData(3).includes("x4"));
});

Deno.test("transfer: to a dead node is abandoned after an election timeout and the leader serves again", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.crash(3);
  c.core(1).transferLeader(3);
  assert.throws(() => c.core(1).propose(bytes("blocked")), ProposalDroppedError);
  c.tickAll(10);
  assert.equal(c.core(1).status().leadTransferee, 0);
  assert.deepEqual(c.leaders(), [1]);
  c.propose(1, "resumed");
  c.stabilize();
  assert.ok(c.appliedData(2).includes("resumed"));
});

Deno.test("transfer: TimeoutNow overrides leader stickiness, and nothing else does", () => {
  const c = new TestCluster([1, 2, 3], { preVote: false });
  c.elect(1);
  const term = c.core(1).status().term;
  // A plain campaign by 3 while everybody just heard from the leader: ignored, no term change elsewhere.
  c.core(3).campaign();
  c.stabilize();
  assert.equal(c.core(1).status().term, term);
  assert.equal(c.core(2).status().term, term);
  assert.deepEqual(c.leaders(), [1]);
  c.tickAll(30); // 3's higher term eventually reaches the leader through responses; let things settle
  const [l] = c.leaders();
  const target = l === 2 ? 3 : 2;
  c.core(l).transferLeader(target);
  c.stabilize();
  assert.deepEqual(c.leaders(), [target], "the transfer wins although every voter is in lease");
});
