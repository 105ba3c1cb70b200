// Scripted membership scenarios.
import assert from "node:assert/strict";
import { ConfChangeError, ProposalDroppedError } from "./errors.ts";
import { MemoryLogStorage } from "./memory_storage.ts";
import { TestCluster } from "./testing.ts";

function addLearner(c: TestCluster, leader: number, id: number): void {
  c.add(id, new MemoryLogStorage());
  c.core(leader).proposeConfChange({ type: "addLearner", id });
  c.stabilize();
  c.tickAll(3);
}

Deno.test("membership: a learner does not count for quorum, catches up, and is promoted", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
  c.stabilize();
  addLearner(c, 1, 4);
  assert.deepEqual(c.core(4).status().conf.learners, [4]);
  assert.equal(c.core(4).status().role, "learner");
  assert.ok(c.appliedData(4).includes("v4"), "the learner caught up (through the bootstrap snapshot and the log)");
  // Quorum is still 2 of {1,2,3}: with 2 and 3 down, the learner's ack does not commit.
  c.crash(2), c.crash(3);
  const commit = c.core(1).status().commit;
  c.propose(1, "no-quorum");
  c.stabilize();
  assert.equal(c.core(1).status().commit, commit);
  c.restart(2), c.restart(3);
  c.tickAll(3);
  assert.equal(c.core(1).status().progress![4].match, c.core(1).status().lastIndex);
  c.core(1).proposeConfChange({ type: "promote", id: 4 });
  c.stabilize();
  c.tickAll(2);
  assert.deepEqual(c.core(1).status().conf.voters.sort(), [1, 2, 3, 4]);
  // 4 voters, quorum 3: one failure does not stop commits.
  c.crash(3);
  c.propose(1, "after-promote");
  c.stabilize();
  assert.ok(c.appliedData(4).includes("after-promote"));
});

Deno.test("membership: no change before the new leader commits in its term; one change at a time", () => {
  const c = new TestCluster([1, 2, 3]);
  c.core(1).campaign();
  c.stabilize((m) => m.type === "appResp"); // leader, no-op not committed
  assert.throws(() => c.core(1).proposeConfChange({ type: "addLearner", id: 4 }), ConfChangeError);
  c.tickAll(2);
  c.add(4, new MemoryLogStorage());
  c.core(1).proposeConfChange({ type: "addLearner", id: 4 });
  assert.throws(() => c.core(1).proposeConfChange({ type: "remove", id: 3 }), ConfChangeError, "one pending change");
  c.stabilize();
  c.core(1).proposeConfChange({ type: "remove", id: 3 });
});

Deno.test("membership: the 2015 bug cannot happen — an uncommitted change from a dead leader blocks nothing unsafe", () => {
  const c = new TestCluster([1, 2, 3, 4], { preVote: false, checkQuorum: false });
  c.elect(1);
  // Leader 1 appends "remove 4" which reaches nobody, then dies.
  c.isolate(1);
  c.core(1).proposeConfChange({ type: "remove", id: 4 });
  c.process(1);
  c.crash(1);
  c.heal();
  c.elect(2);
  // 2 must commit its own no-op first; only then a different change, and it is decided under one configuration.
  c.core(2).proposeConfChange({ type: "addLearner", id: 5 });
  c.add(5, new MemoryLogStorage());
  c.stabilize();
  c.restart(1);
  c.tickAll(5);
  const confs = [1, 2, 3, 4].map((id) => JSON.stringify(c.core(id).status().conf));
  assert.equal(new Set(confs).size, 1, `all members agree: ${confs}`);
  assert.deepEqual(c.core(2).status().conf.voters.sort(), [1, 2, 3, 4]);
});

Deno.test("membership: a promoted learner that has not applied its promotion still votes", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  addLearner(c, 1, 4);
  c.core(1).proposeConfChange({ type: "promote", id: 4 });
  c.stabilize((m) => m.to === 4); // 4 never hears of its promotion
  assert.deepEqual(c.core(2).status().conf.voters.sort(), [1, 2, 3, 4]);
  assert.equal(c.core(4).status().role, "learner");
  // Without 1, a leader needs 3 of {1,2,3,4}: 4's vote is required.
  c.crash(1);
  c.sent = [];
  c.tickAll(60);
  const votes = c.sent.filter((m) => (m.type === "voteResp" || m.type === "preVoteResp") && m.from === 4);
  assert.ok(votes.some((m) => !m.reject), "the not-yet-promoted learner granted a vote");
  assert.equal(c.leaders().length, 1);
});

Deno.test("membership: a leader that removes itself steps down once the removal is applied", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.core(1).proposeConfChange({ type: "remove", id: 1 });
  c.stabilize();
  c.tickAll(1);
  assert.notEqual(c.core(1).status().role, "leader");
  assert.throws(() => c.core(1).propose(new Uint8Array([1])));
  c.tickAll(60);
  const leaders = c.leaders();
  assert.equal(leaders.length, 1);
  assert.ok(leaders[0] === 2 || leaders[0] === 3, "the new leader comes from C_new");
  assert.deepEqual(c.core(leaders[0]).status().conf.voters.sort(), [2, 3]);
  // 1 never campaigns again, and later entries commit without it.
  c.crash(1);
  c.propose(leaders[0], "without-1");
  c.stabilize();
  assert.ok(c.appliedData(2).includes("without-1"));
});

Deno.test("membership: a removed node restarted with old data cannot raise terms or depose the leader", () => {
  const c = new TestCluster([1, 2, 3, 4]);
  c.elect(1);
  c.isolate(4); // 4 never learns it was removed
  c.core(1).proposeConfChange({ type: "remove", id: 4 });
  c.stabilize();
  c.tickAll(1);
  assert.deepEqual(c.core(1).status().conf.voters.sort(), [1, 2, 3]);
  const term = c.core(1).status().term;
  c.crash(4);
  c.restart(4);
  c.heal();
  c.tickAll(200);
  assert.deepEqual(c.leaders(), [1]);
  assert.equal(c.core(1).status().term, term);
  assert.equal(c.core(2).status().term, term);
});

Deno.test("membership: removing a node from a two-node group while the other is down blocks safely", () => {
  const c = new TestCluster([1, 2]);
  c.elect(1);
  c.crash(2);
  c.core(1).proposeConfChange({ type: "remove", id: 2 });
  c.stabilize();
  c.tickAll(5);
  assert.deepEqual(c.core(1).status().conf.voters.sort(), [1, 2], "not committed: needs both");
  try {
    c.core(1).propose(new Uint8Array([1]));
  } catch (e) {
    assert.ok(e instanceof ProposalDroppedError || (e as Error).name === "NotLeaderError");
  }
  assert.equal(c.appliedData(1).length, 0);
});
