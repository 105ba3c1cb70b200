/**
 * backend_write_acks with real redis-servers: a master, and a replica that replicates through a relay the test can
 * turn into a silent partition (so that replication stalls while the master keeps answering).
 * @module
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { slotOf } from "../models/hash.ts";
import type { ProxyConfig } from "../proxy/core/config.ts";
import { type ProxyFixture, readUntil, startProxyFixture } from "../testing/proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { startTcpRelay, type TcpRelay } from "../testing/tcp_relay.ts";
import { until } from "../testing/wait.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A proxy over one master, and one replica of it that replicates through a relay. */
interface Cluster {
  f: ProxyFixture;
  relay: TcpRelay;
  replica: RedisProcess;
  /** A client straight to the replica. */
  onReplica: Redis;
}

async function withCluster(overrides: Partial<ProxyConfig>, fn: (c: Cluster) => Promise<void>): Promise<void> {
  const f = await startProxyFixture(1, overrides);
  let relay: TcpRelay | null = null;
  let replica: RedisProcess | null = null;
  let onReplica: Redis | null = null;
  try {
    // Redis 7 waits 5 s for more replicas before a diskless full sync.
    await f.direct(0).config("SET", "repl-diskless-sync-delay", "0");
    relay = startTcpRelay(f.backends[0].port);
    replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(relay.port)] });
    onReplica = new Redis({ port: replica.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
    onReplica.on("error", () => {});
    const master = f.direct(0);
    await until("the replica to be online", 10_000, async () => {
      const info = String(await master.info("replication"));
      return /slave0:.*state=online/.test(info) ? true : undefined;
    });
    // Acknowledged once through the proxy before the test starts (a loaded machine may delay the replica's first ack).
    if (overrides.backend_write_acks) {
      const c = f.client();
      await until(
        "a first acknowledged write",
        10_000,
        async () => (await c.set("warm-up", "1")) === "OK" || undefined,
      );
    }
    await fn({ f, relay, replica, onReplica });
  } finally {
    onReplica?.disconnect();
    await f.stop();
    await replica?.stop();
    await relay?.close();
  }
}

/** The value of `key` on the replica (its slot's database). */
async function replicaGet(c: Cluster, key: string): Promise<string | null> {
  await c.onReplica.select(slotOf(enc(key)));
  return await c.onReplica.get(key);
}

Deno.test("proxy write acks: with N = 1 a write is answered only once the replica holds it", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 2000 }, async (c) => {
    const cl = c.f.client();
    for (let i = 0; i < 20; i++) {
      assert.equal(await cl.set(`ack-${i}`, `v${i}`), "OK");
      // No waiting: the replica has it the moment the client has its OK.
      assert.equal(await replicaGet(c, `ack-${i}`), `v${i}`);
    }
    // A pipeline: writes, a read of the session's own write, split MSET and DEL, a script, a transaction.
    const p = cl.pipeline();
    p.set("pipe-a", "1");
    p.get("pipe-a");
    p.mset("pipe-b", "2", "pipe-c", "3", "pipe-d", "4");
    p.incr("pipe-a");
    p.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "pipe-e", "5");
    p.del("pipe-b", "pipe-c");
    const res = (await p.exec())!.map(([e, v]) => e ? e.message : v);
    assert.deepEqual(res, ["OK", "1", "OK", 2, "OK", 2]);
    const txn = await cl.multi().set("{t}a", "x").incr("{t}n").exec();
    assert.deepEqual(txn!.map((r) => r[1]), ["OK", 1]);
    assert.equal(await replicaGet(c, "{t}a"), "x");
    for (const [k, v] of [["pipe-a", "2"], ["pipe-b", null], ["pipe-d", "4"], ["pipe-e", "5"], ["{t}n", "1"]]) {
      assert.equal(await replicaGet(c, k as string), v, k as string);
    }
    // Reads and writes of one session keep their order although they go on different connections.
    assert.equal(await cl.set("order", "old"), "OK");
    for (let round = 0; round < 20; round++) {
      const q = cl.pipeline().get("order").set("order", `new${round}`).get("order").mget("order", "pipe-a");
      const got = (await q.exec())!.map(([e, v]) => e ? e.message : v);
      assert.deepEqual(got, [round === 0 ? "old" : `new${round - 1}`, "OK", `new${round}`, [`new${round}`, "2"]]);
    }
    const stats = c.f.proxy.writeAckStats()!;
    assert.equal(stats.replicas, 1);
    assert.ok(stats.waits > 0 && stats.waits <= 20 + 10 + 20 * 2, `waits ${stats.waits}`);
    assert.equal(stats.timeouts, 0);
    // Shown in the proxy's stats JSON (what the dashboard and codis-admin read).
    const json = await (await fetch(`http://127.0.0.1:${c.f.adminPort}/proxy/stats`)).json();
    assert.equal(json.backend.write_acks.replicas, 1);
  });
});

