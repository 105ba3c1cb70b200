import assert from "node:assert/strict";
import { sleep } from "../store/client.ts";
import { startRaftGroup } from "../store/testing/raft_group.ts";
import { NamespaceStateMachine } from "../store/namespace_state.ts";
import { RaftStore } from "../store/raft_client.ts";
import { NoQuorumError, NotLeaderError } from "../store/errors.ts";
import { runConformance } from "../store/testing/conformance.ts";

const te = new TextEncoder();

Deno.test("store conformance: raft (3 in-process members over loopback)", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "codis-raft-store-" });
  const g = await startRaftGroup(root);
  try {
    const l = await g.leader();
    const follower = [...g.stores.keys()].find((id) => id !== l)!;
    let turn = 0;
    await runConformance(t, {
      // One client on the leader, one on a follower (its writes are forwarded, its reads use ReadIndex).
      open: () => Promise.resolve(g.stores.get(turn++ % 2 ? follower : l)!.client()),
      sessions: true,
      ttlMs: 2000,
      exactlyOnce: true,
    });
  } finally {
    await g.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("raft store: sessions across a leader kill (renewing keeps nodes, silent ones expire)", async () => {
  const root = await Deno.makeTempDir({ prefix: "codis-raft-store-" });
  const g = await startRaftGroup(root);
  try {
    const l = await g.leader();
    const survivor = [...g.stores.keys()].find((id) => id !== l)!;
    const c = g.stores.get(survivor)!.client();
    const keep = await c.openSession({ ttlMs: 2000 });
    const silent = await c.openSession({ ttlMs: 2000 });
    await keep.createEphemeral("/jodis/demo/proxy-keep", te.encode("k"));
    await silent.createEphemeral("/jodis/demo/proxy-silent", te.encode("s"));
    const before = await c.revision();
    silent.stopRenewing();
    await g.kill(l);
    const l2 = await g.leader(10_000);
    assert.notEqual(l2, l);
    // The new leader re-arms every lease with a full TTL, then expires only the silent one.
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && (await c.read("/jodis/demo/proxy-silent")) !== undefined) await sleep(100);
    assert.equal(await c.read("/jodis/demo/proxy-silent"), undefined, "silent session expired after failover");
    await sleep(2500);
    assert.ok((await c.read("/jodis/demo/proxy-keep")) !== undefined, "renewing session survived failover");
    // Watchers on any member see the expiry, exactly once.
    const seen = await c.waitForChanges("/jodis/demo/", before, 1000);
    assert.deepEqual(seen.events.map((e) => `${e.type}:${e.path}`), ["delete:/jodis/demo/proxy-silent"]);
    // Every surviving member holds the same namespace.
    for (const s of g.stores.values()) await s.client().read("/jodis/demo/proxy-keep", true);
    const snaps = [...g.stores.values()].map((s) => s.sm.revision);
    assert.equal(new Set(snaps).size, 1, `revisions agree: ${snaps}`);
    await c.close();
  } finally {
    await g.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("raft store: Raft errors become typed store errors (not leader with address, unknown outcome)", async () => {
  const sm = new NamespaceStateMachine();
  let failWith = "NotLeaderError";
  const fake = {
    propose: () => Promise.reject(Object.assign(new Error("nope"), { name: failWith })),
    read: () => Promise.resolve(),
    status: () => ({ id: 1, role: "follower", leader: 2, leaderAddr: "127.0.0.1:28081" }),
  };
  const store = new RaftStore(fake, sm);
  const c = store.client({ attempts: 2 });
  try {
    const err = await c.update("/a", te.encode("x")).catch((e) => e);
    assert.ok(err instanceof NotLeaderError);
    assert.deepEqual([err.leaderId, err.leaderAddr], [2, "127.0.0.1:28081"]);
    failWith = "UnknownOutcomeError";
    await assert.rejects(c.update("/a", te.encode("x")), NoQuorumError);
  } finally {
    await c.close();
    store.close();
  }
});

Deno.test("raft store: leader killed during writes; watchers miss nothing; all members agree; restart keeps acked writes", async () => {
  const root = await Deno.makeTempDir({ prefix: "codis-raft-store-" });
  const g = await startRaftGroup(root);
  try {
    const l = await g.leader();
    const [a, b] = [...g.stores.keys()].filter((id) => id !== l);
    const writer = g.stores.get(a)!.client();
    const watcher = g.stores.get(b)!.client();
    const start = await watcher.revision();
    // The watcher long-polls from a surviving follower the whole time.
    const seen: { path: string; revision: number }[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      for await (const ev of watcher.watch("/w/", start, ac.signal)) {
        seen.push({ path: ev.path, revision: ev.revision });
      }
    })();
    const acked: string[] = [];
    const failed: string[] = [];
    const N = 150;
    for (let i = 0; i < N; i++) {
      const p = `/w/k${String(i).padStart(3, "0")}`;
      if (i === 50) await g.kill(l); // leader gone mid-stream; the next writes ride the election
      try {
        await writer.create(p, te.encode(String(i)));
        acked.push(p);
      } catch (e) {
        failed.push(`${p}: ${e}`);
      }
    }
    assert.ok(acked.length >= N - 2, `almost every write is acknowledged across the failover: ${failed.join("; ")}`);
    const last = await writer.revision();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (seen.length === 0 || seen[seen.length - 1].revision < last)) await sleep(20);
    ac.abort();
    assert.equal(await watching, undefined, "the watch stream survived the failover");
    // Exactly once each, in order: no gaps, no duplicates, even for writes retried across the election.
    const paths = seen.map((e) => e.path);
    assert.equal(new Set(paths).size, paths.length, "no duplicate events");
    for (const p of acked) assert.ok(paths.includes(p), `event for ${p}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].revision > seen[i - 1].revision);
    // The two survivors hold the same namespace.
    for (const s of g.stores.values()) await s.client().revision();
    const [sa, sb] = [...g.stores.values()].map((s) => s.sm);
    assert.equal(sa.revision, sb.revision);
    assert.deepEqual([...sa.nodes.keys()].sort(), [...sb.nodes.keys()].sort());
    await writer.close();
    await watcher.close();
    // Everything restarts (the old leader too): every acknowledged write is still there, on every member.
    await g.stop();
    for (const id of [1, 2, 3]) await g.restart(id);
    await g.leader(10_000);
    for (const s of g.stores.values()) {
      const c = s.client();
      const kids = await c.list("/w");
      for (const p of acked) assert.ok(kids.includes(p), `${p} survived the restart`);
      await c.close();
    }
  } finally {
    await g.stop();
    await Deno.remove(root, { recursive: true });
  }
});
