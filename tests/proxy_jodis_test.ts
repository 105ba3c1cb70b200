import assert from "node:assert/strict";
import { openCoordinator } from "../store/mod.ts";
import { startEtcd } from "../testing/etcd.ts";
import { freePort, waitForPort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { until } from "../testing/wait.ts";

const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;

function spawnProxy(args: string[]) {
  const port = freePort();
  const adminPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PROXY_CLI, `--proxy_addr=127.0.0.1:${port}`, `--admin_addr=127.0.0.1:${adminPort}`, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  return { child, port, adminPort };
}

Deno.test("jodis: an online proxy holds an ephemeral node in etcd; SIGTERM deletes it, a crash lets it expire", async () => {
  const etcd = await startEtcd();
  let redis: RedisProcess | undefined;
  const children: Deno.ChildProcess[] = [];
  const store = await openCoordinator({ name: "etcd", addr: etcd.endpoint });
  try {
    redis = await startRedis();
    const common = [
      `--backend=${redis.addr}`,
      "--product_name=jp",
      "--jodis_name=etcd",
      `--jodis_addr=${etcd.endpoint}`,
      "--jodis_timeout=2s",
    ];
    const a = spawnProxy(common);
    children.push(a.child);
    await waitForPort(a.adminPort, 30_000);
    const paths = await until("the jodis node", 15_000, async () => {
      const l = await store.list("/jodis/jp");
      return l.length === 1 ? l : undefined;
    });
    const node = JSON.parse(new TextDecoder().decode((await store.read(paths[0], true)).data));
    assert.equal(node.addr, `127.0.0.1:${a.port}`);
    assert.equal(node.admin, `127.0.0.1:${a.adminPort}`);
    assert.equal(node.state, "online");
    assert.equal(paths[0], `/jodis/jp/proxy-${node.token}`);
    const model = await (await fetch(`http://127.0.0.1:${a.adminPort}/proxy/model`)).json();
    assert.equal(model.jodis_path, paths[0]);

    a.child.kill("SIGTERM");
    assert.equal((await a.child.status).code, 0);
    assert.deepEqual(await store.list("/jodis/jp"), [], "a stopping proxy deletes its node at once");

    // Codis 2's path, and a proxy that dies without a word: the node goes with its session after jodis_timeout.
    const b = spawnProxy([...common, "--jodis_compatible=true"]);
    children.push(b.child);
    await waitForPort(b.adminPort, 30_000);
    const old = await until("the Codis 2 node", 15_000, async () => {
      const l = await store.list("/zk/codis/db_jp/proxy");
      return l.length === 1 ? l : undefined;
    });
    assert.match(old[0], /^\/zk\/codis\/db_jp\/proxy\/[0-9a-f]+$/);
    b.child.kill("SIGKILL");
    await b.child.status;
    await until(
      "the node to expire",
      15_000,
      async () => (await store.list("/zk/codis/db_jp/proxy")).length === 0 || undefined,
    );
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
      await c.status;
    }
    await store.close();
    await redis?.stop();
    await etcd.stop();
  }
});
