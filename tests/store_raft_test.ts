import assert from "node:assert/strict";
import { RaftNode } from "../raft/node.ts";
import { sleep } from "../store/client.ts";
import { NamespaceStateMachine } from "../store/namespace/state.ts";
import { RaftStore } from "../store/raft_client.ts";
import { runConformance } from "../store/testing/conformance.ts";
import { freePort } from "./support/ports.ts";

const te = new TextEncoder();

/** Three in-process Raft members over loopback, each with its own namespace; followers forward to the leader. */
async function startGroup(root: string, n = 3) {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const peers = new Map(ids.map((id) => [id, `127.0.0.1:${freePort()}`]));
  const nodes = new Map<number, RaftNode>();
  const stores = new Map<number, RaftStore>();
  const start = async (id: number) => {
    const sm = new NamespaceStateMachine({ maxHistory: 5000 });
    const node = await RaftNode.start({
      id,
      addr: peers.get(id)!,
      peers,
      dataDir: `${root}/n${id}`,
      clusterId: "store-test",
      clusterSecret: "secret",
      tickMs: 20,
      snapshotInterval: 200,
      snapshotTrailing: 50,
    }, sm);
    nodes.set(id, node);
    stores.set(
      id,
      new RaftStore(node, sm, {
        reapIntervalMs: 50,
        forward: (cmd, leader) => {
          const s = stores.get(leader.id);
          return s ? s.proposeLocal(cmd) : Promise.reject(new Error(`leader ${leader.id} is not in this process`));
        },
      }),
    );
  };
  for (const id of ids) await start(id);
  const leader = async (ms = 5000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const l = [...nodes.entries()].find(([, node]) => node.status().role === "leader");
      if (l) return l[0];
      await sleep(20);
    }
    throw new Error("no leader");
  };
  const kill = async (id: number) => {
    stores.get(id)!.close();
    stores.delete(id);
    await nodes.get(id)!.close();
    nodes.delete(id);
  };
  const stop = async () => {
    for (const id of [...nodes.keys()]) await kill(id);
  };
  return { nodes, stores, leader, kill, stop };
}

Deno.test("store conformance: raft (3 in-process members over loopback)", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "codis-raft-store-" });
  const g = await startGroup(root);
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
  const g = await startGroup(root);
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
