// Scripted election scenarios (reference section 7, items 1-9).
import assert from "node:assert/strict";
import { NotLeaderError } from "./errors.ts";
import { MemoryLogStorage } from "./memory_storage.ts";
import { TestCluster } from "./testing.ts";

Deno.test("election: three nodes elect exactly one leader within two election timeouts (§7.1)", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = new TestCluster([1, 2, 3], { seed });
    let ticks = 0;
    while (c.leaders().length === 0 && ticks < 40) {
      c.tickAll(1);
      ticks++;
    }
    assert.equal(c.leaders().length, 1, `seed ${seed}`);
    assert.ok(ticks <= 38, `seed ${seed}: elected after ${ticks} ticks`);
  }
});

Deno.test("election: split vote leaves the term leaderless, a later election succeeds (§7.2)", () => {
  const c = new TestCluster([1, 2, 3], { preVote: false });
  // 1 and 2 campaign in the same instant; each votes for itself and 3 grants only the first request it sees.
  c.core(1).campaign();
  c.core(2).campaign();
  c.processAll();
  c.deliver((m) => m.from === 2 && m.to === 3); // 3 hears 1 first … and 2's request is lost
  c.stabilize();
  assert.deepEqual(c.leaders(), [1]);
  // A true split: 4 nodes? With 3 voters both candidates may end without a majority if 3 is down.
  const d = new TestCluster([1, 2, 3], { preVote: false });
  d.crash(3);
  d.core(1).campaign();
  d.core(2).campaign();
  d.stabilize();
  assert.deepEqual(d.leaders(), [], "nobody can win a split vote");
  assert.equal(d.core(1).status().term, d.core(2).status().term);
  d.tickAll(30);
  assert.equal(d.leaders().length, 1, "re-randomized timeouts break the tie");
});

Deno.test("election: a node with a shorter log is denied votes and cannot overwrite committed entries (§7.4)", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.cut(1, 3);
  c.propose(1, "x");
  c.stabilize();
  assert.equal(c.core(1).status().commit, c.core(2).status().commit);
  c.heal();
  c.crash(1);
  // 3 lacks "x": 2 refuses it (and 3 cannot win); 2 can win.
  c.core(3).campaign();
  c.stabilize();
  assert.notEqual(c.core(3).status().role, "leader");
  c.tickAll(40);
  assert.deepEqual(c.leaders(), [2]);
  c.stabilize();
  assert.ok(c.appliedData(3).includes("x"));
});

Deno.test("election: the vote goes out only in the same Ready as the durable vote (§7.5)", () => {
  const c = new TestCluster([1, 2, 3], { preVote: false });
  c.core(1).campaign();
  c.process(1);
  const req = c.queue.find((m) => m.to === 2 && m.type === "vote")!;
  c.queue = [];
  c.core(2).step(req);
  const rd = c.core(2).ready();
  assert.equal(rd.hardState?.vote, 1);
  assert.ok(rd.messages.some((m) => m.type === "voteResp" && !m.reject));
  // Crash before persisting: the response was never sent, and after restart 2 may vote anew.
  c.crash(2);
  c.restart(2);
  assert.equal(c.core(2).status().vote, 0);
  // Now persist a vote, crash after the fsync, restart: 2 refuses a second candidate in the same term.
  c.core(2).step(req);
  c.process(2);
  c.crash(2);
  c.restart(2);
  assert.equal(c.core(2).status().vote, 1);
  c.queue = [];
  c.core(2).step({ ...req, from: 3 });
  c.process(2);
  const resp = c.queue.find((m) => m.type === "voteResp" && m.to === 3)!;
  assert.equal(resp.reject, true);
});

Deno.test("election: an isolated follower rejoining does not disturb the leader thanks to PreVote (§7.6)", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  const term = c.core(1).status().term;
  c.isolate(3);
  c.tickAll(10 * 20);
  assert.equal(c.core(3).status().term, term, "pre-votes do not raise the term");
  c.heal();
  c.tickAll(30);
  assert.deepEqual(c.leaders(), [1]);
  assert.equal(c.core(1).status().term, term);
});

Deno.test("election: CheckQuorum makes an isolated leader step down and refuse writes (§7.7)", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(1);
  c.tick(1, 10);
  // Followers answered the leader's first append, so the first check-quorum window still counts them.
  assert.equal(c.core(1).status().role, "leader");
  c.tick(1, 10); // one full election timeout without hearing from anyone
  assert.equal(c.core(1).status().role, "follower");
  assert.throws(() => c.core(1).propose(new Uint8Array([1])), NotLeaderError);
  assert.throws(() => c.core(1).readIndex(new Uint8Array([1])), NotLeaderError);
  c.tickAll(40);
  const leaders = c.leaders().filter((id) => id !== 1);
  assert.equal(leaders.length, 1, "the majority side elects a leader");
});

Deno.test("election: asymmetric partition settles on one stable leader without term inflation (§7.8)", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(2);
  c.cut(1, 3); // 1↔2 and 2↔3 up, 1↮3
  const t0 = c.core(2).status().term;
  c.tickAll(300);
  assert.deepEqual(c.leaders(), [2]);
  assert.equal(c.core(2).status().term, t0);
  c.propose(2, "y");
  c.stabilize();
  for (const id of [1, 2, 3]) assert.ok(c.appliedData(id).includes("y"));
  // Even if the leader starts on the cut's end, terms stay bounded.
  const d = new TestCluster([1, 2, 3], { seed: 7 });
  d.elect(1);
  d.cut(1, 3);
  d.tickAll(300);
  assert.equal(d.leaders().length, 1);
  assert.ok(d.core(2).status().term <= t0 + 4, `term grew to ${d.core(2).status().term}`);
});

Deno.test("election: a paused leader commits nothing and serves no read after resuming (§7.9)", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.crash(1); // "paused": it keeps its memory but does nothing
  const paused = c.node(1);
  c.tickAll(40);
  const [newLeader] = c.leaders();
  assert.ok(newLeader === 2 || newLeader === 3);
  c.propose(newLeader, "new");
  c.stabilize();
  paused.up = true; // resume without ticking
  assert.equal(paused.core.status().role, "leader");
  paused.core.propose(new Uint8Array([9]));
  paused.core.readIndex(new TextEncoder().encode("stale-read"));
  c.stabilize();
  assert.equal(paused.core.status().role, "follower");
  assert.equal(paused.readStates.length, 0, "no read state released by the stale leader");
  c.tickAll(5);
  for (const id of [1, 2, 3]) {
    assert.ok(!c.appliedData(id).includes("\u0009"), "the stale proposal never commits");
    assert.ok(c.appliedData(id).includes("new"));
  }
});

Deno.test("election: a member with an empty log (its data dir lost) refuses votes until a leader fed it", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.cut(1, 3);
  c.propose(1, "x"); // committed by 1 and 2; 3 lacks it
  c.stabilize();
  c.heal();
  // 1 goes down; 2 comes back with an empty data dir (the same id, not founded again).
  c.crash(1);
  c.crash(2);
  c.nodes.get(2)!.storage = new MemoryLogStorage();
  c.restart(2);
  c.core(3).campaign();
  c.stabilize((m) => m.to === 1 || m.from === 1);
  assert.deepEqual(c.leaders(), [], "3 lacks x: the empty member's vote must not elect it");
  // Once the member holding x is back, it is elected and brings the empty member up to date.
  c.restart(1);
  c.core(1).campaign();
  c.stabilize();
  assert.deepEqual(c.leaders(), [1]);
  c.propose(1, "y");
  c.stabilize();
  assert.ok(c.appliedData(2).includes("x"), "the empty member learns x from the leader");
});
