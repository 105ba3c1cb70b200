/**
 * The active dashboard follows a sentinel failover by its `+switch-master` subscription: with the safety-net poll
 * set to 10 minutes, only the event path can move the group's master in the model and the proxy's routing.
 * @module
 */
import assert from "node:assert/strict";
import { type DashboardGroup, type SentinelProcess, startDashboards, startSentinel } from "../testing/dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep, until as untilEvery } from "../testing/wait.ts";
import { SentinelSubscriber } from "../topom/server/sentinel_subscriber.ts";

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

/** Polls every 100 ms unless told otherwise. */
const until = <T>(what: string, ms: number, f: () => Promise<T | undefined>, stepMs = 100) =>
  untilEvery(what, ms, f, stepMs);

/** Slot 0's backend in the proxy's own routing table. */
async function proxySlot0(adminPort: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/proxy/slots`);
  const slots = await res.json() as { id: number; backend_addr?: string }[];
  return slots.find((s) => s.id === 0)?.backend_addr;
}

Deno.test("dashboard HA events: SENTINEL FAILOVER reaches the model and the proxy through +switch-master", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  let sentinel: SentinelProcess | undefined;
  let proxy: CodisProxyProcess | undefined;
  let probe: SentinelSubscriber | undefined;
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

    proxy = await startCodisProxy([`--dashboard=${d}`, `--product_name=${PRODUCT}`]);
    const { port, adminPort } = proxy;
    await until(
      "proxy routes slot 0 to the first master",
      15_000,
      async () => (await proxySlot0(adminPort)) === r1.addr ? true : undefined,
    );
    assert.equal(await cli(port, ["SET", "{}before", "1"]), "OK");

    // The test's own subscriber dates the sentinel's +switch-master, to tell the sentinel's share of the time.
    let eventAt = 0;
    probe = new SentinelSubscriber(sentinel.addr, {
      onSubscribed() {},
      onMessage: () => eventAt ||= performance.now(),
      onMalformed() {},
      onDown() {},
    }, { timeoutMs: 2000 });
    await until("probe subscribed", 5000, () => Promise.resolve(probe!.subscribed ? true : undefined), 20);
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
    const sentinelMs = eventAt ? (eventAt - t0).toFixed(0) : "?";
    console.log(
      `SENTINEL FAILOVER → proxy routes to the new master: ${ms.toFixed(0)} ms ` +
        `(+switch-master after ${sentinelMs} ms; poll period ${POLL_PERIOD})`,
    );

    const model = (await g.call(d, "GET", "/topom/stats")).json.group.models[0];
    assert.equal(model.servers[0].server, r2.addr);
    assert.equal(model.out_of_sync, true);
    // A write through the proxy lands on the promoted server (slot 0 is database 0).
    assert.equal(await cli(port, ["SET", "{}after", "2"]), "OK");
    assert.equal(await cli(r2.port, ["GET", "{}after"]), "2");
  } finally {
    probe?.close();
    await proxy?.stop();
    await g?.stop();
    await sentinel?.stop();
    for (const r of redis) await r.stop();
  }
});

/** The names of the dashboards' subscriber connections on the sentinel (CLIENT LIST). */
async function dashboardSubscribers(port: number): Promise<string[]> {
  const list = await cli(port, ["CLIENT", "LIST"]);
  return list.split("\n").filter((l) => / sub=1 /.test(l)).map((l) => / name=(\S*)/.exec(l)?.[1] ?? "");
}

Deno.test("dashboard HA events: only the leader subscribes; the subscription follows leadership, survives a sentinel restart, ends on sentinels/del", async () => {
  let g: DashboardGroup | undefined;
  let sentinel: SentinelProcess | undefined;
  try {
    g = await startDashboards({ product: "dash-ha-sub", extra: ["--sentinel_poll_period=10m"] });
    const x = g.xauth;
    const leader = await g.leader();
    sentinel = await startSentinel();
    const sport = sentinel.port;
    assert.equal((await g.call(leader.admin, "PUT", `/api/topom/sentinels/add/${x}/${sentinel.addr}`)).status, 200);
    const only = (d: { admin: string }) => async () => {
      const subs = await dashboardSubscribers(sport);
      return subs.length === 1 && subs[0] === `codis-dashboard:${d.admin}` ? true : undefined;
    };
    await until("the leader subscribes", 10_000, only(leader));

    const next = g.nodes.find((d) => d !== leader)!;
    const tr = await g.call(leader.admin, "PUT", `/api/topom/raft/transfer/${x}/${next.id}`);
    assert.equal(tr.status, 200, JSON.stringify(tr.json));
    await until("the new leader alone subscribes", 10_000, only(next));

    await sentinel.kill();
    await sleep(300);
    await sentinel.restart();
    await until("subscribed again after the sentinel restarted", 15_000, only(next));

    const del = await g.call(next.admin, "PUT", `/api/topom/sentinels/del/${x}/${sentinel.addr}/0`);
    assert.equal(del.status, 200, JSON.stringify(del.json));
    await until(
      "no subscriber once the sentinel is removed",
      10_000,
      async () => (await dashboardSubscribers(sport)).length === 0 ? true : undefined,
    );
  } finally {
    await g?.stop();
    await sentinel?.stop();
  }
});
