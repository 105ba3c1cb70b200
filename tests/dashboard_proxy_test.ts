import assert from "node:assert/strict";
import type { ProxyModel } from "../models/mod.ts";
import { type DashboardGroup, startDashboards } from "../testing/dashboard.ts";
import { redisCliDb, type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep, until } from "../testing/wait.ts";

/** A fake proxy: only `GET /api/proxy/model` (xping and the rest answer 404). */
function fakeProxy(product: string, token: string) {
  const srv = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/api/proxy/model") return Response.json(model);
    return new Response(JSON.stringify({ Cause: "not found", Stack: [] }), { status: 404 });
  });
  const addr = `127.0.0.1:${srv.addr.port}`;
  const model: ProxyModel = {
    token,
    start_time: new Date().toISOString(),
    admin_addr: addr,
    proto_type: "tcp4",
    proxy_addr: "127.0.0.1:1",
    product_name: product,
    pid: 1,
    pwd: "/",
    sys: "test",
    hostname: "localhost",
    datacenter: "",
  };
  return { addr, token, close: () => srv.shutdown() };
}

Deno.test("dashboard ⇄ proxy: registration, long-poll (full then incremental), acks in stats, ack barrier, remove force", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  const proxy = fakeProxy("dash-proxy", "fake-token-1");
  let stop = false;
  let poller: Promise<void> = Promise.resolve();
  try {
    g = await startDashboards({ product: "dash-proxy" });
    const x = g.xauth;
    const leader = await g.leader();
    const f = g.nodes.find((d) => d !== leader)!;
    const debug = { extraArgs: ["--enable-debug-command", "yes"] };
    redis.push(await startRedis(debug), await startRedis(debug));
    for (const [i, r] of redis.entries()) {
      assert.equal((await g.call(f.admin, "PUT", `/api/topom/group/create/${x}/${i + 1}`)).status, 200);
      assert.equal((await g.call(f.admin, "PUT", `/api/topom/group/add/${x}/${i + 1}/${r.addr}`)).status, 200);
    }
    // Register through a follower (forwarded).
    const on = await g.call(f.admin, "PUT", `/api/topom/proxy/online/${x}/${proxy.addr}`);
    assert.equal(on.status, 200, JSON.stringify(on.json));
    const watch = (addr: string, applied: number, since: number, timeout = 5000) =>
      g!.call(
        addr,
        "GET",
        `/api/topom/proxy/watch/${x}/${proxy.token}?applied=${applied}&since=${since}&timeout=${timeout}`,
      );

    // A follower answers 421 with the leader's admin address.
    const redirect = await watch(f.admin, 0, 0);
    assert.equal(redirect.status, 421);
    assert.equal(redirect.json.leader, leader.admin);
    assert.equal((await g.call(leader.admin, "GET", `/api/topom/proxy/watch/${x}/nope?since=0`)).status, 404);

    // First poll: all 1024 slots.
    const full = await watch(leader.admin, 0, 0);
    assert.equal(full.status, 200);
    assert.equal(full.json.full, true);
    assert.equal(full.json.slots.length, 1024);
    let rev = full.json.revision as number;
    // Nothing new: answers at the timeout with since.
    const idle = await watch(leader.admin, rev, rev, 200);
    assert.deepEqual([idle.json.revision, idle.json.slots.length], [rev, 0]);

    // proxy/reinit: the pending poll answers with every slot.
    const waiting = watch(leader.admin, rev, rev, 10_000);
    await sleep(50);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/proxy/reinit/${x}/${proxy.token}`)).status, 200);
    const again = await waiting;
    assert.deepEqual([again.json.full, again.json.slots.length], [true, 1024]);
    rev = again.json.revision;

    // slots/assign → an incremental answer with exactly those slots.
    const pending = watch(leader.admin, rev, rev, 10_000);
    await sleep(50);
    const assign = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: id < 512 ? 1 : 2 }));
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/slots/assign/${x}`, assign.slice(0, 10))).status, 200);
    const inc = await pending;
    assert.equal(inc.json.full, false);
    assert.deepEqual(inc.json.slots.map((s: { id: number }) => s.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(inc.json.slots[0].backend_addr, redis[0].addr);
    rev = inc.json.revision;
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/slots/assign/${x}`, assign.slice(10))).status, 200);
    const rest = await watch(leader.admin, rev, rev);
    assert.equal(rest.json.slots.length, 1014);
    rev = rest.json.revision;
    await watch(leader.admin, rev, rev, 10); // ack
    const stats = await g.call(f.admin, "GET", `/api/topom/stats/${x}`);
    assert.equal(stats.json.proxy.acks[proxy.token].revision, rev);
    assert.ok(Date.now() - stats.json.proxy.acks[proxy.token].last_seen < 5000);

    // A slot action does not move past preparing until the proxy acks.
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/slots/action/create/${x}/5/2`)).status, 200);
    const slotState = async () => (await g!.call(leader.admin, "GET", `/topom/stats`)).json;
    await until("preparing", 5000, async () => (await slotState()).slots[5].action.state === "preparing" || undefined);
    await sleep(500);
    let st = await slotState();
    assert.equal(st.slots[5].action.state, "preparing");
    assert.deepEqual(st.slot_action.slots["5"].held_by, [proxy.token]);
    // The proxy's next poll carries the preparing step; acking it lets exactly one more step through.
    const step = await watch(leader.admin, rev, rev);
    assert.deepEqual(step.json.slots.map((s: { id: number }) => s.id), [5]);
    assert.equal(step.json.slots[0].replica_groups, undefined);
    const locked = await watch(leader.admin, step.json.revision, step.json.revision);
    assert.equal(locked.json.slots[0].locked, true);
    assert.equal(locked.json.slots[0].backend_addr, redis[1].addr);
    assert.equal(locked.json.slots[0].migrate_from, redis[0].addr);
    await until("prepared", 5000, async () => (await slotState()).slots[5].action.state === "prepared" || undefined);
    await sleep(300);
    st = await slotState();
    assert.equal(st.slots[5].action.state, "prepared", "held again: the proxy has not acked the prepared step");

    // The proxy goes silent: removing it with force releases the action, which finishes (empty slot).
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/proxy/remove/${x}/${proxy.token}/1`)).status, 200);
    await until("slot 5 moved", 5000, async () => {
      const s = await slotState();
      return s.slots[5].group_id === 2 && !s.slots[5].action.state ? true : undefined;
    });
    assert.equal((await watch(leader.admin, 0, 0)).status, 404);

    // End to end with an acking proxy: from slots/action/create to the slot's final mapping.
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/proxy/online/${x}/${proxy.addr}`)).status, 200);
    stop = false;
    poller = (async () => {
      let since = 0;
      for (let i = 0; i < 10_000 && !stop; i++) {
        const r = await watch(leader.admin, since, since, 200);
        if (r.status !== 200) break;
        since = r.json.revision;
      }
    })();
    await sleep(200);
    const t0 = performance.now();
    assert.equal((await g.call(leader.admin, "PUT", `/api/topom/slots/action/create/${x}/6/2`)).status, 200);
    await until("slot 6 moved", 5000, async () => {
      const s = await slotState();
      return s.slots[6].group_id === 2 && !s.slots[6].action.state ? true : undefined;
    });
    const ms = performance.now() - t0;
    console.log(`empty slot: slots/action/create → finished and cleared in ${ms.toFixed(0)} ms (one acking proxy)`);
    assert.ok(ms < 3000, `end to end ${ms} ms`);

    // A slot with 50,101 small keys (Codis's benchmark slot), moved by the executor through every step.
    const N = 50_101;
    await redisCliDb(redis[0], 7, "DEBUG", "POPULATE", String(N), "k", "10");
    assert.equal(await redisCliDb(redis[0], 7, "DBSIZE"), String(N));
    const t1 = performance.now();
    assert.equal((await g.call(leader.admin, "PUT", `/api/topom/slots/action/create/${x}/7/2`)).status, 200);
    await until("slot 7 moved", 30_000, async () => {
      const s = await slotState();
      return s.slots[7].group_id === 2 && !s.slots[7].action.state ? true : undefined;
    });
    const ms7 = performance.now() - t1;
    stop = true;
    await poller;
    console.log(`slot of ${N} keys: slots/action/create → finished and cleared in ${ms7.toFixed(0)} ms`);
    assert.equal(await redisCliDb(redis[0], 7, "DBSIZE"), "0");
    assert.equal(await redisCliDb(redis[1], 7, "DBSIZE"), String(N));
  } finally {
    stop = true;
    await poller;
    await g?.stop();
    await proxy.close();
    for (const r of redis) await r.stop();
  }
});
