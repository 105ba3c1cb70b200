import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { createClient } from "redis";
import { slotOf } from "../proxy/hash.ts";
import { redisCli, startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { diffCommands, sortedArray } from "../testing/resp_diff.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const KEYS = Array.from({ length: 300 }, (_, i) => `ks:${i}`);

Deno.test("keyspace: KEYS, SCAN, DBSIZE, RANDOMKEY over 2 groups (ioredis)", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    const p = c.pipeline();
    for (const k of KEYS) p.set(k, "v");
    p.hset("ks:hash", "f", "v");
    await p.exec();
    const all = [...KEYS, "ks:hash"].sort();
    // Both groups hold some of the keys.
    ok(KEYS.some((k) => slotOf(enc(k)) < 512) && KEYS.some((k) => slotOf(enc(k)) >= 512));
    deepEqual((await c.keys("ks:*")).sort(), all);
    deepEqual(await c.keys("nomatch*"), []);
    equal(await c.dbsize(), all.length);
    ok(all.includes((await c.randomkey())!));
    // A full SCAN iteration returns every key; COUNT bounds each batch loosely, as in Redis.
    const seen = new Set<string>();
    let cursor = "0";
    let calls = 0;
    do {
      const [next, keys] = await c.scan(cursor, "COUNT", 50);
      for (const k of keys) seen.add(k);
      cursor = next;
      calls++;
    } while (cursor !== "0" && calls < 1000);
    deepEqual([...seen].sort(), all);
    ok(calls > 3, `${calls} calls`);
    const hashes: string[] = [];
    cursor = "0";
    do {
      const [next, keys] = await c.scan(cursor, "COUNT", 100, "TYPE", "hash");
      hashes.push(...keys);
      cursor = next;
    } while (cursor !== "0");
    deepEqual(hashes, ["ks:hash"]);
    const streamed: string[] = [];
    for await (const batch of c.scanStream({ match: "ks:1*", count: 100 })) streamed.push(...batch);
    deepEqual([...new Set(streamed)].sort(), all.filter((k) => k.startsWith("ks:1")));
    await rejects(c.scan("abc"), /invalid cursor/);
    await rejects(c.scan("0", "COUNT", 0), /syntax error/);
    // Flushing is off unless proxy_allow_flush.
    await rejects(c.flushall(), /proxy_allow_flush/);
    await rejects(c.flushdb(), /proxy_allow_flush/);
    equal(await c.dbsize(), all.length);
  } finally {
    await f.stop();
  }
});

Deno.test("keyspace: FLUSHALL/FLUSHDB with proxy_allow_flush, SCRIPT and FUNCTION on every master", async () => {
  const f = await startProxyFixture(2, { proxy_allow_flush: true });
  try {
    const c = f.client();
    const a = "foo", b = "qux";
    ok((slotOf(enc(a)) < 512) !== (slotOf(enc(b)) < 512), "keys in different groups");
    const sha = await c.script("LOAD", "return redis.call('incr', KEYS[1])") as string;
    equal(await c.evalsha(sha, 1, a), 1);
    equal(await c.evalsha(sha, 1, b), 1);
    deepEqual(await c.script("EXISTS", sha, "0".repeat(40)), [1, 0]);
    equal(
      await c.call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function(k) return 7 end)"),
      "lib",
    );
    equal(await c.fcall("f", 1, a), 7);
    equal(await c.fcall("f", 1, b), 7);
    equal(await c.call("FUNCTION", "DELETE", "lib"), "OK");
    await rejects(c.fcall("f", 1, b), /Function not found/);
    equal(await c.script("FLUSH"), "OK");
    deepEqual(await c.script("EXISTS", sha), [0]);
    equal(await c.dbsize(), 2);
    equal(await c.flushdb("ASYNC"), "OK");
    equal(await c.flushall(), "OK");
    equal(await c.dbsize(), 0);
    equal(await c.randomkey(), null);
    // The server commands a client may send, answered for the cluster.
    const [sec] = await c.time();
    ok(Math.abs(Number(sec) - Date.now() / 1000) < 5);
    ok((await c.lastsave()) > 0);
    deepEqual(await c.role(), ["master", 0, []]);
    deepEqual(await c.config("GET", "databases"), ["databases", "1"]);
    equal(await c.call("CLIENT", "NO-EVICT", "on"), "OK");
    await rejects(c.call("CLIENT", "TRACKING", "on"), /CLIENT TRACKING/);
  } finally {
    await f.stop();
  }
});

