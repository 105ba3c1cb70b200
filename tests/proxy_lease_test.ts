/**
 * The proxy's dashboard lease with real processes: a dashboard, two Redis groups and two codis-proxy processes, one
 * of which reaches the dashboard only through a TCP forwarder. The forwarder is cut (the proxy is alive, only cut
 * off), the operator force-removes that proxy and moves a slot: the slot step waits out the proxy's lease, and after
 * it a SET through the cut-off proxy gets the lease error instead of landing in the slot's old group. Healing the
 * cut lets the proxy register again and serve the slot where it now lives.
 * @module
 */
import assert from "node:assert/strict";
import { slotOf } from "../proxy/hash.ts";
import { type CodisProxyProcess, startCodisProxy } from "./support/codis_proxy.ts";
import { type DashboardGroup, setupGroups, startDashboards } from "./support/dashboard.ts";
import { type Forwarder, forwarder } from "./support/forwarder.ts";
import { redisCli } from "./support/proxy.ts";
import { redisCliDb, type RedisProcess, startRedis } from "./support/redis.ts";
import { sleep, until } from "./support/wait.ts";

const PRODUCT = "lease-test";
const LEASE_MS = 3000;

Deno.test("proxy lease: a force-removed proxy cut off from the dashboard stops serving before the slot moves on", async () => {
  let g: DashboardGroup | undefined;
  const redis: RedisProcess[] = [];
  const proxies: CodisProxyProcess[] = [];
  let fwd: Forwarder | undefined;
  try {
    g = await startDashboards({ n: 1, product: PRODUCT });
    const dash = (await g.leader()).admin;
    const x = g.xauth;
    redis.push(await startRedis(), await startRedis());
    await setupGroups(g, dash, redis);
    const [host, port] = dash.split(":");
    fwd = forwarder({ hostname: host, port: Number(port) });
    const lease = `--dashboard_lease_timeout=${LEASE_MS}ms`;
    const cutOff = await startCodisProxy([`--dashboard=${fwd.addr}`, `--product_name=${PRODUCT}`, lease]);
    proxies.push(cutOff);
    const other = await startCodisProxy([`--dashboard=${dash}`, `--product_name=${PRODUCT}`, lease]);
    proxies.push(other);
    const key = "lease-key";
    const sid = slotOf(new TextEncoder().encode(key));
    await until("both proxies serving", 30_000, async () => {
      const a = await redisCli(cutOff.port, ["SET", key, "before"]);
      const b = await redisCli(other.port, ["GET", key]);
      return a.trim() === "OK" && b.trim() === "before" ? true : undefined;
    });
    const model = await (await fetch(`http://127.0.0.1:${cutOff.adminPort}/api/proxy/model`)).json();
    assert.equal(model.dashboard_lease_ms, LEASE_MS, "the proxy reports its lease in its model");

    fwd.partition();
    const cutAt = Date.now();
    assert.equal((await g.call(dash, "PUT", `/api/topom/proxy/remove/${x}/${model.token}/1`)).status, 200);
    assert.equal((await g.call(dash, "PUT", `/api/topom/slots/action/create/${x}/${sid}/2`)).status, 200);
    // Within the lease the cut-off proxy still serves (and so the step must not have moved the slot yet).
    await sleep(LEASE_MS / 3);
    const early = (await g.call(dash, "GET", "/topom/stats")).json.slots[sid];
    assert.equal(early.group_id, 1, "the slot waits for the removed proxy's lease");
    assert.ok(early.action.state, `the action is still in progress: ${JSON.stringify(early)}`);

    const done = await until("the slot moved to group 2", 30_000, async () => {
      const s = (await g!.call(dash, "GET", "/topom/stats")).json.slots[sid];
      return s.group_id === 2 && !s.action.state ? Date.now() : undefined;
    }, 25);
    // The dashboard saw the proxy's last poll at most one poll timeout (a third of the lease) before the cut.
    assert.ok(
      done - cutAt >= LEASE_MS - LEASE_MS / 3,
      `the step waited out the lease (${done - cutAt} ms after the cut)`,
    );

    // After the step: the cut-off proxy refuses instead of writing to the old group; the other one serves group 2.
    const refused = await redisCli(cutOff.port, ["SET", key, "lost?"]);
    assert.match(refused, /proxy lease expired: no dashboard reached for \d+s/);
    assert.equal((await redisCli(other.port, ["GET", key])).trim(), "before");
    assert.equal(await redisCliDb(redis[0], sid, "EXISTS", key), "0", "nothing written to the old group");
    assert.equal(await redisCliDb(redis[1], sid, "GET", key), "before");

    // Healed: the proxy finds itself removed, registers again and serves the slot where it now lives.
    fwd.heal();
    await until("the cut-off proxy serving again", 30_000, async () => {
      return (await redisCli(cutOff.port, ["SET", key, "after"])).trim() === "OK" ? true : undefined;
    }, 100);
    assert.equal(await redisCliDb(redis[1], sid, "GET", key), "after");
    assert.equal(await redisCliDb(redis[0], sid, "EXISTS", key), "0");
    assert.equal((await redisCli(other.port, ["GET", key])).trim(), "after");
  } finally {
    for (const p of proxies) await p.stop();
    await fwd?.close();
    await g?.stop();
    for (const r of redis) await r.stop();
  }
});