Deno.test("proxy write acks: a write the replica does not get in time has an unknown outcome, never OK", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 1000 }, async (c) => {
    const writer = c.f.client();
    const reader = c.f.client();
    assert.equal(await writer.set("before", "1"), "OK");
    c.relay.mode("blackhole");
    let settled = false;
    const write = writer.set("during", "1").then((v) => v, (e: Error) => e.message).finally(() => settled = true);
    // Another session's read does not queue behind the WAIT.
    assert.equal(await reader.get("before"), "1");
    assert.equal(settled, false, "the write was answered before its WAIT");
    const out = await write;
    assert.match(String(out), /^NOREPLICAS write outcome unknown: 0 of 1 replicas acknowledged within 1000 ms/);
    // The write reached the master (its outcome is unknown, not failed): only the answer was withheld.
    assert.equal(await reader.get("during"), "1");
    // A transaction and a split MSET are answered the same way.
    const txn = await writer.multi().set("{t}1", "x").exec().then((r) => r, (e: Error) => e.message);
    assert.match(String(txn), /NOREPLICAS write outcome unknown/);
    // A transaction after WATCH (on the session's dedicated connection) too.
    await writer.watch("{t}w");
    const watched = await writer.multi().set("{t}w", "x").exec().then((r) => r, (e: Error) => e.message);
    assert.match(String(watched), /NOREPLICAS write outcome unknown/);
    // A RESP3 session's writes (on connections of its own) too.
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: c.f.port });
    try {
      await raw.write(
        new TextEncoder().encode("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$2\r\nr3\r\n$1\r\nx\r\n"),
      );
      const text = await readUntil(raw, (t) => t.includes("NOREPLICAS") || t.includes("+OK"), 10_000);
      assert.match(text, /-NOREPLICAS write outcome unknown/);
    } finally {
      raw.close();
    }
    const stats = c.f.proxy.writeAckStats()!;
    assert.ok(stats.timeouts >= 4, `timeouts ${stats.timeouts}`);
    c.relay.mode("pass");
  });
});

Deno.test("proxy write acks: a write held by a locked slot waits for the replicas once released", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 1000 }, async (c) => {
    const cl = c.f.client();
    const slot = slotOf(enc("held"));
    const master = c.f.backends[0].addr;
    await c.f.proxy.fillSlots([{ id: slot, backend_addr: master, locked: true }]);
    const write = cl.set("held", "1").then((v) => v, (e: Error) => e.message);
    c.relay.mode("blackhole");
    await c.f.proxy.fillSlots([{ id: slot, backend_addr: master }]);
    assert.match(String(await write), /^NOREPLICAS write outcome unknown/);
  });
});

