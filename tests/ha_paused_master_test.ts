/**
 * The switch barrier in front of a Sentinel failover (topom/server/switch_barrier.ts) when the old master is paused
 * (SIGSTOP) with requests in flight through a proxy using backend_write_acks: the proxy acknowledges the group's hold
 * once those requests are abandoned (outcome unknown), without waiting for the paused master, so the barrier
 * completes instead of running out its bound, and none of the abandoned requests is answered OK.
 * @module
 */
import assert from "node:assert/strict";
import { until } from "../testing/wait.ts";
import { replicationInfo } from "../testing/replicated_group.ts";
import { sentinelState } from "../testing/sentinel_debug.ts";
import { HaTestBed, startSentinelCluster } from "../testing/ha_bed.ts";

Deno.test("sentinel failover of a paused master: the proxies hold the group without waiting for it", async () => {
  const product = "ha-paused";
  const bed = new HaTestBed();
  let pausedPid = 0;
  try {
    const { g, d, replica, sentinel, proxy, onMaster, pc } = await startSentinelCluster(bed, product, {
      dashboard: { logFiles: true, logLevel: "INFO" },
      proxyArgs: ["--backend_write_acks=1", "--backend_write_acks_timeout=1s"],
    });

    // The master stops, then writes arrive: they stay in flight on its connections.
    pausedPid = Number(
      (await replicationInfo(onMaster).then(() => onMaster.info("server"))).match(/process_id:(\d+)/)![1],
    );
    Deno.kill(pausedPid, "SIGSTOP");
    const p = pc.pipeline();
    for (let i = 0; i < 20; i++) p.set(`k${i}`, `v${i}`);
    const inFlight = p.exec();

    await until("the dashboard follows the sentinel's failover", 30_000, async () => {
      const m = (await g.call(d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1);
      return m.servers[0].server === replica.addr && !m.promoting.state ? true : undefined;
    }, 100).catch(async (e) => {
      throw new Error(`${e.message} (${await sentinelState(sentinel, `${product}-1`).catch((e) => e.message)})`);
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
    await bed.stop();
  }
});
