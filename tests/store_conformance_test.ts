import { runConformance } from "../store/testing/conformance.ts";
import { MemoryStore } from "../store/memory.ts";
import { FsStore } from "../store/fs.ts";
import { EtcdClient } from "../store/etcd.ts";
import { startEtcd } from "../testing/etcd.ts";
import { ZooKeeperClient } from "../store/zookeeper.ts";
import { startZooKeeper } from "../testing/zookeeper.ts";

Deno.test("store conformance: memory", async (t) => {
  const store = new MemoryStore();
  try {
    await runConformance(t, {
      open: () => Promise.resolve(store.client()),
      sessions: true,
      ttlMs: 1000,
      exactlyOnce: true,
    });
  } finally {
    store.close();
  }
});

Deno.test("store conformance: filesystem", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "codis-fs-store-" });
  try {
    const store = await FsStore.open(root);
    await runConformance(t, {
      open: () => Promise.resolve(store.client()),
      sessions: false,
      ttlMs: 300,
      exactlyOnce: true,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("store conformance: etcd (real server)", async (t) => {
  const etcd = await startEtcd();
  try {
    await runConformance(t, {
      open: () => Promise.resolve(new EtcdClient({ endpoints: [etcd.endpoint] })),
      sessions: true,
      ttlMs: 1000,
      exactlyOnce: true,
    });
  } finally {
    await etcd.stop();
  }
});

Deno.test("store conformance: zookeeper (real server)", async (t) => {
  const zk = await startZooKeeper();
  try {
    await runConformance(t, {
      open: () => ZooKeeperClient.connect({ connect: zk.connect }),
      sessions: true,
      ttlMs: 3000,
      exactlyOnce: true,
    });
  } finally {
    await zk.stop();
  }
});
