/**
 * The sentinel fence of the dashboard's own promotion (topom/sentinel_fence.ts), with real redis-servers, three real
 * sentinels and a real dashboard: a sentinel that was down during a promotion comes back naming the old master, and
 * the dashboard must not follow it — also when it never learnt the sentinels' epoch (no check between the resync and
 * the promotion) and after a restart (its memory gone) — while a genuine Sentinel failover afterwards is followed.
 * @module
 */
import assert from "node:assert/strict";
import { type DashboardGroup, type SentinelProcess, startDashboards, startSentinel } from "../testing/dashboard.ts";
import { redisCliDb, type RedisProcess, startRedis } from "../testing/redis.ts";
import { shortenSentinelTilt } from "../testing/sentinel_debug.ts";
import { sleep, until } from "../testing/wait.ts";

/** One fenced-promotion scenario: the processes (stopped by {@link stopAll}) and group 1's two servers. */
interface Cluster {
  g: DashboardGroup;
  d: string;
  product: string;
  redis: RedisProcess[];
  sentinels: SentinelProcess[];
}

/** Group 1 in the dashboard's model. */
// deno-lint-ignore no-explicit-any
async function group1(c: Cluster): Promise<any> {
  return (await c.g.call(c.d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1);
}

/** What sentinel `s` monitors of group 1 (undefined: nothing), through the dashboard. */
// deno-lint-ignore no-explicit-any
async function monitored(c: Cluster, s: SentinelProcess): Promise<any> {
  return (await c.g.call(c.d, "GET", `/api/topom/sentinels/info/${s.addr}/monitored`)).json[`${c.product}-1`];
}

/**
 * A dashboard (sentinel quorum 2, `pollPeriod`, `downAfter`), group 1 = a master and its synced replica, and three
 * sentinels monitoring it after `sentinels/resync-all`. With `subscribedFirst`, the resync comes after the dashboard
 * subscribed to every sentinel, so that (with a long poll period) no check runs after it: the dashboard learns no
 * config-epoch of the group before the promotion.
 */
async function startCluster(
  c: Partial<Cluster> & { product: string },
  o: { pollPeriod: string; downAfter: string; subscribedFirst?: boolean },
): Promise<Cluster> {
  c.redis = [];
  c.sentinels = [];
  c.g = await startDashboards({
    n: 1,
    product: c.product,
    extra: [
      "--sentinel_quorum=2",
      `--sentinel_down_after=${o.downAfter}`,
      "--sentinel_failover_timeout=10s",
      `--sentinel_poll_period=${o.pollPeriod}`,
    ],
  });
  const cl = c as Cluster;
  cl.d = (await c.g.leader()).admin;
  const x = c.g.xauth;
  c.redis.push(await startRedis(), await startRedis());
  const [r1, r2] = c.redis;
  for (const p of [`group/create/${x}/1`, `group/add/${x}/1/${r1.addr}`, `group/add/${x}/1/${r2.addr}`]) {
    assert.equal((await c.g.call(cl.d, "PUT", `/api/topom/${p}`)).status, 200, p);
  }
  assert.equal((await c.g.call(cl.d, "PUT", `/api/topom/group/action/create/${x}/${r2.addr}`)).status, 200);
  for (let i = 0; i < 3; i++) {
    const s = await startSentinel();
    c.sentinels.push(s);
    await shortenSentinelTilt(s);
    assert.equal((await c.g.call(cl.d, "PUT", `/api/topom/sentinels/add/${x}/${s.addr}`)).status, 200);
  }
  if (o.subscribedFirst) {
    await until("the dashboard subscribed to every sentinel", 10_000, async () => {
      for (const s of c.sentinels!) {
        if (!(await redisCliDb(s, 0, "CLIENT", "LIST")).includes("name=codis-dashboard:")) return undefined;
      }
      return true;
    }, 100);
    await sleep(500); // the checks these subscriptions started are over
  }
  assert.equal((await c.g.call(cl.d, "PUT", `/api/topom/sentinels/resync-all/${x}`)).status, 200);
  await until("every sentinel knows the replica", 20_000, async () => {
    for (const s of c.sentinels!) if ((await monitored(cl, s))?.slaves?.length !== 1) return undefined;
    return true;
  }, 200);
  return cl;
}

/**
 * With sentinel 3 down: promotes the replica, waits until the promotion is over, and writes `key` to the promoted
 * server (a write a wrong switch back would lose). Returns the stored fence.
 */
// deno-lint-ignore no-explicit-any
async function promoteWithoutSentinel3(c: Cluster, key: string): Promise<any> {
  const [, r2] = c.redis;
  await c.sentinels[2].kill();
  assert.equal((await c.g.call(c.d, "PUT", `/api/topom/group/promote/${c.g.xauth}/1/${r2.addr}`)).status, 200);
  await until("promotion done", 15_000, async () => {
    const m = await group1(c);
    return m.servers[0].server === r2.addr && !m.promoting?.state ? true : undefined;
  }, 100);
  assert.equal(await redisCliDb(r2, 0, "SET", key, "kept"), "OK");
  return (await group1(c)).sentinel_fence;
}

/** Waits until the dashboard removed group 1 from the returned sentinel 3, then checks nothing was undone. */
async function assertPromotionKept(c: Cluster, key: string): Promise<void> {
  const [, r2] = c.redis;
  const outcome = await until("the returned sentinel had the group removed", 15_000, async () => {
    if ((await group1(c)).servers[0].server !== r2.addr) return "the model switched back";
    const back = await c.g.call(c.d, "GET", `/api/topom/sentinels/info/${c.sentinels[2].addr}/monitored`);
    return back.status === 200 && back.json[`${c.product}-1`] === undefined ? "removed" : undefined;
  }, 100);
  assert.equal(outcome, "removed", "the promotion was undone");
  await sleep(1000); // a wrong switch would follow the same check
  const role = (await redisCliDb(r2, 0, "ROLE")).split("\n")[0];
  const m = await group1(c);
  assert.deepEqual([m.servers[0].server, role], [r2.addr, "master"], "the promotion was undone");
  assert.equal(await redisCliDb(r2, 0, "GET", key), "kept", "the write to the promoted server was lost");
}

async function stopAll(c: Partial<Cluster>): Promise<void> {
  await c.g?.stop();
  for (const s of c.sentinels ?? []) await s.stop();
  for (const r of c.redis ?? []) await r.stop();
}

Deno.test("promotion fence: a sentinel that was down returns with the old master before the dashboard learnt any epoch; the promotion stands", async () => {
  const c: Partial<Cluster> & { product: string } = { product: "fence-race" };
  try {
    // Poll period 60 s: the only checks are those of subscriptions, made before the resync. The dashboard's memory
    // holds no epoch of the group, as in the failed CI run where no poll fell between the resync and the promotion.
    const cl = await startCluster(c, { pollPeriod: "60s", downAfter: "30s", subscribedFirst: true });
    assert.deepEqual(await promoteWithoutSentinel3(cl, "race"), { epoch: 0 }, "the stored fence");
    await cl.sentinels[2].restart();
    await assertPromotionKept(cl, "race");
    // Once every sentinel monitors the new master afresh, the fence is over.
    assert.equal((await cl.g.call(cl.d, "PUT", `/api/topom/sentinels/resync-all/${cl.g.xauth}`)).status, 200);
    assert.equal((await group1(cl)).sentinel_fence, undefined, "resync-all ends the fence");
    for (const s of cl.sentinels) assert.equal((await monitored(cl, s))?.master?.port, String(cl.redis[1].port));
  } finally {
    await stopAll(c);
  }
});

Deno.test("promotion fence: a restarted dashboard (no memory of the sentinels) does not follow a sentinel that missed the promotion", async () => {
  const c: Partial<Cluster> & { product: string } = { product: "fence-restart" };
  try {
    const cl = await startCluster(c, { pollPeriod: "300ms", downAfter: "30s" });
    assert.deepEqual(await promoteWithoutSentinel3(cl, "restart"), { epoch: 0 });
    const node = cl.g.nodes[0];
    await node.kill();
    await cl.sentinels[2].restart(); // back while no dashboard runs
    node.start();
    cl.d = (await cl.g.leader(20_000)).admin;
    await assertPromotionKept(cl, "restart");
  } finally {
    await stopAll(c);
  }
});

Deno.test("promotion fence: a genuine Sentinel failover after the promotion (a newer config-epoch) is still followed", async () => {
  const c: Partial<Cluster> & { product: string } = { product: "fence-failover" };
  try {
    const cl = await startCluster(c, { pollPeriod: "300ms", downAfter: "1s" });
    const [r1, r2] = cl.redis;
    assert.deepEqual(await promoteWithoutSentinel3(cl, "failover"), { epoch: 0 });
    // Sentinel 3 is still down: the resync re-monitors the other two with the new master and fails, the fence stays.
    assert.equal((await cl.g.call(cl.d, "PUT", `/api/topom/sentinels/resync-all/${cl.g.xauth}`)).status, 502);
    assert.deepEqual((await group1(cl)).sentinel_fence, { epoch: 0 });
    await until("the old master is a synced replica Sentinel may promote", 20_000, async () => {
      const priority = (await redisCliDb(r1, 0, "CONFIG", "GET", "replica-priority")).split("\n")[1];
      if (priority === "0") return undefined;
      for (const s of cl.sentinels.slice(0, 2)) {
        const m = await monitored(cl, s);
        if (m?.master?.port !== String(r2.port) || m.slaves?.[0]?.["master-link-status"] !== "ok") return undefined;
      }
      return true;
    }, 200);
    await r2.kill();
    await until("the model follows the sentinels' failover to the old master", 30_000, async () => {
      const m = await group1(cl);
      return m.servers[0].server === r1.addr ? true : undefined;
    }, 200);
  } finally {
    await stopAll(c);
  }
});
