import assert from "node:assert/strict";
import { NodeSnapshots } from "./snapshot.ts";
import { PeerBook } from "./peers.ts";
import { DiskStorage } from "../storage/disk.ts";
import { initialSnapshot, RaftCore } from "../core/mod.ts";
import type { Entry, StateMachine } from "../types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A state machine that remembers every command it applied, in order. */
class ListMachine implements StateMachine {
  items: string[] = [];
  apply(e: Entry): unknown {
    this.items.push(dec.decode(e.data));
    return undefined;
  }
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = data.length ? JSON.parse(dec.decode(data)) : [];
  }
}

/**
 * A one-voter Raft node's parts over a real WAL in a temp dir, elected leader, with `commands` proposed, persisted
 * and applied the way the node's loop does it.
 */
async function oneVoter(commands: number) {
  const dir = await Deno.makeTempDir({ prefix: "node-snapshot-" });
  let storage = await DiskStorage.open(dir, { clusterId: "t", nodeId: 1 });
  await storage.save({ term: 1, vote: 0, commit: 1 }, [], initialSnapshot([1], { "1": "127.0.0.1:7001" }));
  const sm = new ListMachine();
  const core = new RaftCore({ id: 1, storage, random: () => 0.5, applied: 1 });
  let applied = 1, appliedTerm = 1;
  const pump = async () => {
    for (let i = 0; i < 1000 && core.hasReady(); i++) {
      const rd = core.ready();
      await storage.save(rd.hardState, rd.entries, rd.snapshot);
      for (const e of rd.committed) {
        if (e.type === "normal" && e.data.length > 0) sm.apply(e);
        applied = e.index;
        appliedTerm = e.term;
      }
      core.advance(rd);
    }
  };
  core.campaign();
  await pump();
  assert.equal(core.status().role, "leader");
  for (let i = 0; i < commands; i++) {
    core.propose(enc.encode(`c${i}`));
    await pump();
  }
  assert.equal(sm.items.length, commands);
  return {
    dir,
    sm,
    core,
    get storage() {
      return storage;
    },
    applied: () => ({ applied, appliedTerm }),
    /** Closes and reopens the WAL, as a restart would. */
    async reopen() {
      storage.close();
      storage = await DiskStorage.open(dir, { clusterId: "t", nodeId: 1 });
    },
    async cleanup() {
      storage.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("node snapshots: due after snapshotInterval entries since the latest snapshot (default 10,000)", async () => {
  const n = await oneVoter(0);
  try {
    const peers = new PeerBook(1);
    const five = new NodeSnapshots({ id: 1, snapshotInterval: 5 }, n.storage, n.sm, peers);
    assert.equal(five.due(4), false);
    assert.equal(five.due(5), true);
    five.index = 10; // a snapshot installed or recovered at 10
    assert.equal(five.due(14), false);
    assert.equal(five.due(15), true);
    assert.equal(five.due(10), false);

    const dflt = new NodeSnapshots({ id: 1 }, n.storage, n.sm, peers);
    assert.equal(dflt.due(9_999), false);
    assert.equal(dflt.due(10_000), true);
  } finally {
    await n.cleanup();
  }
});

Deno.test("node snapshots: take saves state, membership and members' addresses, and keeps the trailing entries", async () => {
  const n = await oneVoter(20);
  try {
    const { applied, appliedTerm } = n.applied();
    const peers = new PeerBook(1);
    peers.addrs.set(1, "127.0.0.1:7001");
    peers.learn({ type: "addLearner", id: 3, addr: "127.0.0.1:7003" }); // known, but not a member
    const snaps = new NodeSnapshots({ id: 1, snapshotInterval: 5, snapshotTrailing: 4 }, n.storage, n.sm, peers);
    assert.equal(snaps.due(applied), true);
    await snaps.take(n.core, applied, appliedTerm);

    assert.equal(snaps.index, applied);
    assert.equal(snaps.due(applied + 4), false);
    assert.equal(snaps.due(applied + 5), true);
    const check = () => {
      const snap = n.storage.snapshot();
      assert.ok(snap);
      assert.equal(snap.meta.index, applied);
      assert.equal(snap.meta.term, appliedTerm);
      assert.deepEqual(snap.meta.conf, { voters: [1], learners: [] });
      assert.deepEqual(snap.meta.addrs, { "1": "127.0.0.1:7001" });
      assert.deepEqual(JSON.parse(dec.decode(snap.data)), n.sm.items);
      assert.equal(
        n.storage.firstIndex(),
        applied - 4 + 1,
        "entries behind the snapshot beyond the trailing 4 dropped",
      );
      assert.equal(n.storage.lastIndex(), applied);
    };
    check();
    await n.reopen();
    check();
    const restored = new ListMachine();
    restored.restore(n.storage.snapshot()!.data);
    assert.deepEqual(restored.items, Array.from({ length: 20 }, (_, i) => `c${i}`));
  } finally {
    await n.cleanup();
  }
});

Deno.test("node snapshots: a log shorter than snapshotTrailing is kept whole", async () => {
  const n = await oneVoter(6);
  try {
    const { applied, appliedTerm } = n.applied();
    const first = n.storage.firstIndex();
    const snaps = new NodeSnapshots({ id: 1, snapshotInterval: 2 }, n.storage, n.sm, new PeerBook(1));
    await snaps.take(n.core, applied, appliedTerm);
    assert.equal(n.storage.snapshot()?.meta.index, applied);
    assert.equal(n.storage.firstIndex(), first);
    assert.equal(n.storage.entries(first, applied + 1).length, applied - first + 1);
  } finally {
    await n.cleanup();
  }
});

Deno.test("node snapshots: snapshotTrailing 0 empties the log up to the snapshot, and later entries follow it", async () => {
  const n = await oneVoter(8);
  try {
    const { applied, appliedTerm } = n.applied();
    const snaps = new NodeSnapshots({ id: 1, snapshotTrailing: 0 }, n.storage, n.sm, new PeerBook(1));
    await snaps.take(n.core, applied, appliedTerm);
    assert.equal(n.storage.firstIndex(), applied + 1);
    assert.equal(n.storage.lastIndex(), applied);

    // The core keeps working on top of the compacted log.
    n.core.propose(enc.encode("after"));
    for (let i = 0; i < 100 && n.core.hasReady(); i++) {
      const rd = n.core.ready();
      await n.storage.save(rd.hardState, rd.entries, rd.snapshot);
      for (const e of rd.committed) if (e.type === "normal" && e.data.length) n.sm.apply(e);
      n.core.advance(rd);
    }
    assert.equal(n.sm.items.at(-1), "after");
    assert.equal(n.storage.lastIndex(), applied + 1);
    await n.reopen();
    assert.equal(n.storage.snapshot()?.meta.index, applied);
    assert.equal(n.storage.firstIndex(), applied + 1);
  } finally {
    await n.cleanup();
  }
});
