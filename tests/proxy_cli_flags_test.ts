/**
 * Codis's codis-proxy start-up flags on real processes: auto-online through a filesystem or etcd coordinator,
 * --log and --pidfile, --ulimit refusing to start, --ncpu starting threads.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { newXAuth } from "../util/xauth.ts";
import { openFilesLimit } from "../util/ulimit.ts";
import { DashboardProc } from "../testing/dashboard.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { startEtcd } from "../testing/etcd.ts";
import { freePort, waitForPort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { until } from "../testing/wait.ts";

const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;

/** `codis-proxy ARGS` with stderr piped (for `.output()` or reading `child.stderr`). */
function proxyCommand(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PROXY_CLI, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
}

async function call(addr: string, method: "GET" | "PUT", path: string, body?: unknown) {
  const res = await fetch(`http://${addr}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/**
 * A dashboard on an external coordinator (`kind`, `addr`), one group of one server owning every slot, and a proxy
 * started with `--{kind}=addr` only: it must find the dashboard, register and serve. `beforeProxy` runs once the
 * dashboard holds its topom node.
 */
async function autoOnline(
  kind: "filesystem" | "etcd",
  addr: (root: string) => string,
  beforeProxy: (coordAddr: string) => Promise<void> = async () => {},
): Promise<void> {
  const product = `cli-${kind}`;
  const root = await Deno.makeTempDir({ prefix: `codis-proxy-${kind}-` });
  const coordAddr = addr(root);
  const x = newXAuth(product, "");
  let redis: RedisProcess | undefined;
  let dash: DashboardProc | undefined;
  let stopProxy = async () => {};
  let client: Redis | undefined;
  try {
    redis = await startRedis();
    const spec = { id: 1, admin: `127.0.0.1:${freePort()}`, raft: `127.0.0.1:${freePort()}` };
    dash = DashboardProc.spawn({
      ...spec,
      product,
      dataDir: `${root}/n1`,
      peers: "",
      bootstrap: true,
      extra: [`--coordinator_name=${kind}`, `--coordinator_addr=${coordAddr}`],
    });
    await waitForPort(Number(spec.admin.split(":")[1]), 30_000);
    await until("the dashboard to create group 1", 20_000, async () => {
      const r = await call(spec.admin, "PUT", `/api/topom/group/create/${x}/1`);
      return r.status === 200 ? true : undefined;
    });
    assert.equal((await call(spec.admin, "PUT", `/api/topom/group/add/${x}/1/${redis.addr}`)).status, 200);
    const assign = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: 1 }));
    assert.equal((await call(spec.admin, "PUT", `/api/topom/slots/assign/${x}`, assign)).status, 200);

    await beforeProxy(coordAddr);

    const p = await startCodisProxy([
      `--${kind}=${coordAddr}`,
      `--product_name=${product}`,
      "--product_auth=",
      "--session_auth=pw",
    ]);
    stopProxy = p.stop;
    client = new Redis({ port: p.port, host: "127.0.0.1", password: "pw", maxRetriesPerRequest: 0, lazyConnect: true });
    client.on("error", () => {});
    // The proxy answers "router is not online" until the dashboard has sent it the slots.
    await until("the proxy to go online", 20_000, async () => {
      if (client!.status !== "ready") await client!.connect();
      return await client!.set("auto:key", "auto-value") === "OK" ? true : undefined;
    }, 100);
    assert.equal(await client.get("auto:key"), "auto-value");
    const direct = new Redis({ port: redis.port, host: "127.0.0.1", db: 0, lazyConnect: true });
    try {
      // The key lives in database {slot} of the group's server: count keys over every database.
      const info = String(await direct.info("keyspace"));
      assert.match(info, /keys=1,/);
    } finally {
      direct.disconnect();
    }
    // The dashboard lists the proxy that registered itself.
    const stats = await call(spec.admin, "GET", `/api/topom/stats/${x}`);
    assert.equal(stats.status, 200);
    const proxies = stats.json.proxy.models as { admin_addr: string }[];
    assert.ok(
      proxies.some((q) => q.admin_addr.endsWith(`:${p.adminPort}`)),
      `proxy registered: ${JSON.stringify(proxies)}`,
    );
  } finally {
    client?.disconnect();
    await stopProxy();
    await dash?.kill();
    await redis?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

Deno.test("--filesystem=ROOT: the proxy finds the dashboard in the topom node, goes online and serves", async () => {
  await autoOnline("filesystem", (root) => `${root}/fs`, async (fsRoot) => {
    // Another product has no dashboard: the proxy gives up (after a few reads) with one clear line.
    const missing = await proxyCommand([
      `--filesystem=${fsRoot}`,
      "--product_name=other",
      "--log-level=WARN",
      `--admin_addr=127.0.0.1:${freePort()}`,
      `--product_auth=${crypto.randomUUID()}`,
    ]).output();
    const err = new TextDecoder().decode(missing.stderr);
    assert.equal(missing.code, 2, err);
    assert.equal(err, `codis-proxy: no dashboard registered for product other in filesystem ${fsRoot}\n`);
  });
});

Deno.test("--etcd=ADDR: the proxy finds the dashboard in etcd, goes online and serves", async () => {
  const etcd = await startEtcd();
  try {
    await autoOnline("etcd", () => etcd.endpoint);
  } finally {
    await etcd.stop();
  }
});

Deno.test("--log=FILE and --pidfile=FILE: lines appended to the file, pid file removed after SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-proxy-logpid-" });
  let redis: RedisProcess | undefined;
  let child: Deno.ChildProcess | undefined;
  try {
    redis = await startRedis();
    const logFile = `${dir}/proxy.log`;
    const pidFile = `${dir}/proxy.pid`;
    await Deno.writeTextFile(logFile, "line from before\n");
    const port = freePort();
    child = proxyCommand([
      `--backend=${redis.addr}`,
      `--proxy_addr=127.0.0.1:${port}`,
      `--admin_addr=127.0.0.1:${freePort()}`,
      `--log=${logFile}`,
      `--pidfile=${pidFile}`,
      "--session_auth=do-not-log-me",
    ]).spawn();
    const stderr = new Response(child.stderr).text();
    await waitForPort(port, 30_000);
    assert.equal(await Deno.readTextFile(pidFile), `${child.pid}\n`);
    await until("the start-up line in the log file", 10_000, async () => {
      return (await Deno.readTextFile(logFile)).includes("proxy started") ? true : undefined;
    });
    child.kill("SIGTERM");
    const status = await child.status;
    child = undefined;
    assert.equal(status.code, 0);
    assert.equal(await Deno.stat(pidFile).catch(() => undefined), undefined, "pid file removed");
    const log = await Deno.readTextFile(logFile);
    assert.match(log, /^line from before\n/, "appended, not truncated");
    assert.match(log, /INFO \[codis-proxy\] proxy started: 127\.0\.0\.1:\d+ .*standalone, 1 backend\(s\), 1 thread/);
    assert.match(log, /shutting down \(SIGTERM\)/);
    assert.ok(!log.includes("do-not-log-me"), "no secret in the log");
    assert.ok(!(await stderr).includes("proxy started"), "log lines go to the file, not stderr");
  } finally {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    }
    await redis?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("--ulimit above the open-files soft limit: start-up fails and says how to raise it", async () => {
  const soft = openFilesLimit();
  assert.ok(soft !== undefined, "the open-files limit is readable");
  if (soft === Infinity) return; // nothing is above an unlimited limit
  const want = soft + 1;
  const port = freePort();
  const out = await proxyCommand([
    `--backend=127.0.0.1:${freePort()}`,
    `--proxy_addr=127.0.0.1:${port}`,
    `--ulimit=${want}`,
    `--admin_addr=127.0.0.1:${freePort()}`,
  ])
    .output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, err);
  assert.match(err, new RegExp(`--ulimit=${want}: the open-files limit \\(ulimit -n\\) is ${soft}, below ${want}`));
  assert.ok(err.includes(`ulimit -n ${want}`), err);
  // Refused before anything listens.
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
});

Deno.test("--ncpu=2: two threads serve clients (proxy_workers = 2); --host-proxy is what the model advertises", async () => {
  let redis: RedisProcess | undefined;
  let stopProxy = async () => {};
  const clients: Redis[] = [];
  try {
    redis = await startRedis();
    const p = await startCodisProxy([
      `--backend=${redis.addr}`,
      "--ncpu=2",
      "--max-ncpu=4",
      "--host-proxy=10.9.8.7:19000",
    ]);
    stopProxy = p.stop;
    const overview = await call(`127.0.0.1:${p.adminPort}`, "GET", "/proxy");
    assert.equal(overview.json.config.proxy_workers, 2);
    assert.equal(overview.json.model.proxy_addr, "10.9.8.7:19000");
    for (let i = 0; i < 20; i++) clients.push(new Redis({ port: p.port, host: "127.0.0.1", maxRetriesPerRequest: 0 }));
    const ids = await Promise.all(clients.map((c) => c.call("CLIENT", "ID") as Promise<number>));
    assert.equal(new Set(ids).size, 20, "ids unique across threads");
    // Each thread hands out ids of one parity: both parities mean both threads accepted connections.
    assert.deepEqual(new Set(ids.map((id) => id % 2)), new Set([0, 1]), `ids ${ids.join(",")}`);
    for (const [i, c] of clients.entries()) assert.equal(await c.set(`n:${i}`, `v${i}`), "OK");
    assert.equal(await clients[7].get("n:3"), "v3");
  } finally {
    for (const c of clients) c.disconnect();
    await stopProxy();
    await redis?.stop();
  }
});
