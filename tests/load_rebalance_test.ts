import assert from "node:assert/strict";
import type { ClusterSlotStats } from "../models/load_stats.ts";
import { type DashboardGroup, setupGroups, startDashboards } from "../testing/dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep, until } from "../testing/wait.ts";
import { keyIn, respConn, type SkewedLoad, slotOfKey, startSkewedLoad } from "../testing/skewed_load.ts";
import { must } from "../testing/admin_cli.ts";

Deno.test("load: a skewed workload through two proxies shows its hot key, hot slot and big key at the dashboard, and the load plan evens the groups out", async () => {
  const redis: RedisProcess[] = [];
  const proxies: CodisProxyProcess[] = [];
  let load: SkewedLoad | undefined;
  let g: DashboardGroup | undefined;
  try {
    g = await startDashboards({ n: 1, product: "load-e2e" });
    const x = g.xauth;
    const dash = (await g.leader()).admin;
    redis.push(await startRedis(), await startRedis());
    await setupGroups(g, dash, redis);
    // Group 1 holds slots 0-511, group 2 512-1023 (no data yet, so assigning moves nothing).
    const half = Array.from({ length: 512 }, (_, i) => ({ id: 512 + i, group_id: 2 }));
    assert.equal((await g.call(dash, "PUT", `/api/topom/slots/assign/${x}`, half)).status, 200);
    for (let i = 0; i < 2; i++) {
      proxies.push(
        await startCodisProxy([
          `--dashboard=${dash}`,
          "--product_name=load-e2e",
          "--load_stats_window=3s",
          "--hotkeys_sample_every=4",
          "--bigkeys_threshold=64kb",
        ]),
      );
    }
    // The big key is written straight to group 2's server (database = slot), so only its replies show it.
    const bigKey = keyIn("big:blob:", 700, 800);
    const direct = respConn(redis[1].addr);
    try {
      await direct.connect();
      assert.equal((await direct.call(slotOfKey(bigKey), ["SET", bigKey, "x".repeat(100_000)]))[0], 43);
    } finally {
      direct.close();
    }
    // The skew, all on group 1 but for a trickle: one hot key, and 32 consecutive slots read hard.
    load = await startSkewedLoad(proxies.map((p) => `127.0.0.1:${p.port}`), bigKey);
    const { hotKey, hotSlot } = load;

    // Within a few seconds the dashboard names the hot key, the hot slot and the big key.
    const hot = await until("hot key at the dashboard", 8000, async () => {
      const r = await g!.call(dash, "GET", `/api/topom/hotkeys/${x}`);
      return r.status === 200 && r.json.keys[0]?.key === hotKey ? r.json : undefined;
    });
    assert.equal(hot.keys[0].slot, hotSlot);
    const stats = await until("hot slot at the dashboard", 8000, async () => {
      const r = await g!.call(dash, "GET", "/topom/slots/stats");
      const s = r.json as ClusterSlotStats;
      const top = [...s.slots].sort((a, b) => b.ops_per_sec - a.ops_per_sec)[0];
      return top?.id === hotSlot ? s : undefined;
    });
    assert.equal(stats.slots.find((e) => e.id === hotSlot)!.group_id, 1);
    const big = await until("big key at the dashboard", 8000, async () => {
      const r = await g!.call(dash, "GET", `/api/topom/bigkeys/${x}`);
      return r.json.keys?.find((k: { key: string }) => k.key === bigKey);
    });
    assert.ok(big.bytes >= 100_000 && big.kind === "reply", JSON.stringify(big));
    // Hot and big keys name users' keys: not without the xauth.
    assert.equal((await g.call(dash, "GET", `/api/topom/hotkeys/${"0".repeat(32)}`)).status, 401);
    assert.equal((await g.call(dash, "GET", "/topom/hotkeys")).status, 401);
    assert.match(await must(`--dashboard=${dash}`, "--hotkeys"), new RegExp(`${hotSlot}  ${hotKey}`));

    // The plan, previewed with codis-admin, then confirmed: only the hot key's slot and range slots move.
    await sleep(3000); // a whole window of the steady workload
    const preview = await must(`--dashboard=${dash}`, "--rebalance", "--by=load", "--max-moves=32");
    assert.match(preview, /group-1: .* => /);
    assert.match(preview, /add --confirm/);
    const plan = JSON.parse(
      await must(`--dashboard=${dash}`, "--rebalance", "--by=load", "--max-moves=32", "--confirm", "--json"),
    );
    assert.ok(plan.moves.length > 0 && plan.moves.length <= 32, JSON.stringify(plan));
    for (const m of plan.moves) {
      assert.ok(
        m.slot === hotSlot || (m.slot >= 100 && m.slot <= 131),
        `moved slot ${m.slot} is neither hot nor in the range`,
      );
      assert.deepEqual([m.from, m.to], [1, 2]);
    }
    assert.deepEqual(plan.hot_slots, []);

    // The moves run through the slot-move machinery; once done and a window later, the groups carry about as much.
    await until("planned moves done", 60_000, async () => {
      const st = (await g!.call(dash, "GET", "/topom/stats")).json;
      const busy = st.slots.some((s: { action: { state?: string } }) => s.action.state);
      return busy ? undefined : true;
    }, 200);
    await sleep(3500);
    const after = (await g.call(dash, "GET", "/topom/slots/stats")).json as ClusterSlotStats;
    const [g1, g2] = [after.groups["1"].ops_per_sec, after.groups["2"].ops_per_sec];
    assert.ok(g1 > 0 && g2 > 0);
    assert.ok(Math.max(g1, g2) <= 1.2 * Math.min(g1, g2), `groups after the moves: ${g1} / ${g2} ops/s`);
    // The other measures and views of codis-admin.
    assert.match(await must(`--dashboard=${dash}`, "--rebalance", "--by=keys"), /expected keys per group/);
    assert.match(await must(`--dashboard=${dash}`, "--rebalance", "--by=bytes"), /expected bytes\/s per group/);
    assert.match(
      await must(`--dashboard=${dash}`, "--bigkeys"),
      new RegExp(`reply\\s+0*${slotOfKey(bigKey)}  ${bigKey}`),
    );
    const table = await must(`--dashboard=${dash}`, "--slots-stats");
    assert.match(table, /^group-1 /m);
    assert.match(table, /^group-2 /m);
    console.log(
      `moved ${plan.moves.length} slots; ops/s per group before ${JSON.stringify(plan.before)}, ` +
        `planned ${JSON.stringify(plan.after)}, measured ${g1} / ${g2}`,
    );
  } finally {
    await load?.stop();
    for (const p of proxies) await p.stop();
    await g?.stop();
    for (const r of redis) await r.stop();
  }
});
