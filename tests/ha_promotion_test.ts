/**
 * The dashboard's own promotion with real redis-servers, a real dashboard and a real codis-proxy: it picks the
 * replica with the most data, no proxy writes to the old master after the switch even while that master is cut
 * off (and still up), and the old master rejoins as a replica of the new one once it can be reached.
 * @module
 */
import assert from "node:assert/strict";
import { type DashboardGroup, startDashboards } from "../testing/dashboard.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { startTcpRelay } from "../testing/tcp_relay.ts";
import { until } from "../testing/wait.ts";
import { replicationInfo, setupReplicatedGroup, startMaster } from "../testing/replicated_group.ts";
import { HaTestBed } from "../testing/ha_bed.ts";
import { must } from "../testing/admin_cli.ts";

const PRODUCT = "ha-promotion";

// deno-lint-ignore no-explicit-any
async function group1(g: DashboardGroup, d: string): Promise<any> {
  return (await g.call(d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1);
}

Deno.test("dashboard promotion: the replica with the most is promoted; a cut-off old master gets no write after the switch and rejoins as a replica", async () => {
  const bed = new HaTestBed();
  const client = bed.client;
  try {
    const master = await startMaster(bed.servers);
    // Everything reaches the master through `toMaster` (the dashboard, the proxy, the replicas), so cutting it off
    // cuts the master off from all of them; the lagging replica replicates through a relay of its own.
    const toMaster = startTcpRelay(master.port);
    const toLagging = startTcpRelay(toMaster.port);
    bed.relays.push(toMaster, toLagging);
    const ahead = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(toMaster.port)] });
    const lagging = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(toLagging.port)] });
    bed.servers.push(ahead, lagging);

    const g = bed.g = await startDashboards({ n: 1, product: PRODUCT });
    const d = (await g.leader()).admin;
    await setupReplicatedGroup(g, d, [toMaster.addr, lagging.addr, ahead.addr]);
    const proxy = bed.proxy = await startCodisProxy([
      `--dashboard=${d}`,
      `--product_name=${PRODUCT}`,
      "--backend_recv_timeout=1s",
    ]);
    const pc = client(proxy.port);
    await until("the proxy serves", 15_000, async () => (await pc.set("first", "1")) === "OK" ? true : undefined, 100);
    const onMaster = client(master.port);
    await until("both replicas online", 10_000, async () => {
      const info = String(await onMaster.info("replication"));
      return (info.match(/state=online/g) ?? []).length === 2 ? true : undefined;
    });

    // The lagging replica stops receiving; the other one gets 20 more writes.
    toLagging.mode("blackhole");
    for (let i = 0; i < 20; i++) assert.equal(await pc.set(`mid-${i}`, "x"), "OK");
    const onAhead = client(ahead.port);
    await until("the replica ahead has every write", 10_000, async () => {
      const [m, r] = [await replicationInfo(onMaster), await replicationInfo(onAhead)];
      return Number(r.slave_repl_offset) >= Number(m.master_repl_offset) ? true : undefined;
    });

    // The master is cut off (up, but unreachable); the dashboard promotes the best replica.
    toMaster.mode("blackhole");
    // codis-admin without --addr: PUT /api/topom/group/promote/:xauth/1, the dashboard chooses.
    const printed = await must(`--dashboard=${d}`, "--promote-server", "--gid=1");
    assert.match(printed, new RegExp(`^promoting ${ahead.addr}$`, "m"));
    await until("the promotion to finish", 30_000, async () => {
      const m = await group1(g, d);
      return m.servers[0].server === ahead.addr && !m.promoting.state ? true : undefined;
    }, 100);
    assert.equal((await replicationInfo(onAhead)).role, "master");

    // Writes after the switch go to the new master and nothing of them reaches the old one.
    for (let i = 0; i < 20; i++) assert.equal(await pc.set(`after-switch-${i}`, "y"), "OK");
    assert.equal(toMaster.seen("after-switch-"), false, "a write after the switch was sent to the old master");

    // Back on the network, the old master becomes a replica of the new one; so does the lagging replica.
    toMaster.mode("pass");
    toLagging.mode("pass");
    await until("the old master follows the new one", 20_000, async () => {
      const r = await replicationInfo(onMaster);
      return r.role === "slave" && r.master_port === String(ahead.port) ? true : undefined;
    }, 200);
    await until("the lagging replica follows the new master", 20_000, async () => {
      const r = await replicationInfo(client(lagging.port));
      return r.role === "slave" && r.master_port === String(ahead.port) ? true : undefined;
    }, 200);
    assert.equal(toMaster.seen("after-switch-"), false, "a write after the switch was sent to the old master");
    assert.equal(await pc.get("mid-3"), "x");
    assert.equal(await pc.get("after-switch-3"), "y");
  } finally {
    await bed.stop();
  }
});

Deno.test("dashboard promotion: without sentinels, a master down for promote_after_master_down is replaced by its replica, and rejoins as a replica when restarted", async () => {
  const bed = new HaTestBed();
  const client = bed.client;
  try {
    const master = await startMaster(bed.servers);
    const replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(master.port)] });
    bed.servers.push(replica);
    const product = `${PRODUCT}-auto`;
    const g = bed.g = await startDashboards({ n: 1, product, extra: ["--promote_after_master_down=2s"] });
    const d = (await g.leader()).admin;
    await setupReplicatedGroup(g, d, [master.addr, replica.addr]);
    const proxy = bed.proxy = await startCodisProxy([`--dashboard=${d}`, `--product_name=${product}`]);
    const pc = client(proxy.port);
    await until("the proxy serves", 15_000, async () => (await pc.set("before", "1")) === "OK" || undefined, 100);
    const onMaster = client(master.port);
    await until("the replica has the write", 10_000, async () => {
      const [m, r] = [await replicationInfo(onMaster), await replicationInfo(client(replica.port))];
      return r.master_link_status === "up" && Number(r.slave_repl_offset) >= Number(m.master_repl_offset) || undefined;
    });

    await master.kill();
    await until("the dashboard to promote the replica", 30_000, async () => {
      const m = await group1(g, d);
      return m.servers[0].server === replica.addr && !m.promoting.state ? true : undefined;
    }, 200);
    await until(
      "the proxy writes to the new master",
      15_000,
      async () => (await pc.set("after", "2")) === "OK" || undefined,
    );
    assert.equal(await pc.get("before"), "1");

    await master.restart();
    await until("the restarted master follows the new one", 20_000, async () => {
      const r = await replicationInfo(client(master.port));
      return r.role === "slave" && r.master_port === String(replica.port) ? true : undefined;
    }, 200);
  } finally {
    await bed.stop();
  }
});
