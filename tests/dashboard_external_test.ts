import assert from "node:assert/strict";
import { newXAuth } from "../util/xauth.ts";
import { DashboardProc } from "../testing/dashboard.ts";
import { startEtcd } from "../testing/etcd.ts";
import { startZooKeeper } from "../testing/zookeeper.ts";
import { waitForPort } from "../testing/ports.ts";
import { sleep } from "../testing/wait.ts";

async function call(addr: string, method: "GET" | "PUT", path: string) {
  const res = await fetch(`http://${addr}${path}`, { method });
  return { status: res.status, json: await res.json() };
}

function spawn(product: string, root: string, extra: string[]): DashboardProc {
  return DashboardProc.spawn({ product, dataDir: `${root}/n1`, peers: "", bootstrap: true, extra });
}

Deno.test("dashboard on the filesystem coordinator: Codis's lock file, --remove-lock after a crash", async () => {
  const root = await Deno.makeTempDir({ prefix: "codis-dash-fs-" });
  const flags = ["--coordinator_name=filesystem", `--coordinator_addr=${root}/fs`];
  const x = newXAuth("dash-fs", "");
  const procs: DashboardProc[] = [];
  try {
    const a = spawn("dash-fs", root, flags);
    procs.push(a);
    await waitForPort(Number(a.admin.split(":")[1]), 30_000);
    let created = 0;
    for (let i = 0; i < 200 && created !== 200; i++) {
      created = (await call(a.admin, "PUT", `/api/topom/group/create/${x}/1`).catch(() => ({ status: 0 }))).status;
      if (created !== 200) await sleep(50);
    }
    assert.equal(created, 200);
    // A second dashboard for the same product refuses to start while the lock is held.
    const b = spawn("dash-fs", root, flags);
    procs.push(b);
    assert.ok(await b.exited(20_000), "second dashboard exits");
    // A crash leaves the lock; --remove-lock takes it over, with the model.
    await a.kill("SIGKILL");
    const c = spawn("dash-fs", root, [...flags, "--remove-lock"]);
    procs.push(c);
    await waitForPort(Number(c.admin.split(":")[1]), 30_000);
    let groups: number[] = [];
    for (let i = 0; i < 200 && groups.length === 0; i++) {
      const r = await call(c.admin, "GET", "/topom/stats").catch(() => undefined);
      groups = r?.status === 200 ? r.json.group.models.map((g: { id: number }) => g.id) : [];
      if (groups.length === 0) await sleep(50);
    }
    assert.deepEqual(groups, [1]);
  } finally {
    for (const p of procs) await p.kill();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

async function standbyTakeover(kind: "etcd" | "zookeeper", endpoint: string): Promise<void> {
  const product = `dash-${kind}`;
  const root = await Deno.makeTempDir({ prefix: `codis-dash-${kind}-` });
  const flags = [`--coordinator_name=${kind}`, `--coordinator_addr=${endpoint}`];
  const x = newXAuth(product, "");
  const procs: DashboardProc[] = [];
  try {
    const a = spawn(product, root, flags);
    procs.push(a);
    await waitForPort(Number(a.admin.split(":")[1]), 30_000);
    await sleep(500);
    const b = spawn(product, root, flags);
    procs.push(b);
    await waitForPort(Number(b.admin.split(":")[1]), 30_000);
    let st = 0;
    for (let i = 0; i < 300 && st !== 200; i++) {
      st = (await call(b.admin, "PUT", `/api/topom/group/create/${x}/1`).catch(() => ({ status: 0 }))).status;
      if (st !== 200) await sleep(50);
    }
    assert.equal(st, 200, "write through the standby");
    await a.kill("SIGKILL");
    const t0 = Date.now();
    st = 0;
    for (let i = 0; i < 600 && st !== 200; i++) {
      st = (await call(b.admin, "PUT", `/api/topom/group/create/${x}/2`).catch(() => ({ status: 0 }))).status;
      if (st !== 200) await sleep(50);
    }
    assert.equal(st, 200, "standby took over");
    console.log(`${kind}: standby active ${Date.now() - t0} ms after kill -9 (session TTL 5 s)`);
    const r = await call(b.admin, "GET", "/topom/stats");
    assert.deepEqual(r.json.group.models.map((g: { id: number }) => g.id), [1, 2]);
  } finally {
    for (const p of procs) await p.kill();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

Deno.test("dashboards on etcd: one active (ephemeral topom node), the standby forwards and takes over after kill -9", async () => {
  const etcd = await startEtcd();
  try {
    await standbyTakeover("etcd", etcd.endpoint);
  } finally {
    await etcd.stop();
  }
});

Deno.test("dashboards on ZooKeeper: one active (ephemeral topom node), the standby takes over after kill -9", async () => {
  const zk = await startZooKeeper();
  try {
    await standbyTakeover("zookeeper", zk.connect);
  } finally {
    await zk.stop();
  }
});
