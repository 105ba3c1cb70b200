import assert from "node:assert/strict";
import { Redis } from "ioredis";
import {
  type DashboardGroup,
  type SentinelProcess,
  setupGroups,
  startDashboards,
  startSentinel,
} from "../testing/dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { slotOf } from "../proxy/hash.ts";
import { freePort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { makeTestCerts, type TestCerts, tlsCliArgs, tlsRedisArgs, tlsSentinelConf } from "../testing/tls_certs.ts";
import { sleep, until } from "../testing/wait.ts";

const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;

/** A redis-server on a TLS port only (no plain port), asking clients for a certificate. */
async function startTlsRedis(certs: TestCerts, extraArgs: string[] = []): Promise<RedisProcess> {
  const port = freePort();
  return await startRedis({ port, extraArgs: [...tlsRedisArgs(certs, port), ...extraArgs] });
}

/** `backend_tls*` flags with the test CA and client certificate. */
function backendTlsFlags(certs: TestCerts): string[] {
  return [
    "--backend_tls=true",
    `--backend_tls_ca_file=${certs.caFile}`,
    `--backend_tls_cert_file=${certs.clientCertFile}`,
    `--backend_tls_key_file=${certs.clientKeyFile}`,
  ];
}

async function tlsCli(certs: TestCerts, port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), ...tlsCliArgs(certs), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function keyCount(certs: TestCerts, r: RedisProcess): Promise<number> {
  const info = await tlsCli(certs, r.port, "INFO", "keyspace");
  return [...info.matchAll(/keys=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
}

Deno.test("proxy to TLS-only Redis servers: commands, pub/sub and blocking pops; no client certificate, no start", async () => {
  const certs = await makeTestCerts();
  const backend = await startTlsRedis(certs);
  let proxy: CodisProxyProcess | undefined;
  const clients: Redis[] = [];
  try {
    // The server asks for a client certificate (tls-auth-clients yes): without one the start-up check fails.
    const refused = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        PROXY_CLI,
        `--backend=${backend.addr}`,
        "--proxy_addr=127.0.0.1:0",
        "--admin_addr=127.0.0.1:0",
        "--backend_tls=true",
        `--backend_tls_ca_file=${certs.caFile}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.notEqual(refused.code, 0);
    assert.match(new TextDecoder().decode(refused.stderr), new RegExp(`start-up failed:[\\s\\S]*${backend.addr}`));

    proxy = await startCodisProxy([`--backend=${backend.addr}`, ...backendTlsFlags(certs)]);
    const c = new Redis({ host: "127.0.0.1", port: proxy.port, maxRetriesPerRequest: 0 });
    clients.push(c);
    assert.equal(await c.set("btls:a", "1"), "OK");
    assert.equal(await c.incr("btls:a"), 2);
    assert.equal(
      await tlsCli(certs, backend.port, "-n", String(slotOf(new TextEncoder().encode("btls:a"))), "GET", "btls:a"),
      "2",
    );

    // Pub/sub goes over the subscriber's own TLS connection.
    const sub = new Redis({ host: "127.0.0.1", port: proxy.port, maxRetriesPerRequest: 0 });
    clients.push(sub);
    const got = new Promise<string>((resolve) => sub.on("message", (_ch: string, msg: string) => resolve(msg)));
    await sub.subscribe("btls:ch");
    assert.equal(await c.publish("btls:ch", "hello"), 1);
    assert.equal(await got, "hello");

    // A blocking pop holds a connection of its own, over TLS too.
    const blocker = new Redis({ host: "127.0.0.1", port: proxy.port, maxRetriesPerRequest: 0 });
    clients.push(blocker);
    const popped = blocker.blpop("btls:list", 5);
    await sleep(100);
    await c.rpush("btls:list", "x");
    assert.deepEqual(await popped, ["btls:list", "x"]);
  } finally {
    for (const c of clients) c.disconnect();
    await proxy?.stop();
    await backend.stop();
    await certs.remove();
  }
});

Deno.test("dashboard and proxy over TLS Redis: server checks, stats, and slots migrating with MIGRATE between TLS servers", async () => {
  const certs = await makeTestCerts();
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  let proxy: CodisProxyProcess | undefined;
  let c: Redis | undefined;
  try {
    redis.push(await startTlsRedis(certs), await startTlsRedis(certs));
    g = await startDashboards({ n: 1, product: "btls", extra: backendTlsFlags(certs) });
    const x = g.xauth;
    const leader = await g.leader();
    await setupGroups(g, leader.admin, redis);

    // The dashboard polls every server's INFO over TLS.
    await until("server stats over TLS", 15_000, async () => {
      const st = (await g!.call(leader.admin, "GET", "/topom/stats")).json;
      const s = st.group?.stats?.[redis[0].addr];
      return s?.stats?.tcp_port !== undefined ? s : undefined;
    });

    proxy = await startCodisProxy([`--dashboard=${leader.admin}`, "--product_name=btls", ...backendTlsFlags(certs)]);
    c = new Redis({ host: "127.0.0.1", port: proxy.port, maxRetriesPerRequest: 0, lazyConnect: true });
    await until("proxy online", 15_000, async () => (await c!.ping().catch(() => "")) === "PONG" || undefined);
    const N = 600;
    const pipe = c.pipeline();
    for (let i = 0; i < N; i++) pipe.set(`btls:${i}`, `v${i}`);
    await pipe.exec();

    // Slots 0-31 move to group 2: the dashboard drives MIGRATE from one TLS server to the other.
    const create = await g.call(leader.admin, "PUT", `/api/topom/slots/action/create-range/${x}/0/31/2`);
    assert.equal(create.status, 200, JSON.stringify(create.json));
    await until("migration done", 60_000, async () => {
      const st = (await g!.call(leader.admin, "GET", "/topom/stats")).json;
      const left = st.slots.filter((s: { id: number; group_id: number; action: { state?: string } }) =>
        s.action.state || (s.id < 32 && s.group_id !== 2)
      );
      return left.length === 0 || undefined;
    });
    const moved = await keyCount(certs, redis[1]);
    assert.ok(moved > 0 && moved < N, `group 2 holds ${moved} of ${N} keys`);
    assert.equal(moved + await keyCount(certs, redis[0]), N, "every key is in exactly one server");
    const values = await Promise.all(Array.from({ length: N }, (_, i) => c!.get(`btls:${i}`)));
    values.forEach((v, i) => assert.equal(v, `v${i}`));
  } finally {
    c?.disconnect();
    await proxy?.stop();
    await g?.stop();
    for (const r of redis) await r.stop();
    await certs.remove();
  }
});

Deno.test("dashboard with TLS servers and a TLS sentinel: a replica syncs, the sentinel monitors, a failover reaches the model", async () => {
  const certs = await makeTestCerts();
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  let sentinel: SentinelProcess | undefined;
  try {
    const fast = ["--repl-diskless-sync-delay", "0"];
    redis.push(await startTlsRedis(certs, fast), await startTlsRedis(certs, fast));
    const [r1, r2] = redis;
    g = await startDashboards({
      n: 1,
      product: "btls-ha",
      extra: [
        ...backendTlsFlags(certs),
        "--sentinel_quorum=1",
        "--sentinel_down_after=1s",
        "--sentinel_failover_timeout=10s",
      ],
    });
    const x = g.xauth;
    const d = (await g.leader()).admin;
    assert.equal((await g.call(d, "PUT", `/api/topom/group/create/${x}/1`)).status, 200);
    assert.equal((await g.call(d, "PUT", `/api/topom/group/add/${x}/1/${r1.addr}`)).status, 200);
    assert.equal((await g.call(d, "PUT", `/api/topom/group/add/${x}/1/${r2.addr}`)).status, 200);
    assert.equal((await g.call(d, "PUT", `/api/topom/group/action/create/${x}/${r2.addr}`)).status, 200);
    await until("replica in sync over TLS", 20_000, async () => {
      const r = await g!.call(d, "GET", `/api/topom/group/info/${r2.addr}`);
      return r.json.master_link_status === "up" ? true : undefined;
    }, 100);

    sentinel = await startSentinel((port) => tlsSentinelConf(certs, port));
    assert.equal((await g.call(d, "PUT", `/api/topom/sentinels/add/${x}/${sentinel.addr}`)).status, 200);
    const resync = await g.call(d, "PUT", `/api/topom/sentinels/resync-all/${x}`);
    assert.equal(resync.status, 200, JSON.stringify(resync.json));
    await until("sentinel sees the replica", 20_000, async () => {
      const m = await g!.call(d, "GET", `/api/topom/sentinels/info/${sentinel!.addr}/monitored`);
      return m.json["btls-ha-1"]?.slaves?.length === 1 ? true : undefined;
    }, 100);
    await r1.kill();
    await until("model master switched", 30_000, async () => {
      const s = (await g!.call(d, "GET", "/topom/stats")).json;
      return s.group.models[0].servers[0].server === r2.addr ? true : undefined;
    }, 100);
  } finally {
    await g?.stop();
    await sentinel?.stop();
    for (const r of redis) await r.stop();
    await certs.remove();
  }
});