Deno.test("keyspace: node-redis and redis-cli", async () => {
  const f = await startProxyFixture(2);
  const nr = createClient({ socket: { port: f.port, host: "127.0.0.1" } });
  nr.on("error", () => {});
  try {
    await nr.connect();
    for (let i = 0; i < 40; i++) await nr.set(`nr:${i}`, String(i));
    const seen = new Set<string>();
    for await (const k of nr.scanIterator({ MATCH: "nr:*", COUNT: 7 })) seen.add(k);
    equal(seen.size, 40);
    equal((await nr.keys("nr:*")).length, 40);
    equal(await nr.dbSize(), 40);
    equal((await nr.time()) instanceof Date, true);
    const cliScan = await redisCli(f.port, ["--scan", "--pattern", "nr:*"]);
    equal(cliScan.trim().split("\n").length, 40);
    equal((await redisCli(f.port, ["DBSIZE"])).trim(), "40");
    match(await redisCli(f.port, ["FLUSHALL"]), /proxy_allow_flush/);
    match(await redisCli(f.port, ["ROLE"]), /master/);
  } finally {
    await nr.disconnect().catch(() => {});
    await f.stop();
  }
});

Deno.test("keyspace: CONFIG GET never shows the backends' password", async () => {
  const f = await startProxyFixture(2, { product_auth: "s3cret" }, { requirepass: "s3cret" });
  try {
    const c = f.client();
    deepEqual(await c.config("GET", "requirepass"), ["requirepass", ""]);
    deepEqual(await c.config("GET", "masterauth"), ["masterauth", ""]);
    ok(!JSON.stringify(await c.config("GET", "*")).includes("s3cret"));
  } finally {
    await f.stop();
  }
});

Deno.test("keyspace: differential against one Redis holding the same keys", async () => {
  const f = await startProxyFixture(2, { proxy_allow_flush: true });
  const r = await startRedis();
  try {
    const setup: string[][] = [];
    for (let i = 0; i < 60; i++) setup.push(["SET", `d:${i}`, String(i)]);
    setup.push(["RPUSH", "d:list", "a", "b"], ["SADD", "d:set", "x"]);
    await diffCommands(f.port, r.port, [
      ...setup,
      ["DBSIZE"],
      { cmd: ["KEYS", "d:*"], norm: sortedArray },
      { cmd: ["KEYS", "d:1?"], norm: sortedArray },
      ["KEYS", "none:*"],
      ["SCRIPT", "LOAD", "return KEYS[1]"],
      ["SCRIPT", "EXISTS", "4f0b3dca1a2b7a0a8e2dd1c0d1d0e1f9f0a0a0a0"],
      ["EVALSHA", "4f0b3dca1a2b7a0a8e2dd1c0d1d0e1f9f0a0a0a0", "1", "x"],
      ["SCAN", "abc"],
      ["SCAN", "0", "COUNT", "0"],
      ["SCAN", "0", "COUNT", "x"],
      ["SCAN", "0", "BOGUS", "1"],
      ["FLUSHALL", "NOW"],
      ["FLUSHDB"],
      ["DBSIZE"],
      ["RANDOMKEY"],
      ["KEYS", "*"],
      ["SCAN", "0"],
      ["CONFIG", "GET", "maxmemory-policy"],
    ]);
  } finally {
    await r.stop();
    await f.stop();
  }
});

Deno.test("keyspace: a full SCAN returns every key while slots migrate between groups", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    const keys = Array.from({ length: 400 }, (_, i) => `mig:${i}`);
    const p = c.pipeline();
    for (const k of keys) p.set(k, "v");
    await p.exec();
    const [a, b] = f.backends.map((x) => x.addr);
    const moving = [...new Set(keys.map((k) => slotOf(enc(k))))].filter((s) => s < 512);
    // The executor's job, done by hand: move one slot's keys from the source to the target.
    const moveKeys = async (slot: number) => {
      const src = f.direct(0, slot);
      const ks = await src.keys("*");
      if (ks.length > 0) await src.migrate("127.0.0.1", f.backends[1].port, "", slot, 5000, "KEYS", ...ks);
    };
    const seen = new Set<string>();
    let cursor = "0";
    let step = 0;
    do {
      const [next, batch] = await c.scan(cursor, "COUNT", 15);
      for (const k of batch) seen.add(k);
      cursor = next;
      step++;
      if (step === 3) await f.proxy.fillSlots(moving.map((id) => ({ id, backend_addr: b, migrate_from: a })));
      if (step === 5 || step === 9) {
        for (
          const s of moving.slice(step === 5 ? 0 : moving.length >> 1, step === 5 ? moving.length >> 1 : undefined)
        ) {
          await moveKeys(s);
        }
      }
      if (step === 12) await f.proxy.fillSlots(moving.map((id) => ({ id, backend_addr: b })));
    } while (cursor !== "0" && step < 2000);
    ok(step > 12, `${step} SCAN calls`);
    deepEqual([...seen].sort(), [...keys].sort());
    equal(await c.dbsize(), keys.length);
  } finally {
    await f.stop();
  }
});
