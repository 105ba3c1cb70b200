// Scripted replication scenarios and fast conflict back-off.
import assert from "node:assert/strict";
import type { Entry, Message } from "../types.ts";
import { ProposalDroppedError } from "./errors.ts";
import { MemoryLogStorage } from "./memory_storage.ts";
import { RaftCore } from "./core.ts";
import { initialSnapshot } from "./bootstrap.ts";
import { bytes, TestCluster } from "./testing.ts";

const ent = (index: number, term: number, s = `e${index}`): Entry => ({ index, term, type: "normal", data: bytes(s) });

Deno.test("replication: stale and duplicated appends never truncate matching entries", () => {
  const storage = new MemoryLogStorage(initialSnapshot([1, 2, 3]));
  const core = new RaftCore({ id: 2, random: () => 0.5, storage });
  const app = (prev: number, ents: Entry[], commit = 1): Message => ({
    type: "app",
    from: 1,
    to: 2,
    term: 2,
    index: prev,
    logTerm: prev === 1 ? 1 : 2,
    entries: ents,
    commit,
  });
  core.step(app(1, [ent(2, 2), ent(3, 2), ent(4, 2)], 1));
  assert.equal(core.status().lastIndex, 4);
  core.step(app(1, [ent(2, 2)])); // an older append arrives late
  core.step(app(2, [ent(3, 2)])); // … and a duplicate
  assert.equal(core.status().lastIndex, 4, "matching suffix kept");
  core.step(app(4, [], 3));
  assert.equal(core.status().commit, 3);
  core.step(app(2, [ent(3, 2)], 1));
  assert.equal(core.status().commit, 3, "commit never goes back");
  const rd = core.ready();
  assert.deepEqual(rd.messages.map((m) => [m.index, m.reject ?? false]), [[4, false], [2, false], [3, false], [
    4,
    false,
  ], [
    3,
    false,
  ]]);
  // A real conflict after the commit point truncates from the conflict only.
  storage.append(rd.entries);
  core.advance(rd);
  core.step({ ...app(3, [ent(4, 3, "new")], 3), term: 3, logTerm: 2 });
  assert.equal(core.status().lastIndex, 4);
  assert.equal(core.term(4), 3);
});

Deno.test("replication: an earlier-term entry on a majority is not committed by counting (Figure 8 of the Raft paper)", () => {
  const c = new TestCluster([1, 2, 3, 4, 5], { preVote: false, checkQuorum: false, maxSizePerMsg: 1 });
  c.elect(1);
  // (a) S1 (term 2) replicates "a" at index 3 to S2 only.
  c.cut(1, 3), c.cut(1, 4), c.cut(1, 5);
  const a = c.propose(1, "a");
  c.stabilize();
  assert.equal(a, 3);
  assert.equal(c.core(2).term(3), 2);
  c.heal();
  // (b) S1 crashes; S5 wins term 3 with S3, S4 and itself; its own entry reaches nobody.
  c.crash(1);
  c.core(5).campaign();
  c.stabilize((m) => m.from === 5 && m.type === "app");
  assert.equal(c.core(5).status().role, "leader");
  assert.equal(c.core(5).status().term, 3);
  c.crash(5);
  // (c) S1 restarts and wins term 4; it copies index 3 (term 2) to S3 and S4: now on a majority.
  c.restart(1);
  c.core(1).campaign();
  c.stabilize((m) => m.from === 1 && m.type === "app");
  c.core(1).campaign();
  // Appends carrying index 4 only get through where they are rejected anyway (no index 3 yet).
  c.stabilize((m) =>
    m.from === 1 && m.type === "app" && (m.entries ?? []).some((e) => e.index >= 4) && c.core(m.to).term(3) === 2
  );
  assert.equal(c.core(1).status().role, "leader");
  assert.equal(c.core(1).status().term, 4);
  for (const id of [1, 3, 4]) assert.equal(c.core(id).term(3), 2, `S${id} holds index 3 from term 2`);
  assert.equal(c.core(1).status().commit, 2, "index 3 is on a majority but not committed");
  // (d) S1 crashes; S5 (last term 3) can still win and overwrite index 3: so it must not have been committed.
  c.crash(1);
  c.restart(5);
  for (let i = 0; i < 3 && c.core(5).status().role !== "leader"; i++) {
    c.core(5).campaign();
    c.stabilize();
  }
  assert.equal(c.core(5).status().role, "leader");
  c.stabilize();
  for (const id of [2, 3, 4, 5]) {
    assert.equal(c.core(id).term(3), 3, `S${id} has S5's entry at index 3`);
    assert.ok(!c.appliedData(id).includes("a"));
  }
});

Deno.test("replication: a follower behind the compaction point gets a chunked snapshot, then entries", () => {
  const c = new TestCluster([1, 2, 3], { maxSnapshotChunk: 8 });
  c.elect(1);
  c.crash(3);
  for (let i = 0; i < 20; i++) c.propose(1, `v${i}`);
  c.stabilize();
  const snap = c.compact(1, bytes("state-machine-image-of-some-length-40b!!"));
  assert.ok(c.core(1).status().firstIndex > 5);
  c.restart(3);
  const states = new Set<string>();
  let droppedOne = false;
  for (let i = 0; i < 60; i++) {
    c.tick(1);
    c.tick(3);
    c.stabilize((m) => {
      // Lose one middle chunk: the leader must notice the stall and resend.
      if (!droppedOne && m.type === "snap" && m.snapshot!.offset === 16) return (droppedOne = true);
      return false;
    });
    states.add(c.core(1).status().progress![3].state);
  }
  assert.ok(droppedOne);
  assert.ok(states.has("snapshot"), "went through snapshot state");
  assert.equal(c.core(1).status().progress![3].state, "replicate");
  assert.equal(c.node(3).storage.snapshot()?.meta.index, snap.meta.index);
  assert.deepEqual(c.node(3).storage.snapshot()?.data, snap.data);
  c.propose(1, "after");
  c.stabilize();
  assert.deepEqual(c.appliedData(3), ["after"], "only entries after the snapshot are applied as entries");
  const chunks = c.sent.filter((m) => m.type === "snap");
  assert.ok(chunks.every((m) => m.snapshot!.data.length <= 8));
});

