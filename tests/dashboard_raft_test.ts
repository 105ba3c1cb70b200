import assert from "node:assert/strict";
import { type DashboardGroup, DashboardProc, startDashboards, startSentinel } from "../testing/dashboard.ts";
import { freePort, waitForPort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { until } from "../testing/wait.ts";

Deno.test("dashboard: 3 CLI dashboards form a Raft group; any node serves the API; group/server lifecycle; leader kill -9", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  try {
    g = await startDashboards({ product: "dash-raft" });
    const x = g.xauth;
    const leader = await g.leader();
    const [f1, f2] = g.nodes.filter((d) => d !== leader);
    redis.push(
      await startRedis(),
      await startRedis(),
      await startRedis({ databases: 16 }),
      await startRedis({ hz: 10 }),
    );
    redis.push(await startRedis({ requirepass: "secret" }));
    const [r1, r2, r16, rhz, rpass] = redis;

    // Writes on followers are forwarded to the leader; reads on any node see them.
    assert.equal((await g.call(f1.admin, "PUT", `/api/topom/group/create/${x}/1`)).status, 200);
    assert.equal((await g.call(f2.admin, "PUT", `/api/topom/group/create/${x}/2`)).status, 200);
    const dup = await g.call(f2.admin, "PUT", `/api/topom/group/create/${x}/1`);
    assert.equal(dup.status, 409);
    assert.match(dup.json.Cause, /group-\[1\] already exists/);
    assert.equal((await g.call(f1.admin, "PUT", `/api/topom/group/create/bad/3`)).status, 401);
    const bad = await g.call(f1.admin, "PUT", `/api/topom/group/create/${x}/0`);
    assert.equal(bad.status, 400);
    assert.match(bad.json.Cause, /invalid group id/);

    // Adding servers: each failure has its own message.
    assert.equal((await g.call(f1.admin, "PUT", `/api/topom/group/add/${x}/1/${r1.addr}`)).status, 200);
    assert.equal((await g.call(leader.admin, "PUT", `/api/topom/group/add/${x}/1/${r2.addr}/dc1`)).status, 200);
    const again = await g.call(f2.admin, "PUT", `/api/topom/group/add/${x}/2/${r1.addr}`);
    assert.equal(again.status, 409);
    assert.match(again.json.Cause, /already exists|group-\[1\]/);
    const down = await g.call(f2.admin, "PUT", `/api/topom/group/add/${x}/2/127.0.0.1:${freePort()}`);
    assert.equal(down.status, 400);
    assert.match(down.json.Cause, /unreachable/);
    const few = await g.call(f2.admin, "PUT", `/api/topom/group/add/${x}/2/${r16.addr}`);
    assert.equal(few.status, 400);
    assert.match(few.json.Cause, /16 databases/);
    const noauth = await g.call(f2.admin, "PUT", `/api/topom/group/add/${x}/2/${rpass.addr}`);
    assert.equal(noauth.status, 400);
    assert.match(noauth.json.Cause, /password|auth/i);
    const slow = await g.call(f2.admin, "PUT", `/api/topom/group/add/${x}/2/${rhz.addr}`);
    assert.equal(slow.status, 200);
    assert.match(slow.json.warning, /hz 10/);

    // Every node's reads show the same model.
    for (const d of g.nodes) {
      const groups = await until("groups on " + d.admin, 5000, async () => {
        const r = await g!.call(d.admin, "GET", `/topom/stats`);
        const ms = r.json.group.models as { id: number; servers: { server: string }[] }[];
        return ms.length === 2 && ms[0].servers.length === 2 && ms[1].servers.length === 1 ? ms : undefined;
      });
      assert.deepEqual(groups[0].servers.map((s) => s.server), [r1.addr, r2.addr]);
    }
    // Sentinels: probed with SENTINEL FLUSHCONFIG, stored, polled.
    const sentinel = await startSentinel();
    try {
      const notSentinel = await g.call(f1.admin, "PUT", `/api/topom/sentinels/add/${x}/${r16.addr}`);
      assert.equal(notSentinel.status, 400);
      assert.match(notSentinel.json.Cause, /FLUSHCONFIG/);
      assert.equal((await g.call(f1.admin, "PUT", `/api/topom/sentinels/add/${x}/${sentinel.addr}`)).status, 200);
      assert.equal((await g.call(f2.admin, "PUT", `/api/topom/sentinels/add/${x}/${sentinel.addr}`)).status, 409);
      const sinfo = await g.call(f1.admin, "GET", `/api/topom/sentinels/info/${sentinel.addr}`);
      assert.equal(sinfo.json.redis_mode, "sentinel");
      assert.deepEqual(
        (await g.call(f1.admin, "GET", `/api/topom/sentinels/info/${sentinel.addr}/monitored`)).json,
        {},
      );
      const model = (await g.call(f2.admin, "GET", `/topom/stats`)).json.sentinels.model;
      assert.deepEqual(model, { servers: [sentinel.addr], out_of_sync: true });
      assert.equal((await g.call(f2.admin, "PUT", `/api/topom/sentinels/del/${x}/${sentinel.addr}/0`)).status, 200);
    } finally {
      await sentinel.stop();
    }

    const info = await g.call(f1.admin, "GET", `/api/topom/group/info/${r1.addr}`);
    assert.equal(info.status, 200);
    assert.equal(info.json.tcp_port, String(r1.port));

    // Sync action: REPLICAOF the master, run by the leader.
    assert.equal((await g.call(f1.admin, "PUT", `/api/topom/group/action/create/${x}/${r2.addr}`)).status, 200);
    await until("sync action synced", 10_000, async () => {
      const r = await g!.call(f1.admin, "GET", `/topom/stats`);
      return r.json.group.models[0].servers[1].action.state === "synced" ? true : undefined;
    });
    const r2info = await g.call(f1.admin, "GET", `/api/topom/group/info/${r2.addr}`);
    assert.equal(r2info.json.master_addr, r1.addr);

    // Manual promote through the barrier (no proxies registered: nothing holds it).
    const master = await g.call(f2.admin, "PUT", `/api/topom/group/promote/${x}/1/${r1.addr}`);
    assert.equal(master.status, 409);
    assert.match(master.json.Cause, /can't promote master/);
    assert.equal((await g.call(f2.admin, "PUT", `/api/topom/group/promote/${x}/1/${r2.addr}`)).status, 200);
    await until("promotion finished", 10_000, async () => {
      const r = await g!.call(f1.admin, "GET", `/topom/stats`);
      const g1 = r.json.group.models[0];
      return g1.servers[0].server === r2.addr && !g1.promoting.state ? true : undefined;
    });
    assert.equal((await g.call(f1.admin, "GET", `/api/topom/group/info/${r2.addr}`)).json.role, "master");

    // Slots assign + remove server/group rules.
    const assign = await g.call(f2.admin, "PUT", `/api/topom/slots/assign/${x}`, [{ id: 0, group_id: 1 }]);
    assert.equal(assign.status, 200);
    const badBody = await g.call(f2.admin, "PUT", `/api/topom/slots/assign/${x}`, [{ id: 5000, group_id: 1 }]);
    assert.equal(badBody.status, 400);
    assert.match(badBody.json.Cause, /slot id/);
    assert.equal((await g.call(f2.admin, "PUT", `/api/topom/group/del/${x}/2/${rhz.addr}`)).status, 200);
    assert.equal((await g.call(f2.admin, "PUT", `/api/topom/group/remove/${x}/2`)).status, 200);
    const inUse = await g.call(f2.admin, "PUT", `/api/topom/group/remove/${x}/1`);
    assert.equal(inUse.status, 409);

    // kill -9 the leader: another takes over within seconds, with the model, and accepts writes.
    const t0 = Date.now();
    await leader.kill("SIGKILL");
    const next = await g.leader(15_000);
    assert.notEqual(next.id, leader.id);
    const write = await until("a write after failover", 10_000, async () => {
      const r = await g!.call(f1.admin, "PUT", `/api/topom/group/create/${x}/3`);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(write.status, 200);
    const failover = Date.now() - t0;
    assert.ok(failover < 10_000, `failover took ${failover} ms`);
    console.log(`dashboard failover: new leader accepted a write ${failover} ms after kill -9`);
    const st = await g.call(next.admin, "GET", `/api/topom/stats/${x}`);
    assert.deepEqual(st.json.group.models.map((m: { id: number }) => m.id), [1, 3]);
    assert.equal(st.json.slots[0].group_id, 1);
  } finally {
    await g?.stop();
    for (const r of redis) await r.stop();
  }
});

Deno.test("dashboard: Raft operator endpoints (status, add learner, promote, transfer, remove, bad input)", async () => {
  let g: DashboardGroup | undefined;
  const extra: { kill(): Promise<void> }[] = [];
  try {
    g = await startDashboards({ product: "dash-ops" });
    const x = g.xauth;
    const leader = await g.leader();
    const f = g.nodes.find((d) => d !== leader)!;
    const members = async (addr: string) =>
      ((await g!.call(addr, "GET", "/api/topom/raft/status")).json.members as { id: number; voter: boolean }[])
        .map((m) => `${m.id}${m.voter ? "" : "L"}`).sort().join(",");
    assert.equal(await members(leader.admin), "1,2,3");

    // Bad input: unreachable address, unknown ids, wrong xauth; membership unchanged.
    const unreachable = await g.call(f.admin, "PUT", `/api/topom/raft/add/${x}/4/127.0.0.1:${freePort()}`);
    assert.equal(unreachable.status, 400);
    assert.match(unreachable.json.Cause, /unreachable/);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/promote/${x}/9`)).status, 404);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/remove/${x}/9`)).status, 404);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/transfer/${x}/9`)).status, 404);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/remove/bad/2`)).status, 401);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/add/${x}/2/127.0.0.1:1`)).status, 409);
    assert.equal(await members(leader.admin), "1,2,3");

    // A fourth dashboard, not among the founders, waits until it is added as a learner, then promoted.
    const spec = { id: 4, admin: `127.0.0.1:${freePort()}`, raft: `127.0.0.1:${freePort()}` };
    const d4 = DashboardProc.spawn({
      ...spec,
      product: g.product,
      auth: g.auth,
      dataDir: `${g.root}/n4`,
      peers: `${g.peers},4=${spec.raft}`,
      bootstrap: true,
      extra: ["--join"],
    });
    extra.push(d4);
    await waitForPort(Number(spec.admin.split(":")[1]), 30_000);
    await waitForPort(Number(spec.raft.split(":")[1]), 30_000);
    const add = await g.call(f.admin, "PUT", `/api/topom/raft/add/${x}/4/${spec.raft}?learner=1`);
    assert.equal(add.status, 200, JSON.stringify(add.json));
    assert.equal(await members(leader.admin), "1,2,3,4L");
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/transfer/${x}/4`)).status, 409);
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/promote/${x}/4`)).status, 200);
    assert.equal(await members(leader.admin), "1,2,3,4");
    // The new member serves the API (writes forwarded).
    await until("node 4 serves writes", 10_000, async () => {
      const r = await g!.call(spec.admin, "PUT", `/api/topom/group/create/${x}/7`);
      return r.status === 200 ? r : undefined;
    });

    // Transfer leadership to 4, then remove 4 (the leader hands over first).
    assert.equal((await g.call(f.admin, "PUT", `/api/topom/raft/transfer/${x}/4`)).status, 200);
    const l2 = await until("node 4 leads", 10_000, async () => {
      const r = await g!.call(spec.admin, "GET", "/api/topom/raft/status");
      return r.json.role === "leader" ? true : undefined;
    });
    assert.ok(l2);
    const rm = await g.call(f.admin, "PUT", `/api/topom/raft/remove/${x}/4`);
    assert.equal(rm.status, 200, JSON.stringify(rm.json));
    const after = await until("4 removed", 10_000, async () => {
      const l = await g!.leader();
      const m = await members(l.admin);
      return m === "1,2,3" ? m : undefined;
    });
    assert.equal(after, "1,2,3");
    // shutdown stops the process it is sent to (never forwarded).
    assert.equal((await g.call(spec.admin, "PUT", `/api/topom/shutdown/${x}`)).status, 200);
    await until("node 4 exits", 10_000, () => Promise.resolve(d4.alive ? undefined : true));
  } finally {
    for (const e of extra) await e.kill();
    await g?.stop();
  }
});
