import assert from "node:assert/strict";
import { NotLeaderError, RaftNode } from "../raft/node/node.ts";
import { KvStateMachine, putCmd } from "../raft/kvtest/kv.ts";
import { freePort } from "../testing/ports.ts";

async function waitFor<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("timed out");
}

Deno.test("raft node: three in-process nodes elect, replicate, read, restart and change membership", async () => {
  const root = await Deno.makeTempDir();
  const ids = [1, 2, 3];
  const peers = new Map(ids.map((id) => [id, `127.0.0.1:${freePort()}`]));
  const nodes = new Map<number, RaftNode>();
  const sms = new Map<number, KvStateMachine>();
  const changes: [number, number, string][] = [];
  const start = async (id: number, join = false, addr = peers.get(id)!) => {
    const sm = new KvStateMachine();
    const n = await RaftNode.start({
      id,
      addr,
      apiAddr: `api-${id}`,
      onStateChange: (s) => changes.push([id, s.leader, s.role]),
      peers,
      join,
      bootstrap: "new",
      dataDir: `${root}/n${id}`,
      clusterId: "test",
      clusterSecret: "secret",
      tickMs: 20,
      snapshotInterval: 50,
      snapshotTrailing: 10,
    }, sm);
    nodes.set(id, n);
    sms.set(id, sm);
    return n;
  };
  const leader = () => [...nodes.values()].find((n) => n.status().role === "leader");
  try {
    for (const id of ids) await start(id);
    const l = await waitFor(leader);
    const r = await l.propose(putCmd("a", "1")) as { index: number };
    const lid = l.status().id;
    assert.ok(changes.some(([id, leader, role]) => id === lid && leader === lid && role === "leader"));
    assert.ok(r.index > 1);
    const f = [...nodes.values()].find((n) => n !== l)!;
    await assert.rejects(() => f.propose(putCmd("b", "2")), (e: Error) => {
      assert.ok(e instanceof NotLeaderError);
      assert.equal(e.leader, l.status().id);
      assert.equal(e.leaderAddr, peers.get(e.leader));
      assert.equal(e.leaderApiAddr, `api-${e.leader}`);
      return true;
    });
    await f.read();
    assert.equal(sms.get(f.status().id)!.data.get("a"), "1");
    // Enough writes for a few snapshots and compactions.
    await Promise.all(Array.from({ length: 200 }, (_, i) => l.propose(putCmd(`k${i}`, `${i}`))));
    await waitFor(() => l.status().snapshotIndex > 100);
    const m = l.status().metrics;
    assert.ok(m.fsyncs > 0 && m.fsyncMsMax >= m.fsyncMsAvg && m.walSegments >= 1, JSON.stringify(m));
    // Restart a follower: it recovers from its snapshot and WAL.
    const fid = f.status().id;
    await f.close();
    nodes.delete(fid);
    await l.propose(putCmd("while-down", "x"));
    const f2 = await start(fid);
    await f2.read();
    assert.equal(sms.get(fid)!.data.get("while-down"), "x");
    assert.equal(sms.get(fid)!.data.get("k199"), "199");
    // A new learner joins (from a snapshot), is promoted, then a node is removed.
    const addr4 = `127.0.0.1:${freePort()}`;
    await start(4, true, addr4);
    await l.addLearner(4, addr4);
    await l.promote(4);
    await waitFor(() => sms.get(4)!.data.get("k199") === "199");
    assert.equal(l.status().members.filter((m) => m.voter).length, 4);
    await l.remove(fid);
    await nodes.get(fid)!.close();
    nodes.delete(fid);
    await l.propose(putCmd("after-remove", "y"));
    await nodes.get(4)!.read();
    assert.equal(sms.get(4)!.data.get("after-remove"), "y");
    // Leadership transfer.
    await l.transferLeader(4);
    await waitFor(() => nodes.get(4)!.status().role === "leader");
    await nodes.get(4)!.propose(putCmd("on-4", "z"));
  } finally {
    for (const n of nodes.values()) await n.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("raft node: contiguous appends to one peer are merged, order to each peer kept", async () => {
  const { coalesceAppends } = await import("../raft/node/batch.ts");
  const e = (index: number) => ({ term: 2, index, type: "normal" as const, data: new Uint8Array([index]) });
  const out = coalesceAppends([
    { type: "app", from: 1, to: 2, term: 2, index: 4, logTerm: 2, entries: [e(5)], commit: 3 },
    { type: "app", from: 1, to: 3, term: 2, index: 4, logTerm: 2, entries: [e(5)], commit: 3 },
    { type: "app", from: 1, to: 2, term: 2, index: 5, logTerm: 2, entries: [e(6), e(7)], commit: 4 },
    { type: "heartbeat", from: 1, to: 3, term: 2, commit: 4 },
    { type: "app", from: 1, to: 3, term: 2, index: 5, logTerm: 2, entries: [e(6)], commit: 4 },
    { type: "app", from: 1, to: 2, term: 2, index: 9, logTerm: 2, entries: [e(10)], commit: 4 },
  ]);
  assert.deepEqual(out.map((m) => [m.to, m.type, m.index, m.entries?.map((x) => x.index), m.commit]), [
    [2, "app", 4, [5, 6, 7], 4],
    [3, "app", 4, [5], 3],
    [3, "heartbeat", undefined, undefined, 4],
    [3, "app", 5, [6], 4],
    [2, "app", 9, [10], 4],
  ]);
});

Deno.test("raft node: a learner catches up from a snapshot sent in several chunks", async () => {
  const root = await Deno.makeTempDir();
  const peers = new Map([1, 2, 3].map((id) => [id, `127.0.0.1:${freePort()}`]));
  const nodes: RaftNode[] = [];
  const sms = new Map<number, KvStateMachine>();
  const start = async (id: number, join = false) => {
    const sm = new KvStateMachine();
    sms.set(id, sm);
    const addr = peers.get(id) ?? `127.0.0.1:${freePort()}`;
    const cfg = { id, addr, peers, join, dataDir: `${root}/n${id}`, clusterId: "t", clusterSecret: "s", tickMs: 20 };
    const n = await RaftNode.start({ ...cfg, bootstrap: "new", snapshotInterval: 100, snapshotTrailing: 5 }, sm);
    nodes.push(n);
    return n;
  };
  try {
    for (const id of [1, 2, 3]) await start(id);
    const l = await waitFor(() => nodes.find((n) => n.status().role === "leader"));
    const big = "v".repeat(4096);
    for (let i = 0; i < 4; i++) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => l.propose(putCmd(`big${i}-${j}`, big))));
    }
    await waitFor(() => l.status().snapshotIndex > 300);
    const n5 = await start(5, true);
    await l.addLearner(5, n5.addr);
    await waitFor(() => sms.get(5)!.data.size >= 400, 10_000);
    assert.equal(sms.get(5)!.data.get("big3-99"), big);
    assert.ok(n5.status().snapshotIndex > 300);
  } finally {
    for (const n of nodes) await n.close();
    await Deno.remove(root, { recursive: true });
  }
});
