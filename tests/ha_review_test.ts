/**
 * Review tests of the dashboard's sentinel HA with real redis-server / redis-sentinel processes and a real dashboard.
 * @module
 */
import assert from "node:assert/strict";
import { type DashboardGroup, type SentinelProcess, startDashboards, startSentinel } from "./support/dashboard.ts";
import { type RedisProcess, startRedis } from "./support/redis.ts";
import { sleep, until } from "./support/wait.ts";
import { confirmedSentinelMasters } from "../topom/sentinel_plan.ts";

const PRODUCT = "ha-review";

/** Group 1's servers in the dashboard's model. */
// deno-lint-ignore no-explicit-any
async function group1(g: DashboardGroup, d: string): Promise<any> {
  return (await g.call(d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1);
}

Deno.test("HA review: a sentinel that missed a manual promotion (down during SENTINEL REMOVE) does not flip the master back", async () => {
  const redis: RedisProcess[] = [];
  const sentinels: SentinelProcess[] = [];
  let g: DashboardGroup | undefined;
  try {
    g = await startDashboards({
      n: 1,
      product: PRODUCT,
      extra: [
        "--sentinel_quorum=2",
        "--sentinel_down_after=30s",
        "--sentinel_failover_timeout=60s",
        "--sentinel_poll_period=300ms",
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
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel());
    for (const s of sentinels) {
      assert.equal((await g.call(d, "PUT", `/api/topom/sentinels/add/${x}/${s.addr}`)).status, 200);
    }
    const resync = await g.call(d, "PUT", `/api/topom/sentinels/resync-all/${x}`);
    assert.equal(resync.status, 200, JSON.stringify(resync.json));

    // The third sentinel is down while the group is promoted by hand: it keeps monitoring the old master.
    await sentinels[2].kill();
    const pr = await g.call(d, "PUT", `/api/topom/group/promote/${x}/1/${r2.addr}`);
    assert.equal(pr.status, 200, JSON.stringify(pr.json));
    await until("promotion done", 15_000, async () => {
      const m = await group1(g!, d);
      return m.servers[0].server === r2.addr && !m.promoting?.state ? true : undefined;
    }, 100);
    await sentinels[2].restart();
    // Subscribing again triggers a check, and the poll runs every 300 ms: give both time to act.
    await sleep(3000);
    const m = await group1(g, d);
    assert.equal(m.servers[0].server, r2.addr, "one stale sentinel's word moved the master back to the old one");
  } finally {
    await g?.stop();
    for (const s of sentinels) await s.stop();
    for (const r of redis) await r.stop();
  }
});

Deno.test("HA review: a stale sentinel's higher config-epoch alone does not choose the master", () => {
  const m = (ip: string, epoch: number) => [{ name: "p-1", ip, port: "6379", "config-epoch": String(epoch) }];
  // Two sentinels re-monitored the promoted master (epoch 0); the third missed it and remembers an old failover.
  const stale = confirmedSentinelMasters("p", [m("10.0.0.2", 0), m("10.0.0.2", 0), m("10.0.0.1", 5)]);
  assert.ok("masters" in stale);
  assert.deepEqual([...stale.masters], []);
  assert.deepEqual(stale.unconfirmed, [1]);
  // One sentinel alone still knows the group (the others removed it).
  const alone = confirmedSentinelMasters("p", [[], [], m("10.0.0.1", 0)]);
  assert.ok("masters" in alone);
  assert.deepEqual([...alone.masters], []);
  // A failover two of three sentinels already know of is followed.
  const moved = confirmedSentinelMasters("p", [m("10.0.0.2", 3), m("10.0.0.2", 3), m("10.0.0.1", 2)]);
  assert.ok("masters" in moved);
  assert.deepEqual([...moved.masters], [[1, "10.0.0.2:6379"]]);
  assert.deepEqual(confirmedSentinelMasters("p", [m("10.0.0.2", 3), null, null]), { error: "lost majority (1/3)" });
});

Deno.test("HA review: a real failover seen by three sentinels still reaches the model by +switch-master alone", async () => {
  const redis: RedisProcess[] = [];
  const sentinels: SentinelProcess[] = [];
  let g: DashboardGroup | undefined;
  try {
    g = await startDashboards({
      n: 1,
      product: `${PRODUCT}-fo`,
      extra: [
        "--sentinel_quorum=2",
        "--sentinel_down_after=1s",
        "--sentinel_failover_timeout=10s",
        "--sentinel_poll_period=10m",
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
    await until("replica in sync", 10_000, async () => {
      const r = await g!.call(d, "GET", `/api/topom/group/info/${r2.addr}`);
      return r.json.master_link_status === "up" ? true : undefined;
    }, 100);
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel());
    for (const s of sentinels) {
      assert.equal((await g.call(d, "PUT", `/api/topom/sentinels/add/${x}/${s.addr}`)).status, 200);
    }
    const resync = await g.call(d, "PUT", `/api/topom/sentinels/resync-all/${x}`);
    assert.equal(resync.status, 200, JSON.stringify(resync.json));
    await until("every sentinel sees the replica and the other sentinels", 20_000, async () => {
      for (const s of sentinels) {
        const m = await g!.call(d, "GET", `/api/topom/sentinels/info/${s.addr}/monitored`);
        const master = m.json[`${PRODUCT}-fo-1`];
        if (master?.slaves?.length !== 1 || master.master["num-other-sentinels"] !== "2") return undefined;
      }
      return true;
    }, 200);
    await redis[0].kill();
    await until("model master switched", 30_000, async () => {
      const m = await group1(g!, d);
      return m.servers[0].server === r2.addr ? true : undefined;
    }, 100);
  } finally {
    await g?.stop();
    for (const s of sentinels) await s.stop();
    for (const r of redis) await r.stop();
  }
});
