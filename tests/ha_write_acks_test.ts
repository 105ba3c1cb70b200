/**
 * backend_write_acks across a real Sentinel failover: a dashboard following a sentinel, a codis-proxy, a master and
 * a replica that replicates through a relay the test can stall. Acknowledged writes, then writes while replication
 * stalls, then SIGKILL of the master: Sentinel promotes the replica, the dashboard and the proxy follow, and the
 * test reads every acknowledged write back through the proxy.
 * @module
 */
import assert from "node:assert/strict";
import { until } from "../testing/wait.ts";
import { sentinelState } from "../testing/sentinel_debug.ts";
import { HaTestBed, startSentinelCluster } from "../testing/ha_bed.ts";

/** Acknowledged writes the promoted replica does not have, and how many writes were acknowledged. */
async function lostAcrossSentinelFailover(acks: number): Promise<{ acked: number; lost: string[] }> {
  const product = `ha-acks-${acks}`;
  const bed = new HaTestBed();
  try {
    const { g, d, master, replica, relay, sentinel, pc } = await startSentinelCluster(bed, product, {
      relayReplication: true,
      proxyArgs: [`--backend_write_acks=${acks}`, "--backend_write_acks_timeout=1s"],
    });

    const write = async (from: number) => {
      const p = pc.pipeline();
      for (let i = from; i < from + 50; i++) p.set(`k${i}`, `v${i}`);
      return (await p.exec())!.map(([e, v]) => e ? e.message : String(v));
    };
    const before = await write(0);
    assert.deepEqual(before, Array(50).fill("OK"));
    relay!.mode("blackhole");
    const stalled = await write(50);
    if (acks > 0) { for (const s of stalled) assert.match(s, /^NOREPLICAS write outcome unknown/); }
    await master.kill();
    await until("the dashboard follows the sentinel's failover", 30_000, async () => {
      const m = (await g.call(d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1);
      return m.servers[0].server === replica.addr ? true : undefined;
    }, 100).catch(async (e) => {
      throw new Error(`${e.message} (${await sentinelState(sentinel, `${product}-1`).catch((e) => e.message)})`);
    });
    await until("the proxy reads from the new master", 15_000, async () => (await pc.get("k0")) === "v0" || undefined);
    const acked = [...before, ...stalled].flatMap((r, i) => r === "OK" ? [`k${i}`] : []);
    const lost: string[] = [];
    for (const k of acked) if (await pc.get(k) !== `v${k.slice(1)}`) lost.push(k);
    return { acked: acked.length, lost };
  } finally {
    await bed.stop();
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