Deno.test("proxy write acks: a group whose replicas are gone fails writes at once, naming the group", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 1000 }, async (c) => {
    const cl = c.f.client();
    assert.equal(await cl.set("k", "1"), "OK");
    await c.replica.kill();
    // The first writes may still wait for a replica that left; then the count is known and writes fail fast.
    const msg = await until("writes to fail fast", 10_000, async () => {
      const r = await cl.set("k", "2").then(() => "OK", (e: Error) => e.message);
      return r.includes("connected replica") ? r : undefined;
    });
    assert.match(
      msg,
      /^NOREPLICAS group-\[1\] \(master 127\.0\.0\.1:\d+\) has 0 connected replica\(s\), backend_write_acks = 1/,
    );
    assert.ok(c.f.proxy.writeAckStats()!.fast_fails > 0);
    // Reads still work.
    assert.ok(["1", "2"].includes((await cl.get("k"))!));
  });
});

/**
 * Writes 50 keys, stalls replication and writes 50 more, SIGKILLs the master and promotes the replica; returns the
 * acknowledged writes the promoted replica lacks, and the replies of the writes made while replication stalled.
 */
async function lostAfterMasterKill(c: Cluster): Promise<{ acked: number; lost: string[]; stalled: string[] }> {
  const cl = c.f.client();
  const write = async (from: number) => {
    const p = cl.pipeline();
    for (let i = from; i < from + 50; i++) p.set(`kill-${i}`, `v${i}`);
    return (await p.exec())!.map(([e, v]) => e ? e.message : String(v));
  };
  const before = await write(0);
  assert.deepEqual(before, Array(50).fill("OK"));
  c.relay.mode("blackhole");
  const stalled = await write(50);
  await c.f.backends[0].kill();
  assert.equal(await c.onReplica.call("REPLICAOF", "NO", "ONE"), "OK");
  const acked = [...before, ...stalled].flatMap((r, i) => r === "OK" ? [`kill-${i}`] : []);
  const lost: string[] = [];
  for (const k of acked) if (await replicaGet(c, k) !== `v${k.slice(5)}`) lost.push(k);
  return { acked: acked.length, lost, stalled };
}

Deno.test("proxy write acks: a master SIGKILLed right after acknowledged writes loses none of them with N = 1", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 1000 }, async (c) => {
    const r = await lostAfterMasterKill(c);
    assert.deepEqual(r.lost, []);
    assert.equal(r.acked, 50);
    for (const s of r.stalled) assert.match(s, /^NOREPLICAS write outcome unknown/);
  });
});

Deno.test("proxy write acks: the same kill with N = 0 loses acknowledged writes", async () => {
  await withCluster({}, async (c) => {
    const r = await lostAfterMasterKill(c);
    assert.equal(r.acked, 100);
    assert.ok(r.lost.length >= 50, `lost ${r.lost.length}`);
  });
});

Deno.test("proxy write acks: with N = 0 nothing waits, and stats show the setting off", async () => {
  await withCluster({}, async (c) => {
    const cl = c.f.client();
    assert.equal(await cl.set("k", "1"), "OK");
    assert.equal(c.f.proxy.writeAcks, null);
    const json = await (await fetch(`http://127.0.0.1:${c.f.adminPort}/proxy/stats`)).json();
    assert.deepEqual(json.backend, { primary_only: false }, "Codis's shape when off");
    const metrics = await (await fetch(`http://127.0.0.1:${c.f.adminPort}/metrics`)).text();
    assert.match(metrics, /^codis_proxy_write_acks 0$/m);
  });
});

