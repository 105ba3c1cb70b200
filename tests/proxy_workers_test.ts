import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { slotOf } from "../models/hash.ts";
import { type DashboardGroup, setupGroups, startDashboards } from "../testing/dashboard.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { withWorkerProxy } from "../testing/worker_proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep, until } from "../testing/wait.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("proxy worker mode: 3 threads share the listener; ids, stats and fillslots cover every thread", async () => {
  await withWorkerProxy({ workers: 3, product: "wk", clients: 30 }, async ({ backends, clients, admin }) => {
    const ids = await Promise.all(clients.map((c) => c.call("CLIENT", "ID") as Promise<number>));
    assert.equal(new Set(ids).size, 30, "session ids are unique across threads");
    const threads = new Set(ids.map((id) => id % 3));
    assert.ok(threads.size >= 2, `30 connections all landed on one thread: ids ${ids.join(",")}`);
    for (const [i, c] of clients.entries()) {
      assert.equal(await c.set(`wk:${i}`, `v${i}`), "OK");
      assert.equal(await c.get(`wk:${i}`), `v${i}`);
    }

    await sleep(1200); // workers report their stats every second
    let stats = await admin.stats(0);
    assert.equal(stats.sessions.alive, 30);
    assert.ok(stats.ops.total >= 90, `ops.total ${stats.ops.total}`);

    // A slot moved through the admin API moves on every thread before the call returns.
    const key = "wk:moving";
    const slot = slotOf(enc(key));
    const from = slot < 512 ? 0 : 1;
    const to = 1 - from;
    await admin.fillSlots([{ id: slot, backend_addr: backends[to].addr, backend_addr_group_id: to + 1 }]);
    for (const [i, c] of clients.entries()) assert.equal(await c.set(key, `c${i}`), "OK");
    const direct = new Redis({ port: backends[to].port, host: "127.0.0.1", db: slot, maxRetriesPerRequest: 0 });
    clients.push(direct);
    assert.equal(await direct.get(key), "c29");
    const old = new Redis({ port: backends[from].port, host: "127.0.0.1", db: slot, maxRetriesPerRequest: 0 });
    clients.push(old);
    assert.equal(await old.exists(key), 0, "no thread still writes to the old backend");

    await admin.resetStats();
    stats = await admin.stats(0);
    assert.ok(stats.ops.total < 30, `after a reset, ops.total ${stats.ops.total}`);
  });
});

Deno.test("proxy worker mode: write-ack counters and the setting in stats and /metrics cover every thread", async () => {
  const extraArgs = ["--backend_write_acks=1", "--backend_write_acks_timeout=200ms"];
  await withWorkerProxy(
    { workers: 2, product: "wk-acks", clients: 20, extraArgs },
    async ({ clients, admin, proxy }) => {
      const ids = await Promise.all(clients.map((c) => c.call("CLIENT", "ID") as Promise<number>));
      assert.ok(new Set(ids.map((id) => id % 2)).size === 2, `20 connections all landed on one thread: ${ids}`);
      // The backends have no replica: each write, one at a time, either times out waiting or is refused at once.
      for (const [i, c] of clients.entries()) {
        await assert.rejects(c.set(`wk-acks:${i}`, "v"), /NOREPLICAS/);
      }
      const failed = (a: Record<string, number> | undefined) => (a?.timeouts ?? 0) + (a?.fast_fails ?? 0);
      // Workers report every second.
      const acks = await until("every thread's write-ack counters", 5000, async () => {
        const a = (await admin.stats(0)).backend?.write_acks as Record<string, number> | undefined;
        return failed(a) === clients.length ? a : undefined;
      });
      assert.equal(acks.replicas, 1);
      assert.equal(acks.timeout_ms, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
      assert.match(metrics, /^codis_proxy_write_acks 1$/m);
      const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1] ?? -1);
      assert.equal(
        counter("codis_proxy_write_ack_timeouts_total") + counter("codis_proxy_write_ack_fast_fails_total"),
        clients.length,
      );
    },
  );
});

Deno.test("proxy worker mode follows the dashboard: slots migrate with data through a 2-thread proxy", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  let stop = async () => {};
  const clients: Redis[] = [];
  try {
    g = await startDashboards({ product: "wk-dash" });
    const x = g.xauth;
    const leader = await g.leader();
    redis.push(await startRedis(), await startRedis());
    await setupGroups(g, leader.admin, redis);
    const p = await startCodisProxy([
      `--dashboard=${g.nodes.map((d) => d.admin).join(",")}`,
      "--product_name=wk-dash",
      "--proxy_workers=2",
    ]);
    stop = p.stop;
    for (let i = 0; i < 8; i++) clients.push(new Redis({ port: p.port, host: "127.0.0.1", maxRetriesPerRequest: 0 }));
    for (let i = 0; i < 200 && (await clients[0].ping().catch(() => "")) !== "PONG"; i++) await sleep(50);
    const N = 800;
    for (let i = 0; i < N; i++) await clients[i % 8].set(`key:${i}`, `v${i}`);

    // Writers on every connection (so on both threads) while 16 slots move: each acknowledged write must survive.
    let writing = true;
    const last = new Map<string, string>();
    const writers = clients.map(async (c, w) => {
      for (let n = 0; writing && n < 100_000; n++) {
        const k = `key:${(n * 8 + w) % N}`;
        const v = `w${w}-${n}`;
        if ((await c.set(k, v)) === "OK") last.set(k, v);
      }
    });
    const create = await g.call(leader.admin, "PUT", `/api/topom/slots/action/create-range/${x}/0/15/2`);
    assert.equal(create.status, 200);
    const deadline = Date.now() + 60_000;
    let left = 16;
    while (Date.now() < deadline && left > 0) {
      const st = (await g.call(leader.admin, "GET", "/topom/stats")).json;
      left = st.slots.filter((s: { id: number; group_id: number; action: { state?: string } }) =>
        s.id < 16 && (s.action.state || s.group_id !== 2)
      ).length;
      if (left > 0) {
        await sleep(100);
      }
    }
    writing = false;
    await Promise.all(writers);
    assert.equal(left, 0, "every slot migrated");
    for (let i = 0; i < N; i++) {
      const k = `key:${i}`;
      assert.equal(await clients[i % 8].get(k), last.get(k) ?? `v${i}`, k);
    }
  } finally {
    for (const c of clients) c.disconnect();
    await stop();
    await g?.stop();
    for (const r of redis) await r.stop();
  }
});
