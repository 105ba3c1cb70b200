/**
 * backend_write_acks across a real Sentinel failover: a dashboard following a sentinel, a codis-proxy, a master and
 * a replica that replicates through a relay the test can stall. Acknowledged writes, then writes while replication
 * stalls, then SIGKILL of the master: Sentinel promotes the replica, the dashboard and the proxy follow, and the
 * test reads every acknowledged write back through the proxy.
 * @module
 */
import assert from "node:assert/strict";
import { type DashboardGroup, type SentinelProcess, startSentinel } from "../testing/dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { startTcpRelay, type TcpRelay } from "../testing/tcp_relay.ts";
import { until } from "../testing/wait.ts";
import { setupReplicatedGroup, startMaster, startSentinelDashboard, TestClients } from "../testing/replicated_group.ts";
import { sentinelState, shortenSentinelTilt } from "../testing/sentinel_debug.ts";

/** Acknowledged writes the promoted replica does not have, and how many writes were acknowledged. */
async function lostAcrossSentinelFailover(acks: number): Promise<{ acked: number; lost: string[] }> {
  const product = `ha-acks-${acks}`;
  const servers: RedisProcess[] = [];
  const clients = new TestClients();
  let relay: TcpRelay | undefined;
  let g: DashboardGroup | undefined;
  let sentinel: SentinelProcess | undefined;
  let proxy: CodisProxyProcess | undefined;
  const client = clients.open;
  try {
    g = await startSentinelDashboard(product);
    const x = g.xauth;
    const d = (await g.leader()).admin;
    const master = await startMaster(servers);
    relay = startTcpRelay(master.port);
    const replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(relay.port)] });
    servers.push(replica);
    await setupReplicatedGroup(g, d, [master.addr, replica.addr]);
    const onMaster = client(master.port);
    await until(
      "the replica online",
      10_000,
      async () => /state=online/.test(String(await onMaster.info())) || undefined,
    );
    sentinel = await startSentinel();
    // A sentinel starved for 2 s on a loaded machine would sit in TILT for 30 s, past the failover's bound.
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
      `--backend_write_acks=${acks}`,
      "--backend_write_acks_timeout=1s",
    ]);
    const pc = client(proxy.port);
    await until(
      "the proxy acknowledges a write",
      15_000,
      async () => (await pc.set("first", "1")) === "OK" || undefined,
    );

    const write = async (from: number) => {
      const p = pc.pipeline();
      for (let i = from; i < from + 50; i++) p.set(`k${i}`, `v${i}`);
      return (await p.exec())!.map(([e, v]) => e ? e.message : String(v));
    };
    const before = await write(0);
    assert.deepEqual(before, Array(50).fill("OK"));
    relay.mode("blackhole");
    const stalled = await write(50);
    if (acks > 0) { for (const s of stalled) assert.match(s, /^NOREPLICAS write outcome unknown/); }
    await master.kill();
    await until("the dashboard follows the sentinel's failover", 30_000, async () => {
      const m = (await g!.call(d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1);
      return m.servers[0].server === replica.addr ? true : undefined;
    }, 100).catch(async (e) => {
      throw new Error(`${e.message} (${await sentinelState(sentinel!, `${product}-1`).catch((e) => e.message)})`);
    });
    await until("the proxy reads from the new master", 15_000, async () => (await pc.get("k0")) === "v0" || undefined);
    const acked = [...before, ...stalled].flatMap((r, i) => r === "OK" ? [`k${i}`] : []);
    const lost: string[] = [];
    for (const k of acked) if (await pc.get(k) !== `v${k.slice(1)}`) lost.push(k);
    return { acked: acked.length, lost };
  } finally {
    clients.closeAll();
    await proxy?.stop();
    await sentinel?.stop();
    await g?.stop();
    await relay?.close();
    for (const s of servers) await s.stop();
  }
}

Deno.test("sentinel failover: with backend_write_acks = 1 no acknowledged write is lost when the master is SIGKILLed", async () => {
  const r = await lostAcrossSentinelFailover(1);
  assert.equal(r.acked, 50);
  assert.deepEqual(r.lost, []);
});

Deno.test("sentinel failover: with backend_write_acks = 0 the same failover loses acknowledged writes", async () => {
  const r = await lostAcrossSentinelFailover(0);
  assert.equal(r.acked, 100);
  assert.ok(r.lost.length >= 50, `lost ${r.lost.length} of ${r.acked}`);
});
