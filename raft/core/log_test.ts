// Unit tests of the log, the memory storage and restart bookkeeping.
import assert from "node:assert/strict";
import type { Entry } from "../types.ts";
import { initialSnapshot } from "./bootstrap.ts";
import { RaftCore } from "./core.ts";
import { RaftLog } from "./log.ts";
import { MemoryLogStorage } from "./memory_storage.ts";
import { bytes, TestCluster } from "./testing.ts";
import { encodeConfChange } from "./util.ts";

const ent = (index: number, term: number): Entry => ({ index, term, type: "normal", data: bytes(`${index}`) });

Deno.test("log: memory storage appends, truncates on conflict, compacts and reports terms at the boundary", () => {
  const s = new MemoryLogStorage(initialSnapshot([1]));
  assert.equal(s.firstIndex(), 2);
  assert.equal(s.lastIndex(), 1);
  assert.equal(s.term(1), 1);
  s.append([ent(2, 1), ent(3, 1), ent(4, 2)]);
  s.append([ent(3, 3)]); // conflict: drops 4
  assert.equal(s.lastIndex(), 3);
  assert.equal(s.term(3), 3);
  s.compact(2);
  assert.equal(s.firstIndex(), 3);
  assert.equal(s.term(2), 1);
  assert.throws(() => s.term(1));
  assert.deepEqual(s.entries(3, 4).map((e) => e.index), [3]);
});

Deno.test("log: unstable tail overrides storage, slices span both, and conflicts below commit are refused", () => {
  const s = new MemoryLogStorage(initialSnapshot([1]));
  s.append([ent(2, 1), ent(3, 1)]);
  s.setHardState({ term: 1, vote: 0, commit: 2 });
  const log = new RaftLog(s);
  assert.equal(log.committed, 2);
  assert.equal(log.maybeAppend(3, 1, 2, [ent(4, 2), ent(5, 2)]), 5);
  assert.deepEqual(log.slice(2, 6)!.map((e) => e.index), [2, 3, 4, 5]);
  assert.equal(log.maybeAppend(3, 1, 2, [ent(4, 3)]), 4); // conflict at 4 replaces the unstable tail
  assert.equal(log.lastIndex(), 4);
  assert.equal(log.term(4), 3);
  assert.throws(() => log.maybeAppend(1, 1, 2, [ent(2, 9)]), /committed/);
  assert.equal(log.maybeAppend(4, 2, 2, []), undefined, "mismatching previous term");
  assert.equal(log.findConflictByTerm(4, 1), 3);
});

Deno.test("log: a restart replays conf entries between the snapshot and the applied index", () => {
  const s = new MemoryLogStorage(initialSnapshot([1, 2, 3]));
  s.append([
    { index: 2, term: 2, type: "normal", data: new Uint8Array() },
    { index: 3, term: 2, type: "conf", data: encodeConfChange({ type: "addLearner", id: 4 }) },
    { index: 4, term: 2, type: "conf", data: encodeConfChange({ type: "promote", id: 4 }) },
    { index: 5, term: 2, type: "conf", data: encodeConfChange({ type: "remove", id: 2 }) },
  ]);
  s.setHardState({ term: 2, vote: 1, commit: 5 });
  const core = new RaftCore({ id: 1, random: () => 0, storage: s, applied: 4 });
  assert.deepEqual(core.status().conf, { voters: [1, 2, 3, 4], learners: [] });
  const rd = core.ready();
  assert.deepEqual(rd.committed.map((e) => e.index), [5], "only the unapplied tail is handed out");
  core.advance(rd);
  assert.deepEqual(core.status().conf.voters.sort(), [1, 3, 4]);
});

Deno.test("log: a restarted cluster re-applies committed entries exactly once from its snapshot", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  for (let i = 0; i < 6; i++) c.propose(1, `k${i}`);
  c.stabilize();
  c.compact(2);
  c.propose(1, "tail");
  c.stabilize();
  for (const id of [1, 2, 3]) c.crash(id);
  for (const id of [1, 2, 3]) c.restart(id);
  c.tickAll(1);
  assert.deepEqual(c.appliedData(2), ["tail"], "entries inside the snapshot are not applied again");
  assert.equal(c.appliedData(1).length, 7);
  c.tickAll(40);
  assert.equal(c.leaders().length, 1);
});
