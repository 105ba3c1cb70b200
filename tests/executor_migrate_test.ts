/**
 * The slot migration executor against real redis-server processes: bulk moves with values and TTLs, BUSYKEY
 * (the target's newer copy wins), concurrent "proxy path" writers, a key too big for the timeout, and several
 * slots at once with product_auth.
 */
import assert from "node:assert/strict";
import { BackendConn } from "../redis/conn.ts";
import { decodeReply, errorText, integerOf, isErrorReply, textOf } from "../redis/decode.ts";
import { encodeCommand } from "../redis/encode.ts";
import { MigrationExecutor, runSlotMigration } from "../topom/executor/mod.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";

function conn(addr: string, auth = ""): BackendConn {
  return new BackendConn(addr, {
    auth,
    maxPipeline: 1 << 20,
    minBackoffMs: 100,
    maxBackoffMs: 500,
    connectTimeoutMs: 5000,
  });
}

/** Sends many commands pipelined in one database and returns the raw replies. */
function many(c: BackendConn, db: number, cmds: (string | Uint8Array)[][]): Promise<Uint8Array[]> {
  return Promise.all(
    cmds.map((args) =>
      new Promise<Uint8Array>((resolve, reject) =>
        c.send(db, encodeCommand(args), { onReply: resolve, onError: (m) => reject(new Error(m)) })
      )
    ),
  );
}

async function dbsize(c: BackendConn, db: number): Promise<number> {
  return integerOf(await c.call(db, ["DBSIZE"]));
}

interface Pair {
  src: RedisProcess;
  dst: RedisProcess;
  s: BackendConn;
  d: BackendConn;
}

async function withPair(fn: (p: Pair) => Promise<void>, auth = ""): Promise<void> {
  const servers: RedisProcess[] = [];
  const conns: BackendConn[] = [];
  try {
    servers.push(await startRedis({ requirepass: auth || undefined }));
    servers.push(await startRedis({ requirepass: auth || undefined }));
    for (const r of servers) conns.push(conn(r.addr, auth));
    await Promise.all(conns.map((c) => c.connect()));
    await fn({ src: servers[0], dst: servers[1], s: conns[0], d: conns[1] });
  } finally {
    for (const c of conns) c.close();
    for (const r of servers) await r.stop();
  }
}

Deno.test("executor: moves 50,000 keys of one slot with their values and TTLs, source emptied", async () => {
  await withPair(async ({ src, dst, s, d }) => {
    const slot = 7;
    const n = 50_000;
    const cmds: string[][] = [];
    for (let i = 0; i < n; i++) {
      cmds.push(i % 10 === 0 ? ["SET", `k:${i}`, `v${i}`, "PX", "600000"] : ["SET", `k:${i}`, `v${i}`]);
    }
    cmds.push(["RPUSH", "list", "a", "b", "c"], ["HSET", "hash", "f", "x"]);
    await many(s, slot, cmds);
    await s.call(8, ["SET", "other-slot", "stays"]);
    const r = await runSlotMigration({ slot, from: src.addr, to: dst.addr, batchKeys: 500 });
    assert.equal(r.state, "done", JSON.stringify(r));
    assert.ok(r.done && !r.paused);
    assert.equal(r.keysLeft, 0);
    assert.equal(await dbsize(s, slot), 0);
    assert.equal(await dbsize(d, slot), n + 2);
    assert.equal(await dbsize(s, 8), 1, "other databases are untouched");
    const gets = await many(d, slot, Array.from({ length: n }, (_, i) => ["GET", `k:${i}`]));
    for (let i = 0; i < n; i++) assert.equal(textOf(decodeReply(gets[i])), `v${i}`);
    const ttls = await many(d, slot, Array.from({ length: n / 10 }, (_, i) => ["PTTL", `k:${i * 10}`]));
    for (const t of ttls) assert.ok(integerOf(t) > 500_000, "TTL carried over");
    assert.equal(integerOf(await d.call(slot, ["PTTL", "k:1"])), -1);
    assert.deepEqual((decodeReply(await d.call(slot, ["LRANGE", "list", "0", "-1"])) as Uint8Array[]).map(textOf), [
      "a",
      "b",
      "c",
    ]);
    assert.ok(r.moved >= n, `moved ${r.moved}`);
    assert.ok(r.keysPerSec > 0);
  });
});

