/**
 * The proxy's dashboard lease with real processes: dashboards, two Redis groups and two codis-proxy processes, one
 * of which reaches the dashboards only through TCP forwarders. The forwarders are cut (the proxy is alive, only cut
 * off), the operator force-removes that proxy and moves a slot: the slot step waits out the proxy's lease, and after
 * it a SET through the cut-off proxy gets the lease error instead of landing in the slot's old group. Healing the
 * cut lets the proxy register again and serve the slot where it now lives. A dashboard that takes over right after
 * the removal waits as well.
 * @module
 */
import assert from "node:assert/strict";
import { slotOf } from "../proxy/hash.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { type DashboardGroup, setupGroups, startDashboards } from "../testing/dashboard.ts";
import { type Forwarder, forwarder } from "../testing/forwarder.ts";
import { redisCli } from "../testing/proxy.ts";
import { redisCliDb, type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep, until } from "../testing/wait.ts";

const PRODUCT = "lease-test";
const LEASE_MS = 3000;
const KEY = "lease-key";
const SID = slotOf(new TextEncoder().encode(KEY));

interface LeaseCluster {
  g: DashboardGroup;
  redis: RedisProcess[];
  fwds: Forwarder[];
  /** Reaches the dashboards only through `fwds`. */
  cutOff: CodisProxyProcess;
  other: CodisProxyProcess;
  /** The cut-off proxy's token. */
  token: string;
}

/** `n` dashboards, groups 1 (every slot) and 2, and the two proxies with a short lease, both serving KEY. */
async function withLeaseCluster(n: number, fn: (c: LeaseCluster) => Promise<void>): Promise<void> {
  let g: DashboardGroup | undefined;
  const redis: RedisProcess[] = [];
  const proxies: CodisProxyProcess[] = [];
  const fwds: Forwarder[] = [];
  try {
    g = await startDashboards({ n, product: PRODUCT });
    const dash = (await g.leader()).admin;
    redis.push(await startRedis(), await startRedis());
    await setupGroups(g, dash, redis);
    for (const d of g.nodes) {
      const [hostname, port] = d.admin.split(":");
      fwds.push(forwarder({ hostname, port: Number(port) }));
    }
    const lease = `--dashboard_lease_timeout=${LEASE_MS}ms`;
    const via = (addrs: string[]) => [`--dashboard=${addrs.join(",")}`, `--product_name=${PRODUCT}`, lease];
    const cutOff = await startCodisProxy(via(fwds.map((f) => f.addr)));
    proxies.push(cutOff);
    const other = await startCodisProxy(via(g.nodes.map((d) => d.admin)));
    proxies.push(other);
    await until("both proxies serving", 30_000, async () => {
      const a = await redisCli(cutOff.port, ["SET", KEY, "before"]);
      const b = await redisCli(other.port, ["GET", KEY]);
      return a.trim() === "OK" && b.trim() === "before" ? true : undefined;
    });
    const model = await (await fetch(`http://127.0.0.1:${cutOff.adminPort}/api/proxy/model`)).json();
    assert.equal(model.dashboard_lease_ms, LEASE_MS, "the proxy reports its lease in its model");
    await fn({ g, redis, fwds, cutOff, other, token: model.token });
  } finally {
    for (const p of proxies) await p.stop();
    for (const f of fwds) await f.close();
    await g?.stop();
    for (const r of redis) await r.stop();
  }
}

/** Waits until slot SID has moved to group 2 and its action is cleared; returns when (Date.now()). */
function untilMoved(g: DashboardGroup, dash: string): Promise<number> {
  return until("the slot moved to group 2", 30_000, async () => {
    const s = (await g.call(dash, "GET", "/topom/stats")).json.slots[SID];
    return s.group_id === 2 && !s.action.state ? Date.now() : undefined;
  }, 25);
}

/** Slot SID a third of the lease after its action was created: still in group 1, the action in progress. */
async function assertStillWaiting(g: DashboardGroup, dash: string): Promise<void> {
  await sleep(LEASE_MS / 3);
  const early = (await g.call(dash, "GET", "/topom/stats")).json.slots[SID];
  assert.equal(early.group_id, 1, "the slot waits for the removed proxy's lease");
  assert.ok(early.action.state, `the action is still in progress: ${JSON.stringify(early)}`);
}

/** After the move: the cut-off proxy refuses, nothing reached the old group, the other proxy serves group 2. */
async function assertRefusedAfterMove(c: LeaseCluster): Promise<void> {
  const refused = await redisCli(c.cutOff.port, ["SET", KEY, "lost?"]);
  assert.match(refused, /proxy lease expired: no dashboard reached for \d+s/);
  assert.equal((await redisCli(c.other.port, ["GET", KEY])).trim(), "before");
  assert.equal(await redisCliDb(c.redis[0], SID, "EXISTS", KEY), "0", "nothing written to the old group");
  assert.equal(await redisCliDb(c.redis[1], SID, "GET", KEY), "before");
}

Deno.test("proxy lease: a force-removed proxy cut off from the dashboard stops serving before the slot moves on", async () => {
  await withLeaseCluster(1, async (c) => {
    const { g } = c;
    const dash = g.nodes[0].admin;
    for (const f of c.fwds) f.partition();
    const cutAt = Date.now();
    assert.equal((await g.call(dash, "PUT", `/api/topom/proxy/remove/${g.xauth}/${c.token}/1`)).status, 200);
    assert.equal((await g.call(dash, "PUT", `/api/topom/slots/action/create/${g.xauth}/${SID}/2`)).status, 200);
    await assertStillWaiting(g, dash);
    const done = await untilMoved(g, dash);
    // The dashboard saw the proxy's last poll at most one poll timeout (a third of the lease) before the cut.
    assert.ok(
      done - cutAt >= LEASE_MS - LEASE_MS / 3,
      `the step waited out the lease (${done - cutAt} ms after the cut)`,
    );
    await assertRefusedAfterMove(c);

    // Healed: the proxy finds itself removed, registers again and serves the slot where it now lives.
    for (const f of c.fwds) f.heal();
    await until("the cut-off proxy serving again", 30_000, async () => {
      return (await redisCli(c.cutOff.port, ["SET", KEY, "after"])).trim() === "OK" ? true : undefined;
    }, 100);
    assert.equal(await redisCliDb(c.redis[1], SID, "GET", KEY), "after");
    assert.equal(await redisCliDb(c.redis[0], SID, "EXISTS", KEY), "0");
    assert.equal((await redisCli(c.other.port, ["GET", KEY])).trim(), "after");
  });
});

Deno.test("proxy lease: a dashboard that takes over right after the removal still waits out the removed proxy's lease", async () => {
  await withLeaseCluster(3, async (c) => {
    const { g } = c;
    const leader = await g.leader();
    for (const f of c.fwds) f.partition();
    assert.equal((await g.call(leader.admin, "PUT", `/api/topom/proxy/remove/${g.xauth}/${c.token}/1`)).status, 200);
    await leader.kill();
    const next = await g.leader(15_000);
    assert.notEqual(next, leader);
    assert.equal((await g.call(next.admin, "PUT", `/api/topom/slots/action/create/${g.xauth}/${SID}/2`)).status, 200);
    await assertStillWaiting(g, next.admin);
    await untilMoved(g, next.admin);
    await assertRefusedAfterMove(c);
  });
});
