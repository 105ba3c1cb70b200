import assert from "node:assert/strict";
import { type DashboardGroup, type SentinelProcess, startDashboards, startSentinel } from "../testing/dashboard.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { until } from "../testing/wait.ts";

Deno.test("dashboard + redis-sentinel: resync-all makes the sentinel monitor the group; a failover moves the master in the model", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  let sentinel: SentinelProcess | undefined;
  try {
    g = await startDashboards({
      product: "dash-ha",
      extra: ["--sentinel_quorum=1", "--sentinel_down_after=1s", "--sentinel_failover_timeout=10s"],
    });
    const x = g.xauth;
    const leader = await g.leader();
    const f = g.nodes.find((d) => d !== leader)!;
    redis.push(await startRedis(), await startRedis());
    const [r1, r2] = redis;
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/group/create/${x}/1`)).status, 200);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/group/add/${x}/1/${r1.addr}`)).status, 200);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/group/add/${x}/1/${r2.addr}`)).status, 200);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/group/action/create/${x}/${r2.addr}`)).status, 200);
    await until("replica in sync", 10_000, async () => {
      const r = await g!.call(f.admin, "GET", `/api/topom/group/info/${r2.addr}`);
      return r.json.master_link_status === "up" ? true : undefined;
    }, 100);
    sentinel = await startSentinel();
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/sentinels/add/${x}/${sentinel.addr}`)).status, 200);
    const resync = await g.call(f.admin, "PUT", `/api/topom/sentinels/resync-all/${x}`);
    assert.equal(resync.status, 200, JSON.stringify(resync.json));
    const mon = await g.call(f.admin, "GET", `/api/topom/sentinels/info/${sentinel.addr}/monitored`);
    assert.equal(mon.json["dash-ha-1"].master.port, String(r1.port));
    const st = (await g.call(f.admin, "GET", "/topom/stats")).json;
    assert.equal(st.sentinels.model.out_of_sync, false);
    // Wait until the sentinel knows the replica, then kill the master.
    await until("sentinel sees the replica", 15_000, async () => {
      const m = await g!.call(f.admin, "GET", `/api/topom/sentinels/info/${sentinel!.addr}/monitored`);
      return m.json["dash-ha-1"]?.slaves?.length === 1 ? true : undefined;
    }, 100);
    const t0 = Date.now();
    await r1.kill();
    await until("model master switched", 20_000, async () => {
      const s = (await g!.call(f.admin, "GET", "/topom/stats")).json;
      const g1 = s.group.models[0];
      return g1.servers[0].server === r2.addr && g1.out_of_sync ? true : undefined;
    }, 100);
    console.log(`sentinel failover reflected in the model ${Date.now() - t0} ms after the master was killed`);
  } finally {
    await g?.stop();
    await sentinel?.stop();
    for (const r of redis) await r.stop();
  }
});
