/**
 * The dashboard's replica guard with real redis-servers, a real sentinel and a real dashboard: a master killed and
 * restarted without persistence comes back empty, as a master Sentinel still lists as a replica. The dashboard makes
 * it a replica of the current master at once and gives it `replica-priority 0` until its sync is done, so when the
 * current master stops answering during that sync, Sentinel does not promote the empty server (which would lose
 * every write of the group); once the master answers again, the sync ends and the priority is given back.
 * @module
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { startSentinel } from "../testing/dashboard.ts";
import { startRedis } from "../testing/redis.ts";
import { sleep, until } from "../testing/wait.ts";
import { sentinelState } from "../testing/sentinel_debug.ts";
import { replicationInfo, startSentinelDashboard } from "../testing/replicated_group.ts";
import { addSentinel, HaTestBed, untilReplicaOnline, untilSentinelSeesReplica } from "../testing/ha_bed.ts";

const priorityOf = async (c: Redis) => ((await c.config("GET", "replica-priority")) as string[])[1];

Deno.test("replica guard: Sentinel does not promote a restarted empty master before it has resynced", async () => {
  const product = "ha-guard";
  const bed = new HaTestBed();
  const client = bed.client;
  try {
    const g = bed.g = await startSentinelDashboard(product);
    const x = g.xauth;
    const d = (await g.leader()).admin;
    // DEBUG SLEEP stands for a master that stops answering (a pause, a stall) without losing its data.
    const debug = ["--enable-debug-command", "local"];
    const a = await startRedis({ extraArgs: debug });
    const b = await startRedis({ extraArgs: [...debug, "--replicaof", "127.0.0.1", String(a.port)] });
    bed.servers.push(a, b);
    for (const path of [`group/create/${x}/1`, `group/add/${x}/1/${a.addr}`, `group/add/${x}/1/${b.addr}`]) {
      assert.equal((await g.call(d, "PUT", `/api/topom/${path}`)).status, 200, path);
    }
    const onA = client(a.port);
    await untilReplicaOnline(onA, 15_000, "b online");
    const sentinel = bed.sentinel = await startSentinel();
    await addSentinel(g, d, sentinel);
    const modelMaster = async () =>
      (await g.call(d, "GET", "/topom/stats")).json.group.models.find((m: { id: number }) => m.id === 1).servers[0]
        .server;
    await untilSentinelSeesReplica(g, d, sentinel, product, "the sentinel sees b");

    // a dies; Sentinel promotes b, the dashboard follows.
    await a.kill();
    await until("b is the group's master", 30_000, async () => await modelMaster() === b.addr || undefined, 100)
      .catch(async (e) => {
        throw new Error(`${e.message} (${await sentinelState(sentinel, `${product}-1`).catch((e) => e.message)})`);
      });
    const onB = client(b.port);
    for (let i = 0; i < 100; i++) await onB.set(`k${i}`, `v${i}`);

    // a comes back empty (no persistence). Its full sync from b waits repl-diskless-sync-delay (5 s by default).
    await a.restart();
    const onA2 = client(a.port);
    await until("the dashboard guards and re-points a at once", 6_000, async () => {
      const r = await replicationInfo(onA2).catch(() => undefined);
      return r?.role === "slave" && r.master_port === String(b.port) && await priorityOf(onA2) === "0" || undefined;
    }, 100);
    assert.equal(await onA2.dbsize(), 0, "a came back empty");

    // b stops answering for 6 s, before a has synced: Sentinel must not promote the empty a.
    const sleeper = client(b.port);
    const slept = sleeper.call("DEBUG", "SLEEP", "6");
    await sleep(6500);
    await slept.catch(() => {});
    assert.equal(await modelMaster(), b.addr);
    assert.equal((await replicationInfo(onA2)).role, "slave", "a was not promoted");
    assert.equal(await onB.get("k99"), "v99");

    // b answers again: a finishes its sync and gets its replica-priority back.
    await until("a synced, priority given back", 30_000, async () => {
      const r = await replicationInfo(onA2);
      return r.master_link_status === "up" && await priorityOf(onA2) === "100" || undefined;
    }, 200);
    assert.equal(await onA2.get("k99"), "v99");
    assert.equal(await onB.dbsize(), 100);
  } finally {
    await bed.stop();
  }
});

Deno.test("replica guard: a dashboard taking over gives back the priority its predecessor took", async () => {
  const product = "ha-guard-handover";
  const bed = new HaTestBed();
  const client = bed.client;
  try {
    const g = bed.g = await startSentinelDashboard(product, { n: 3 });
    const x = g.xauth;
    const first = await g.leader();
    // a holds b's full sync back for a minute (diskless, waiting for more replicas): b stays unsynced until the test
    // lowers the delay.
    const a = await startRedis({ extraArgs: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "60"] });
    const b = await startRedis({ extraArgs: ["--replica-priority", "42", "--replicaof", "127.0.0.1", String(a.port)] });
    bed.servers.push(a, b);
    for (const path of [`group/create/${x}/1`, `group/add/${x}/1/${a.addr}`, `group/add/${x}/1/${b.addr}`]) {
      assert.equal((await g.call(first.admin, "PUT", `/api/topom/${path}`)).status, 200, path);
    }
    bed.sentinel = await startSentinel();
    await addSentinel(g, first.admin, bed.sentinel);

    const onB = client(b.port);
    await until("the first leader guards b", 15_000, async () => await priorityOf(onB) === "0" || undefined, 100);
    assert.equal((await replicationInfo(onB)).master_link_status, "down", "b has not synced");

    await first.kill();
    const second = await g.leader(30_000);
    assert.notEqual(second.id, first.id);
    // The new leader runs its stats rounds; b is still unsynced, so its 0 stays.
    await until("the new leader polls", 15_000, async () => {
      const s = await g.call(second.admin, "GET", "/topom/stats");
      return s.status === 200 && s.json.group?.stats?.[b.addr] ? true : undefined;
    }, 100);
    assert.equal(await priorityOf(onB), "0");

    // a lets the sync run: once b has synced, the new leader gives back the 42 the first one took.
    await client(a.port).config("SET", "repl-diskless-sync-delay", "0");
    await until("b synced, its priority given back", 30_000, async () => {
      const r = await replicationInfo(onB);
      return r.master_link_status === "up" && await priorityOf(onB) === "42" || undefined;
    }, 200).catch((e) => {
      throw new Error(`${e.message}\n${g.logs(20)}`);
    });
  } finally {
    await bed.stop();
  }
});
