/**
 * The active dashboard follows a sentinel failover by its `+switch-master` subscription: with the safety-net poll
 * set to 10 minutes, only the event path can move the group's master in the model and the proxy's routing.
 * @module
 */
import assert from "node:assert/strict";
import { type DashboardGroup, startDashboards, startSentinel } from "./support/dashboard.ts";
import { freePort, waitForPort } from "./support/ports.ts";
import { type RedisProcess, startRedis } from "./support/redis.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;
const PRODUCT = "dash-ha-ev";
/** `HA_POLL=1s` measures with a fast poll instead; `HA_POLL=default` leaves the dashboard's default. */
const POLL_PERIOD = Deno.env.get("HA_POLL") ?? "10m";

async function cli(port: number, args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>, stepMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Slot 0's backend in the proxy's own routing table. */
async function proxySlot0(adminPort: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/proxy/slots`);
  const slots = await res.json() as { id: number; backend_addr?: string }[];
  return slots.find((s) => s.id === 0)?.backend_addr;
}

Deno.test("dashboard HA events: SENTINEL FAILOVER reaches the model and the proxy through +switch-master", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  let sentinel: { addr: string; kill(): Promise<void> } | undefined;
  let proxy: Deno.ChildProcess | undefined;
  try {
    g = await startDashboards({
      n: 1,
      product: PRODUCT,
      extra: [
        "--sentinel_quorum=1",
        "--sentinel_down_after=5s",
        "--sentinel_failover_timeout=10s",
        ...(POLL_PERIOD === "default" ? [] : [`--sentinel_poll_period=${POLL_PERIOD}`]),
      ],
    });
    const x = g.xauth;
    const d = (await g.leader()).admin;
    redis.push(await startRedis(), await startRedis());
    const [r1, r2] = redis;
    for (const path of [`group/create/${x}/1`, `group/add/${x}/1/${r1.addr}`, `group/add/${x}/1/${r2.addr}`]) {
      assert.equal((await g.call(d, "PUT", `/api/topom/${path}`)).status, 200, path);
    }
    assert.equal((await g.call(d, "PUT", `/api/topom/group/action/create/${x}/${r2.addr}`)).status, 200);
    const assign = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: 1 }));
    assert.equal((await g.call(d, "PUT", `/api/topom/slots/assign/${x}`, assign)).status, 200);
    await until("replica in sync", 10_000, async () => {
      const r = await g!.call(d, "GET", `/api/topom/group/info/${r2.addr}`);
      return r.json.master_link_status === "up" ? true : undefined;
    });

    sentinel = await startSentinel();
    const sport = Number(sentinel.addr.split(":")[1]);
    assert.equal((await g.call(d, "PUT", `/api/topom/sentinels/add/${x}/${sentinel.addr}`)).status, 200);
    assert.equal((await g.call(d, "PUT", `/api/topom/sentinels/resync-all/${x}`)).status, 200);
    await until("sentinel sees the replica", 15_000, async () => {
      const m = await g!.call(d, "GET", `/api/topom/sentinels/info/${sentinel!.addr}/monitored`);
      return m.json[`${PRODUCT}-1`]?.slaves?.length === 1 ? true : undefined;
    });

    const port = freePort();
    const adminPort = freePort();
    proxy = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        PROXY_CLI,
        `--dashboard=${d}`,
        `--product_name=${PRODUCT}`,
        `--proxy_addr=127.0.0.1:${port}`,
        `--admin_addr=127.0.0.1:${adminPort}`,
        "--log-level=WARN",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    await waitForPort(port, 30_000);
    await until(
      "proxy routes slot 0 to the first master",
      15_000,
      async () => (await proxySlot0(adminPort)) === r1.addr ? true : undefined,
    );
    assert.equal(await cli(port, ["SET", "{}before", "1"]), "OK");

    // The sentinel may still be collecting the replica's INFO: FAILOVER answers NOGOODSLAVE until then.
    const t0 = await until("sentinel accepts FAILOVER", 15_000, async () => {
      const t = performance.now();
      return (await cli(sport, ["SENTINEL", "FAILOVER", `${PRODUCT}-1`])) === "OK" ? t : undefined;
    }, 200);
    await until(
      "proxy routes slot 0 to the promoted server",
      20_000,
      async () => (await proxySlot0(adminPort)) === r2.addr ? true : undefined,
      10,
    );
    const ms = performance.now() - t0;
    console.log(`SENTINEL FAILOVER → proxy routes to the new master: ${ms.toFixed(0)} ms (poll period ${POLL_PERIOD})`);

    const model = (await g.call(d, "GET", "/topom/stats")).json.group.models[0];
    assert.equal(model.servers[0].server, r2.addr);
    assert.equal(model.out_of_sync, true);
    // A write through the proxy lands on the promoted server (slot 0 is database 0).
    assert.equal(await cli(port, ["SET", "{}after", "2"]), "OK");
    assert.equal(await cli(r2.port, ["GET", "{}after"]), "2");
  } finally {
    try {
      proxy?.kill("SIGKILL");
    } catch { /* gone */ }
    await proxy?.status;
    await g?.stop();
    await sentinel?.kill();
    for (const r of redis) await r.stop();
  }
});
