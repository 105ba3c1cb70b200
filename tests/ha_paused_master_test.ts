/**
 * The switch barrier in front of a Sentinel failover (topom/server/switch_barrier.ts) when the old master is paused
 * (SIGSTOP) with requests in flight through a proxy using backend_write_acks: the proxy acknowledges the group's hold
 * once those requests are abandoned (outcome unknown), without waiting for the paused master, so the barrier
 * completes instead of running out its bound, and none of the abandoned requests is answered OK.
 * @module
 */
import assert from "node:assert/strict";
import { type DashboardGroup, type SentinelProcess, startSentinel } from "../testing/dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { until } from "../testing/wait.ts";
import {
  replicationInfo,
  setupReplicatedGroup,
  startMaster,
  startSentinelDashboard,
  TestClients,
} from "../testing/replicated_group.ts";
import { sentinelState, shortenSentinelTilt } from "../testing/sentinel_debug.ts";

Deno.test("sentinel failover of a paused master: the proxies hold the group without waiting for it", async () => {
  const product = "ha-paused";
  const servers: RedisProcess[] = [];
  const clients = new TestClients();
  let g: DashboardGroup | undefined;
  let sentinel: SentinelProcess | undefined;
  let proxy: CodisProxyProcess | undefined;
  let pausedPid = 0;
  const client = clients.open;
  try {
    g = await startSentinelDashboard(product, { logFiles: true, logLevel: "INFO" });
    const x = g.xauth;
    const d = (await g.leader()).admin;
    const master = await startMaster(servers);
    const replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(master.port)] });
    servers.push(replica);
    await setupReplicatedGroup(g, d, [master.addr, replica.addr]);
    const onMaster = client(master.port);
    await until(
      "the replica online",
      10_000,
      async () => /state=online/.test(String(await onMaster.info())) || undefined,
    );
    sentinel = await startSentinel();
    await shortenSentinelTilt(sentinel);
    assert.equal((await g.call(d, "PUT", `/api/topom/sentinels/add/${x}/${sentinel.addr}`)).status, 200);
    assert.equal((await g.call(d, "PUT", `/api/topom/sentinels/resync-all/${x}`)).status, 200);
    await until("the sentinel sees the replica", 15_000, async () => {
      const m = await g!.call(d, "GET", `/api/topom/sentinels/info/${sentinel!.addr}/monitored`);
      return m.json[`${product}-1`]?.slaves?.length === 1 ? true : undefined;
    }, 100);
    proxy = await startCodisProxy([
      `--dashboard=${d}`,
      `--product_name=${product}`,
      "--backend_write_acks=1",
      "--backend_write_acks_timeout=1s",
    ]);
    const pc = client(proxy.port);
    await until(
      "the proxy acknowledges a write",
      15_000,
      async () => (await pc.set("first", "1")) === "OK" || undefined,
    );

    // The master stops, then writes arrive: they stay in flight on its connections.
    pausedPid = Number(
      (await replicationInfo(onMaster).then(() => onMaster.info("server"))).match(/process_id:(\d+)/)![1],
    );
    Deno.kill(pausedPid, "SIGSTOP");
    const p = pc.pipeline();
    for (let i = 0; i < 20; i++) p.set(`k${i}`, `v${i}`);
    const inFlight = p.exec();

    await until("the dashboard follows the sentinel's failover", 30_000, async () => {
      const m = (await g!.call(d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1);
      return m.servers[0].server === replica.addr && !m.promoting.state ? true : undefined;
    }, 100).catch(async (e) => {
      throw new Error(`${e.message} (${await sentinelState(sentinel!, `${product}-1`).catch((e) => e.message)})`);
    });
    for (const [e, v] of (await inFlight)!) {
      if (!e) assert.notEqual(v, "OK", "a write to the paused master was acknowledged");
    }
    // (Writes would wait for a replica the new master does not have yet.)
    await until(
      "the proxy reads from the new master",
      15_000,
      async () => (await pc.get("first")) === "1" || undefined,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
    const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1]);
    assert.ok(counter("codis_proxy_switch_abandoned_total") >= 1, "the paused master's requests were abandoned");
    assert.equal(counter("codis_proxy_drain_dropped_total"), 0, "no connection waited out the drain's bound");
    // The dashboard's log file is complete once it has exited.
    await g.nodes[0].kill();
    const logs = g.logs(500);
    assert.match(logs, /sentinels report master/);
    assert.doesNotMatch(logs, /did not hold the group/, "the switch barrier ran out its bound");
  } finally {
    if (pausedPid) {
      try {
        Deno.kill(pausedPid, "SIGCONT");
      } catch { /* gone */ }
    }
    clients.closeAll();
    await proxy?.stop();
    await sentinel?.stop();
    await g?.stop();
    for (const s of servers) await s.stop();
  }
});