Deno.test("executor: BUSYKEY keeps the target's newer copy and deletes the stale source copy", async () => {
  await withPair(async ({ src, dst, s, d }) => {
    const slot = 300;
    const n = 2000;
    await many(s, slot, Array.from({ length: n }, (_, i) => ["SET", `k${i}`, "old"]));
    const newer = Array.from({ length: 25 }, (_, i) => i * 79);
    await many(d, slot, newer.map((i) => ["SET", `k${i}`, "new"]));
    const r = await runSlotMigration({ slot, from: src.addr, to: dst.addr, batchKeys: 200 });
    assert.ok(r.done, JSON.stringify(r));
    assert.equal(r.deleted, newer.length);
    assert.equal(await dbsize(s, slot), 0);
    assert.equal(await dbsize(d, slot), n);
    const gets = await many(d, slot, Array.from({ length: n }, (_, i) => ["GET", `k${i}`]));
    for (let i = 0; i < n; i++) assert.equal(textOf(decodeReply(gets[i])), newer.includes(i) ? "new" : "old", `k${i}`);
  });
});

Deno.test("executor: writers on the proxy path during the move; last acknowledged values win, no key in both", async () => {
  await withPair(async ({ src, dst, s, d }) => {
    const slot = 511;
    const n = 30_000;
    await many(s, slot, Array.from({ length: n }, (_, i) => ["SET", `k${i}`, "orig"]));
    const [host, port] = [dst.addr.split(":")[0], String(dst.port)];
    const acked = new Map<string, string>();
    let migrationDone = false;
    // Like a proxy: move the key from the source first (NOKEY and BUSYKEY are fine), then write on the target.
    const writer = async (w: number) => {
      const ws = conn(src.addr);
      const wd = conn(dst.addr);
      await Promise.all([ws.connect(), wd.connect()]);
      try {
        for (let seq = 0; seq < 100_000 && !(migrationDone && seq > 200); seq++) {
          const i = (seq * 7919 + w) % (n + 500);
          if (i % 4 !== w) continue;
          const key = `k${i}`;
          const mig = await ws.call(slot, ["MIGRATE", host, port, "", String(slot), "5000", "KEYS", key]);
          if (isErrorReply(mig) && !/BUSYKEY/.test(errorText(mig))) throw new Error(errorText(mig));
          const value = `w${w}:${seq}`;
          const set = await wd.call(slot, ["SET", key, value]);
          assert.equal(textOf(decodeReply(set)), "OK");
          acked.set(key, value);
        }
      } finally {
        ws.close();
        wd.close();
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    const r = await runSlotMigration({ slot, from: src.addr, to: dst.addr, batchKeys: 300 });
    migrationDone = true;
    await Promise.all(writers);
    assert.ok(r.done, JSON.stringify(r));
    assert.ok(acked.size > 100, `writers made ${acked.size} writes`);
    assert.equal(await dbsize(s, slot), 0, "no key left on the source");
    const keys = Array.from({ length: n + 500 }, (_, i) => `k${i}`);
    const gets = await many(d, slot, keys.map((k) => ["GET", k]));
    for (let i = 0; i < keys.length; i++) {
      const want = acked.get(keys[i]) ?? (i < n ? "orig" : null);
      const got = decodeReply(gets[i]);
      assert.equal(got === null ? null : textOf(got), want, keys[i]);
    }
  });
});

Deno.test("executor: a 50 MB key with a tiny migration_timeout still moves; the source is held only briefly", async () => {
  await withPair(async ({ src, dst, s, d }) => {
    const slot = 42;
    const size = 50 * 1024 * 1024;
    await many(s, slot, Array.from({ length: 50 }, (_, i) => ["SET", `small${i}`, "x"]));
    await s.call(slot, ["SETRANGE", "bigkey", String(size - 1), "x"]);
    // A prober on the source: the longest time it waited for PING is how long the source was held.
    const probe = conn(src.addr);
    await probe.connect();
    let worst = 0;
    let stop = false;
    const prober = (async () => {
      while (!stop) {
        const t = performance.now();
        await probe.call(0, ["PING"]);
        worst = Math.max(worst, performance.now() - t);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      const r = await runSlotMigration({ slot, from: src.addr, to: dst.addr, timeoutMs: 30, batchKeys: 100 });
      assert.ok(r.done, JSON.stringify(r));
      assert.equal(await dbsize(s, slot), 0);
      assert.equal(await dbsize(d, slot), 51);
      assert.equal(integerOf(await d.call(slot, ["STRLEN", "bigkey"])), size);
      assert.ok(worst < 5000, `source held ${worst} ms`);
      console.log(`50 MB key, timeout 30 ms: source held at most ${worst.toFixed(0)} ms`);
    } finally {
      stop = true;
      await prober;
      probe.close();
    }
  });
});

Deno.test("executor: a key the target refuses pauses the slot and is named; nothing is lost", async () => {
  await withPair(async ({ src, dst, s, d }) => {
    const slot = 43;
    await many(s, slot, Array.from({ length: 200 }, (_, i) => ["SET", `small${i}`, "x"]));
    await s.call(slot, ["SET", "secret", "kept"]);
    // The target's default user (used by MIGRATE without AUTH) may only write small* keys.
    assert.equal(textOf(decodeReply(await d.call(0, ["ACL", "SETUSER", "default", "resetkeys", "~small*"]))), "OK");
    const r = await runSlotMigration({ slot, from: src.addr, to: dst.addr, batchKeys: 50 });
    assert.equal(r.state, "paused", JSON.stringify(r));
    assert.ok(r.paused && !r.done);
    assert.equal(r.key, "secret");
    assert.equal(r.keysLeft, await dbsize(s, slot), "keys left is counted when the slot pauses");
    assert.match(r.reason ?? "", /"secret".*refused.*NOPERM/);
    assert.equal(textOf(decodeReply(await s.call(slot, ["GET", "secret"]))), "kept", "still on the source");
    // Once the operator fixes the target, the same slot finishes.
    await d.call(0, ["ACL", "SETUSER", "default", "allkeys"]);
    const again = await runSlotMigration({ slot, from: src.addr, to: dst.addr });
    assert.ok(again.done, JSON.stringify(again));
    assert.equal(await dbsize(s, slot), 0);
    assert.equal(await dbsize(d, slot), 201);
    assert.equal(textOf(decodeReply(await d.call(slot, ["GET", "secret"]))), "kept");
  });
});

Deno.test("executor: several slots at once with product_auth, through MigrationExecutor", async () => {
  const auth = "s3cret";
  await withPair(async ({ src, dst, s, d }) => {
    const slots = [1, 2, 3, 1023];
    for (const slot of slots) await many(s, slot, Array.from({ length: 3000 }, (_, i) => ["SET", `k${i}`, `${slot}`]));
    const ex = new MigrationExecutor({ auth, batchKeys: 250 });
    try {
      for (const slot of slots) ex.start(slot, src.addr, dst.addr);
      ex.start(1, src.addr, dst.addr); // idempotent
      assert.ok(ex.running() > 0);
      const deadline = Date.now() + 20_000;
      while (!slots.every((x) => ex.done(x)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const slot of slots) {
        assert.ok(ex.done(slot), JSON.stringify(ex.progress(slot)));
        const p = ex.progress(slot)!;
        assert.equal(p.keys_left, 0);
        assert.equal(p.state, "done");
        assert.equal(await dbsize(s, slot), 0);
        assert.equal(await dbsize(d, slot), 3000);
        assert.equal(textOf(decodeReply(await d.call(slot, ["GET", "k5"]))), `${slot}`);
      }
      assert.equal(ex.running(), 0);
    } finally {
      await ex.close();
    }
  }, auth);
});

Deno.test("executor: an aborted move stops between batches; every key is in exactly one place", async () => {
  await withPair(async ({ src, dst, s, d }) => {
    const slot = 64;
    const n = 40_000;
    await many(s, slot, Array.from({ length: n }, (_, i) => ["SET", `k${i}`, "v"]));
    const abort = new AbortController();
    const run = runSlotMigration({
      slot,
      from: src.addr,
      to: dst.addr,
      batchKeys: 100,
      pipeline: 1,
      signal: abort.signal,
    });
    await new Promise((r) => setTimeout(r, 40));
    abort.abort();
    const r = await run;
    assert.equal(r.state, "aborted", JSON.stringify(r));
    assert.ok(!r.done && !r.paused);
    const keys = Array.from({ length: n }, (_, i) => ["EXISTS", `k${i}`]);
    const [a, b] = await Promise.all([many(s, slot, keys), many(d, slot, keys)]);
    for (let i = 0; i < n; i++) assert.equal(integerOf(a[i]) + integerOf(b[i]), 1, `k${i}`);
    assert.ok(await dbsize(s, slot) > 0, "stopped before the end");
  });
});

Deno.test("executor: a wrong product_auth fails the move with the reason, and stop() ends it", async () => {
  await withPair(async ({ src, dst, s }) => {
    await many(s, 9, [["SET", "a", "1"]]);
    const r = await runSlotMigration({ slot: 9, from: src.addr, to: dst.addr, auth: "nope" });
    assert.equal(r.state, "failed");
    assert.match(r.reason ?? "", /AUTH|password/i);
    const ex = new MigrationExecutor({ auth: "nope", retryMs: 10 });
    ex.start(9, src.addr, dst.addr);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ex.done(9), false);
    assert.match(ex.progress(9)?.error ?? "", /AUTH|password/i);
    ex.stop(9);
    await ex.close();
    const same = await runSlotMigration({ slot: 9, from: src.addr, to: src.addr });
    assert.equal(same.state, "failed");
    assert.match(same.reason ?? "", /same server/);
  });
});
