import assert from "node:assert/strict";
import { sleep } from "../store/client.ts";
import { startRaftGroup } from "../store/testing/raft_group.ts";
import { NamespaceStateMachine } from "../store/namespace/state.ts";
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
      ttlMs: 1000,
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
    const keep = await c.openSession({ ttlMs: 1000 });
    const silent = await c.openSession({ ttlMs: 1000 });
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
    await sleep(2000);
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