Deno.test("proxy write acks: blocking commands that write wait for the replicas; a nil after their timeout does not", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 1000 }, async (c) => {
    const cl = c.f.client();
    assert.equal(await cl.rpush("{b}src", "a", "b", "c"), 3);
    assert.equal(await cl.blmove("{b}src", "{b}dst", "LEFT", "RIGHT", 1), "a");
    // No waiting: the replica has the move the moment the client has its answer.
    assert.deepEqual(
      await (async () => {
        await c.onReplica.select(slotOf(enc("{b}dst")));
        return await c.onReplica.lrange("{b}dst", 0, -1);
      })(),
      ["a"],
    );
    const before = c.f.proxy.writeAckStats()!;
    c.relay.mode("blackhole");
    const fail = (e: Error) => e.message;
    assert.match(
      String(await cl.blmove("{b}src", "{b}dst", "LEFT", "RIGHT", 1).catch(fail)),
      /^NOREPLICAS write outcome unknown: 0 of 1 replicas acknowledged within 1000 ms/,
    );
    assert.match(String(await cl.call("BLMPOP", "1", "1", "{b}src", "LEFT").catch(fail)), /^NOREPLICAS write outcome/);
    // Nothing popped (the timeout ran out): answered nil at once, no WAIT.
    const t0 = performance.now();
    assert.equal(await cl.blpop("{b}empty", 0.1), null);
    assert.ok(performance.now() - t0 < 900, `nil took ${performance.now() - t0} ms`);
    const after = c.f.proxy.writeAckStats()!;
    assert.equal(after.timeouts - before.timeouts, 2);
    c.relay.mode("pass");
  });
});

Deno.test("proxy write acks: EVAL_RO, FCALL_RO and XREAD BLOCK do not wait; EVAL does", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 1000 }, async (c) => {
    const cl = c.f.client();
    assert.equal(await cl.set("ro", "v"), "OK");
    await c.f.direct(0).call(
      "FUNCTION",
      "LOAD",
      "#!lua name=rolib\nredis.register_function{function_name='rget', callback=function(keys) " +
        "return redis.call('GET', keys[1]) end, flags={'no-writes'}}",
    );
    assert.equal(await cl.xadd("{x}s", "*", "f", "1") !== null, true);
    c.relay.mode("blackhole");
    const before = c.f.proxy.writeAckStats()!;
    const fail = (e: Error) => e.message;
    assert.equal(await cl.call("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "ro").catch(fail), "v");
    assert.equal(await cl.call("FCALL_RO", "rget", "1", "ro").catch(fail), "v");
    const xread = await cl.call("XREAD", "BLOCK", "100", "STREAMS", "{x}s", "0").catch(fail);
    assert.ok(Array.isArray(xread), String(xread));
    assert.equal(c.f.proxy.writeAckStats()!.waits, before.waits, "no WAIT for read-only commands");
    // EVAL may write: it waits (and here times out).
    assert.match(
      String(await cl.call("EVAL", "return redis.call('GET', KEYS[1])", "1", "ro").catch(fail)),
      /^NOREPLICAS write outcome unknown/,
    );
    c.relay.mode("pass");
  });
});

Deno.test("proxy write acks: a write after one whose WAIT is out runs at once; the session's own requests follow it", async () => {
  await withCluster({ backend_write_acks: 1, backend_write_acks_timeout: 5000 }, async (c) => {
    const first = c.f.client();
    const second = c.f.client();
    const onMaster = (key: string) => c.f.direct(0, slotOf(enc(key)));
    c.relay.mode("blackhole");
    let firstSettled = false;
    const firstWrite = first.set("wait-first", "1").then((v) => v, (e: Error) => e.message)
      .finally(() => firstSettled = true);
    // Pipelined behind the waiting write: runs after it on the server, so it sees it.
    const firstRead = first.get("wait-first").then((v) => v, (e: Error) => e.message);
    await until(
      "the first write on the master",
      3000,
      () => onMaster("wait-first").get("wait-first"),
    );
    // Another session's write is not queued behind the first write's WAIT: the master runs it while that WAIT is out.
    const secondWrite = second.set("wait-second", "2").then((v) => v, (e: Error) => e.message);
    await until(
      "the second write on the master",
      3000,
      () => onMaster("wait-second").get("wait-second"),
    );
    assert.equal(firstSettled, false, "the first write's WAIT answered before the second write ran");
    assert.equal(await firstRead, "1");
    assert.match(String(await firstWrite), /^NOREPLICAS write outcome unknown/);
    assert.match(String(await secondWrite), /^NOREPLICAS write outcome unknown/);
    c.relay.mode("pass");
  });
});
