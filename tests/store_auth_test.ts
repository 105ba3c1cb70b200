import assert from "node:assert/strict";
import { openCoordinator } from "../store/mod.ts";
import { StoreError } from "../store/errors.ts";
import { startEtcd } from "../testing/etcd.ts";
import { startZooKeeper } from "../testing/zookeeper.ts";

const te = new TextEncoder();

Deno.test("zookeeper --zookeeper-auth: digest-authenticated nodes are closed to other users", async () => {
  const zk = await startZooKeeper();
  try {
    const owner = await openCoordinator({ name: "zookeeper", addr: zk.connect, auth: "codis:s3cret" });
    const stranger = await openCoordinator({ name: "zk", addr: zk.connect });
    const wrong = await openCoordinator({ name: "zk", addr: zk.connect, auth: "codis:nope" });
    try {
      await owner.update("/codis3/demo/topom", te.encode("{}"));
      assert.equal((await owner.read("/codis3/demo/topom", true)).data.length, 2);
      for (const c of [stranger, wrong]) {
        const err = await c.read("/codis3/demo/topom").catch((e) => e);
        assert.ok(err instanceof StoreError && /not authorized/.test(err.message), String(err));
      }
    } finally {
      await owner.close();
      await stranger.close();
      await wrong.close();
    }
  } finally {
    await zk.stop();
  }
});

Deno.test("etcd --etcd-auth: user/password authentication", async () => {
  const etcd = await startEtcd();
  try {
    const ctl = (...args: string[]) =>
      new Deno.Command("etcdctl", { args: [`--endpoints=${etcd.endpoint}`, ...args], env: { ETCDCTL_API: "3" } })
        .output();
    for (const args of [["user", "add", "root:rootpw"], ["auth", "enable"]]) {
      const out = await ctl(...args);
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    }
    const ok = await openCoordinator({ name: "etcd", addr: etcd.endpoint, auth: "root:rootpw" });
    try {
      await ok.update("/codis3/demo/topom", te.encode("{}"));
      assert.ok(await ok.read("/codis3/demo/topom"));
    } finally {
      await ok.close();
    }
    await assert.rejects(openCoordinator({ name: "etcd", addr: etcd.endpoint, auth: "root:wrong" }));
  } finally {
    await etcd.stop();
  }
});
