// Scripted ReadIndex scenarios.
import assert from "node:assert/strict";
import type { Message } from "../types.ts";
import { bytes, TestCluster, text } from "./testing.ts";

Deno.test("read: a partitioned old leader never releases a read after a new leader commits", () => {
  // Without CheckQuorum the old leader keeps believing it leads: the quorum round must still protect reads.
  const c = new TestCluster([1, 2, 3], { checkQuorum: false });
  c.elect(1);
  c.isolate(1);
  c.tickAll(40);
  const [l2] = c.leaders().filter((id) => id !== 1);
  c.propose(l2, "newer");
  c.stabilize();
  assert.equal(c.core(1).status().role, "leader");
  c.core(1).readIndex(bytes("old-leader-read"));
  c.tickAll(5);
  c.heal();
  c.tickAll(5);
  assert.equal(c.node(1).readStates.length, 0);
  assert.ok(c.appliedData(1).includes("newer"));
});

Deno.test("read: a read index waits for the new leader's first commit (etcd issue #7331)", () => {
  const c = new TestCluster([1, 2, 3]);
  c.core(1).campaign();
  c.stabilize((m) => m.type === "appResp"); // elected, but its no-op cannot commit
  assert.equal(c.core(1).status().role, "leader");
  const before = c.core(1).status().commit;
  c.core(1).readIndex(bytes("r1"));
  c.tickAll(1, (m) => m.type === "appResp");
  assert.equal(c.node(1).readStates.length, 0, "no read state before the term's first commit");
  c.tickAll(2);
  const rs = c.node(1).readStates;
  assert.equal(rs.length, 1);
  assert.equal(text(rs[0].context), "r1");
  assert.ok(rs[0].index > before, "the read index covers the no-op of the new term");
});

Deno.test("read: delayed acknowledgements of an older term and duplicate contexts cannot release a read", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.core(1).readIndex(bytes("dup"));
  c.core(1).readIndex(bytes("dup")); // duplicate request while pending: served once
  c.process(1);
  const held: Message[] = [];
  c.deliver((m) => m.type === "heartbeat");
  c.processAll();
  // Keep the heartbeat acks of term 2 aside.
  c.deliver((m) => (m.type === "heartbeatResp" ? (held.push(m), true) : false));
  assert.equal(c.node(1).readStates.length, 0);
  // Leadership moves to 2 and back to 1 in later terms; the context is reused by a confused client.
  c.core(1).transferLeader(2);
  c.stabilize();
  c.core(2).propose(bytes("w"));
  c.stabilize();
  c.core(2).transferLeader(1);
  c.stabilize();
  assert.equal(c.core(1).status().role, "leader");
  c.core(1).readIndex(bytes("dup"));
  c.process(1);
  for (const m of held) c.core(1).step(m); // the stale acks arrive now
  c.process(1);
  assert.equal(c.node(1).readStates.length, 0, "stale acks release nothing");
  c.stabilize();
  const rs = c.node(1).readStates;
  assert.equal(rs.length, 1);
  assert.ok(rs[0].index >= c.core(1).status().commit - 1);
  assert.ok(c.appliedData(1).includes("w"));
});

Deno.test("read: a follower read index is the leader's commit; apply must reach it before serving", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.cut(1, 3);
  c.propose(1, "x");
  c.stabilize();
  c.heal();
  const leaderCommit = c.core(1).status().commit;
  const behind = c.core(3).status().applied;
  assert.ok(behind < leaderCommit);
  // Forward a read from 3, and let only the read traffic through (3's log stays behind).
  c.core(3).readIndex(bytes("f"));
  c.stabilize((m) => m.type === "app" && m.to === 3);
  const rs = c.node(3).readStates;
  assert.equal(rs.length, 1);
  assert.equal(rs[0].index, leaderCommit);
  assert.ok(c.core(3).status().applied < rs[0].index, "the runtime must wait for apply");
  c.tickAll(2);
  assert.ok(c.core(3).status().applied >= rs[0].index);
});
