/**
 * `slots/action/disabled` and `interval` are stored in the product (`/codis3/{product}/slot-action`), so they survive
 * a kill -9 of the Raft leader: the new active dashboard keeps a queued action waiting, and enabling resumes it.
 */
import assert from "node:assert/strict";
import { must } from "../testing/admin_cli.ts";
import { type DashboardGroup, setupGroups, startDashboards } from "../testing/dashboard.ts";
import { redisCliDb, type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep } from "../testing/wait.ts";

interface SlotView {
  id: number;
  group_id: number;
  action: { state?: string };
}

Deno.test("dashboard: disabled slot actions stay disabled after the Raft leader is killed; enabling resumes them", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  try {
    g = await startDashboards({ product: "dash-slot-action" });
    const x = g.xauth;
    const leader = await g.leader();
    const follower = g.nodes.find((d) => d !== leader)!;
    redis.push(await startRedis(), await startRedis());
    await setupGroups(g, leader.admin, redis);
    for (let i = 0; i < 50; i++) await redisCliDb(redis[0], 5, "SET", `k${i}`, `v${i}`);

    // A fresh cluster: enabled, interval 0 (Codis's start-up state).
    const fresh = (await g.call(leader.admin, "GET", "/topom/stats")).json;
    assert.deepEqual([fresh.slot_action.disabled, fresh.slot_action.interval], [false, 0]);

    // Through a follower (forwarded), as an operator may do.
    assert.equal((await g.call(follower.admin, "PUT", `/api/topom/slots/action/disabled/${x}/1`)).status, 200);
    assert.equal((await g.call(follower.admin, "PUT", `/api/topom/slots/action/interval/${x}/1500`)).status, 200);
    assert.equal((await g.call(leader.admin, "PUT", `/api/topom/slots/action/create/${x}/5/2`)).status, 200);
    await sleep(300);
    const before = (await g.call(leader.admin, "GET", "/topom/stats")).json;
    assert.equal(before.slots[5].action.state, "pending", "disabled: the action does not start");
    assert.deepEqual([before.slot_action.disabled, before.slot_action.interval], [true, 1500]);

    await leader.kill("SIGKILL");
    const next = await g.leader(15_000);
    assert.notEqual(next, leader);
    const after = (await g.call(next.admin, "GET", "/topom/stats")).json;
    assert.deepEqual([after.slot_action.disabled, after.slot_action.interval], [true, 1500], "read from the store");
    // The new leader schedules every 50 ms: a second is twenty chances to start the action by mistake.
    await sleep(1000);
    const still = (await g.call(next.admin, "GET", "/topom/stats")).json;
    assert.equal(still.slots[5].action.state, "pending", "the new leader keeps the action waiting");
    assert.equal(await redisCliDb(redis[1], 5, "DBSIZE"), "0");
    const status = await must(`--dashboard=${next.admin}`, "--slot-action", "--status");
    assert.match(status, /disabled = true, interval = 1500 us/);
    assert.match(status, /\[ \] slot-0005 1 => 2 pending/);

    // Enabling (through codis-admin, any node) resumes it.
    const nodes = g.nodes.filter((d) => d.alive).map((d) => d.admin).join(",");
    await must(`--dashboard=${nodes}`, "--slot-action", "--disabled=0");
    const deadline = Date.now() + 20_000;
    let slot5: SlotView | undefined;
    while (Date.now() < deadline) {
      slot5 = (await g.call(next.admin, "GET", "/topom/stats")).json.slots[5];
      if (!slot5?.action.state && slot5?.group_id === 2) break;
      await sleep(100);
    }
    assert.deepEqual(slot5, { id: 5, group_id: 2, action: {} });
    assert.equal(await redisCliDb(redis[1], 5, "DBSIZE"), "50");
    assert.equal(await redisCliDb(redis[0], 5, "DBSIZE"), "0");
    const final = (await g.call(next.admin, "GET", "/topom/stats")).json;
    assert.deepEqual([final.slot_action.disabled, final.slot_action.interval], [false, 1500]);
  } finally {
    await g?.stop();
    for (const r of redis) await r.stop();
  }
});
