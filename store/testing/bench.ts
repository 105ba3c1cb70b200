/**
 * Rough write/read/long-poll figures per backend:
 * `deno run -A store/testing/bench.ts [memory|fs|etcd|zookeeper|raft|raft-http ...]`.
 * Starts its own servers (etcd, ZooKeeper, 3 in-process Raft members) on loopback and removes them afterwards.
 * @module
 */
import type { CoordClient } from "../client.ts";
import { EtcdClient } from "../etcd.ts";
import { FsStore } from "../fs.ts";
import { HttpStoreClient } from "../http_client.ts";
import { MemoryStore } from "../memory.ts";
import { ZooKeeperClient } from "../zookeeper.ts";
import { startRaftGroup } from "./raft_group.ts";
import { startEtcd } from "../../testing/etcd.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

const SEQ = 300;
const PAR = 1000;
const data = new TextEncoder().encode(JSON.stringify({ id: 1, group_id: 2, action: {} }));

async function measure(name: string, c: CoordClient): Promise<void> {
  const base = `/bench-${crypto.randomUUID().slice(0, 6)}`;
  let t = performance.now();
  for (let i = 0; i < SEQ; i++) await c.update(`${base}/seq/k${i % 64}`, data);
  const seqMs = (performance.now() - t) / SEQ;
  t = performance.now();
  await Promise.all(Array.from({ length: PAR }, (_, i) => c.update(`${base}/par/k${i}`, data)));
  const parRate = PAR / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < SEQ; i++) await c.read(`${base}/seq/k${i % 64}`);
  const readMs = (performance.now() - t) / SEQ;
  // Long-poll wake-up latency: a waiting poll, then one write.
  const lat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const rev = await c.revision();
    await c.waitForChanges(`${base}/lp/`, rev, 0);
    const p = c.waitForChanges(`${base}/lp/`, rev, 5000);
    const t0 = performance.now();
    await c.update(`${base}/lp/x`, data);
    await p;
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(10)} sequential update ${seqMs.toFixed(2)} ms | ${PAR} concurrent updates ${
      parRate.toFixed(0)
    }/s | read ${readMs.toFixed(2)} ms | write→long-poll wake p50 ${lat[10].toFixed(1)} ms`,
  );
}

const which = Deno.args.length ? Deno.args : ["memory", "fs", "etcd", "zookeeper", "raft", "raft-http"];
for (const name of which) {
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    let c: CoordClient;
    if (name === "memory") {
      const s = new MemoryStore();
      cleanup.push(() => s.close());
      c = s.client();
    } else if (name === "fs") {
      const root = await Deno.makeTempDir();
      cleanup.push(() => Deno.remove(root, { recursive: true }));
      c = (await FsStore.open(root)).client();
    } else if (name === "etcd") {
      const e = await startEtcd();
      cleanup.push(() => e.stop());
      c = new EtcdClient({ endpoints: [e.endpoint] });
    } else if (name === "zookeeper") {
      const z = await startZooKeeper();
      cleanup.push(() => z.stop());
      c = await ZooKeeperClient.connect({ connect: z.connect });
    } else {
      const root = await Deno.makeTempDir();
      const g = await startRaftGroup(root, { http: name === "raft-http" });
      cleanup.push(async () => {
        await g.stop();
        await Deno.remove(root, { recursive: true });
      });
      const l = await g.leader();
      c = name === "raft-http"
        ? new HttpStoreClient({ endpoints: [g.http.get(l)!], secret: g.secret })
        : g.stores.get(l)!.client();
    }
    cleanup.unshift(() => c.close());
    await measure(name, c);
  } finally {
    for (const f of cleanup) await f();
  }
}