Deno.test("replication: a slow follower is bounded by the in-flight window, and the majority keeps committing", () => {
  const c = new TestCluster([1, 2, 3], { maxInflightMsgs: 2 });
  c.elect(1);
  c.cutOneWay(3, 1); // 3 receives but its acknowledgements are lost
  c.sent = [];
  for (let i = 0; i < 10; i++) {
    c.propose(1, `w${i}`);
    c.stabilize();
  }
  const toSlow = c.sent.filter((m) => m.type === "app" && m.to === 3 && m.entries?.length);
  assert.ok(toSlow.length <= 2, `${toSlow.length} appends in flight to the slow follower`);
  assert.equal(c.appliedData(1).length, 10, "the fast majority commits everything");
  c.heal();
  c.tickAll(3);
  assert.equal(c.appliedData(3).length, 10, "the slow follower catches up once heard");
});

Deno.test("replication: a leader without quorum refuses proposals instead of buffering forever", () => {
  const c = new TestCluster([1, 2, 3], { maxUncommittedSize: 1000 });
  c.elect(1);
  c.isolate(1);
  let refused = 0;
  for (let i = 0; i < 50; i++) {
    try {
      c.core(1).propose(new Uint8Array(100));
    } catch (e) {
      assert.ok(e instanceof ProposalDroppedError);
      refused++;
    }
  }
  assert.ok(refused >= 40, `refused ${refused}`);
});

Deno.test("replication: an entry larger than the message limit is sent alone and commits", () => {
  const c = new TestCluster([1, 2, 3], { maxSizePerMsg: 16 });
  c.elect(1);
  c.sent = [];
  c.propose(1, "x".repeat(500));
  c.propose(1, "y".repeat(500));
  c.stabilize();
  const apps = c.sent.filter((m) => m.type === "app" && m.entries?.length);
  assert.ok(apps.every((m) => m.entries!.length === 1));
  for (const id of [1, 2, 3]) assert.equal(c.appliedData(id).length, 2);
});

Deno.test("replication: fast back-off skips a divergent term in few round trips", () => {
  const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
  c.elect(3);
  c.isolate(3);
  for (let i = 0; i < 50; i++) c.propose(3, `stale${i}`); // 50 uncommitted entries on a deposed leader
  c.stabilize();
  c.heal();
  c.crash(3);
  c.elect(1);
  for (let i = 0; i < 5; i++) c.propose(1, `fresh${i}`);
  c.stabilize();
  c.restart(3);
  c.sent = [];
  c.tickAll(2);
  const rejects = c.sent.filter((m) => m.type === "appResp" && m.from === 3 && m.reject);
  assert.ok(rejects.length <= 3, `${rejects.length} rejections`);
  assert.equal(c.core(3).status().lastIndex, c.core(1).status().lastIndex);
  assert.ok(c.appliedData(3).includes("fresh4") && !c.appliedData(3).some((d) => d.startsWith("stale")));
});

Deno.test("durability: a proposal not yet persisted is lost by a crash, and nothing about it was sent", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.core(1).propose(bytes("volatile")); // not processed: no fsync, no message
  c.crash(1);
  c.restart(1);
  c.stabilize();
  assert.equal(c.queue.length, 0);
  c.tickAll(40);
  c.stabilize();
  for (const id of [1, 2, 3]) assert.ok(!c.appliedData(id).includes("volatile"));
  // All nodes crash at once after a write was acknowledged (applied on the leader): it survives.
  const [l] = c.leaders();
  c.propose(l, "acked");
  c.stabilize();
  assert.ok(c.appliedData(l).includes("acked"));
  for (const id of [1, 2, 3]) c.crash(id);
  for (const id of [1, 2, 3]) c.restart(id);
  c.tickAll(40);
  for (const id of [1, 2, 3]) assert.ok(c.appliedData(id).includes("acked"), `node ${id} after power failure`);
});

Deno.test("snapshot: a follower restarting in the middle of a chunked transfer is sent the snapshot from the start", () => {
  const c = new TestCluster([1, 2, 3], { maxSnapshotChunk: 4 });
  c.elect(1);
  c.crash(3);
  for (let i = 0; i < 10; i++) c.propose(1, `v${i}`);
  c.stabilize();
  const snap = c.compact(1, bytes("0123456789abcdef0123"));
  c.restart(3);
  let restarted = false;
  for (let i = 0; i < 80 && c.node(3).storage.snapshot()?.meta.index !== snap.meta.index; i++) {
    c.tick(1);
    c.tick(3);
    c.stabilize((m) => {
      if (!restarted && m.type === "snap" && m.snapshot!.offset === 8) {
        c.crash(3);
        c.restart(3); // the partial assembly is lost
        restarted = true;
      }
      return false;
    });
  }
  assert.ok(restarted);
  assert.deepEqual(c.node(3).storage.snapshot()?.data, snap.data);
  const offsets = c.sent.filter((m) => m.type === "snap").map((m) => m.snapshot!.offset);
  assert.ok(offsets.lastIndexOf(0) > offsets.indexOf(8), "the transfer restarted from offset 0");
});
