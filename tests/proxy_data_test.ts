import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { slotOf } from "../models/hash.ts";
import { readUntil, redisCli, startProxyFixture } from "../testing/proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("proxy: command families through ioredis, each key in its slot's database", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    equal(await c.set("str", "v1"), "OK");
    equal(await c.get("str"), "v1");
    equal(await c.incrby("counter", 5), 5);
    equal(await c.hset("hash", "f1", "a", "f2", "b"), 2);
    deepEqual(await c.hgetall("hash"), { f1: "a", f2: "b" });
    equal(await c.rpush("list", "a", "b", "c"), 3);
    deepEqual(await c.lrange("list", 0, -1), ["a", "b", "c"]);
    equal(await c.sadd("set", "x", "y"), 2);
    equal(await c.scard("set"), 2);
    equal(await c.zadd("zset", 1, "one", 2, "two"), 2);
    deepEqual(await c.zrange("zset", 0, -1, "WITHSCORES"), ["one", "1", "two", "2"]);
    equal(await c.pfadd("hll", "a", "b", "c"), 1);
    equal(await c.pfcount("hll"), 3);
    equal(await c.setbit("bits", 7, 1), 0);
    equal(await c.bitcount("bits"), 1);
    equal(typeof (await c.xadd("stream", "*", "k", "v")), "string");
    equal(await c.xlen("stream"), 1);
    equal(await c.expire("str", 100), 1);
    ok((await c.ttl("str")) > 0);
    equal(await c.type("hash"), "hash");
    equal(await c.object("ENCODING", "counter"), "int");
    // The key lives in database slotOf(key) of the backend that owns that slot.
    const slot = slotOf(enc("str"));
    const owner = slot < 512 ? 0 : 1;
    const d = f.direct(owner, slot);
    equal(await d.get("str"), "v1");
    equal(await f.direct(1 - owner, slot).exists("str"), 0);
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: binary-safe keys and values", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    const key = Buffer.from([0, 1, 13, 10, 255, 0x7b, 0x7d, 32]);
    const val = Buffer.from([13, 10, 0, 36, 42, 45, 200]);
    equal(await c.set(key, val), "OK");
    deepEqual(await c.getBuffer(key), val);
    equal(await c.exists(key), 1);
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: a pipeline deeper than session_max_pipeline streams, in order", async () => {
  const f = await startProxyFixture(2, { session_max_pipeline: 500 });
  try {
    const c = f.client();
    const n = 20000;
    const p = c.pipeline();
    for (let i = 0; i < n; i++) p.set(`k${i}`, String(i));
    for (let i = 0; i < n; i++) p.get(`k${i}`);
    const res = await p.exec();
    equal(res!.length, 2 * n);
    for (let i = 0; i < n; i++) {
      equal(res![n + i][1], String(i));
    }
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: MGET, MSET, DEL, UNLINK, EXISTS and TOUCH are split across slots", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    const keys = Array.from({ length: 50 }, (_, i) => `split:${i}`);
    ok(new Set(keys.map((k) => slotOf(enc(k)))).size > 10);
    equal(await c.mset(...keys.flatMap((k, i) => [k, `v${i}`])), "OK");
    deepEqual(await c.mget(...keys, "missing"), [...keys.map((_, i) => `v${i}`), null]);
    equal(await c.exists(...keys, "missing", keys[0]), 51);
    equal(await c.touch(...keys), 50);
    equal(await c.del(...keys.slice(0, 20)), 20);
    equal(await c.unlink(...keys.slice(20), "missing"), 30);
    equal(await c.exists(...keys), 0);
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: multi-key commands across slots get CROSSSLOT; one slot works", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    await rejects(c.sunionstore("dst", "a", "b"), /CROSSSLOT/);
    await rejects(c.msetnx("a", "1", "b", "2"), /CROSSSLOT/);
    await rejects(c.eval("return 1", 2, "a", "b"), /CROSSSLOT/);
    await rejects(c.rename("a", "b"), /CROSSSLOT/);
    equal(await c.sadd("{t}a", "1", "2"), 2);
    equal(await c.sadd("{t}b", "2", "3"), 2);
    equal(await c.sunionstore("{t}dst", "{t}a", "{t}b"), 3);
    equal(await c.msetnx("{t}x", "1", "{t}y", "2"), 1);
    equal(await c.eval("return redis.call('GET', KEYS[1]) .. ARGV[1]", 1, "{t}x", "!"), "1!");
    equal(await c.eval("return 1", 0), 1); // no keys: run on one master, as a Redis Cluster client sends it
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: session_auth gates every command", async () => {
  const f = await startProxyFixture(1, { session_auth: "s3cret" });
  try {
    const c = f.client({ lazyConnect: true, enableReadyCheck: false });
    await c.connect();
    await rejects(c.get("x"), /NOAUTH/);
    await rejects(c.auth("wrong"), /WRONGPASS/);
    equal(await c.auth("s3cret"), "OK");
    equal(await c.set("x", "1"), "OK");
    const good = f.client({ password: "s3cret" });
    equal(await good.get("x"), "1");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: refused and unknown commands get clear errors and are not forwarded", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    await rejects(c.call("SYNC"), /'sync' is not supported by codis-proxy/i);
    await rejects(c.call("CONFIG", "SET", "x", "y"), /'config set' is not supported by codis-proxy/i);
    await rejects(c.call("FLUSHALL"), /not supported by codis-proxy.*proxy_allow_flush/i);
    await rejects(c.call("BLPOP", "{a}l", "{b}l", "0"), /CROSSSLOT/);
    await rejects(c.call("NOSUCHCMD", "a", "b"), /ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b'/);
    await rejects(c.call("GET"), /wrong number of arguments for 'get' command/);
    equal(await c.ping(), "PONG");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: locally answered commands", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    equal(await c.ping(), "PONG");
    equal(await c.ping("hi"), "hi");
    equal(await c.echo("e"), "e");
    equal(await c.select(0), "OK");
    await rejects(c.select(3), /invalid DB index/);
    equal(await c.client("SETNAME", "me"), "OK");
    equal(await c.client("GETNAME"), "me");
    ok(Number(await c.client("ID")) > 0);
    const hello = (await c.call("HELLO", "2")) as unknown[];
    equal(hello[0], "server");
    await rejects(c.call("HELLO", "4"), /NOPROTO/);
    await c.set("k1", "v");
    const info = (await c.info()) as string;
    match(info, /# Server/);
    match(info, /connected_clients:\d+/);
    match(info, /db0:keys=1,/);
    deepEqual(await c.call("SLOTSHASHKEY", "k1", "{k1}x"), [slotOf(enc("k1")), slotOf(enc("k1"))]);
    const mapping = (await c.call("SLOTSMAPPING", "1000")) as unknown[][];
    deepEqual(mapping[0].slice(0, 3), [1000, f.backends[1].addr, ""]);
    const slot = slotOf(enc("k1"));
    deepEqual(await c.call("SLOTSINFO"), [[slot, 1]]);
    deepEqual(await c.call("SLOTSSCAN", String(slot), "0", "COUNT", "10"), ["0", ["k1"]]);
    equal(await c.quit(), "OK");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: redis-cli, inline commands included", async () => {
  const f = await startProxyFixture(2);
  try {
    equal((await redisCli(f.port, ["SET", "cli", "x y"])).trim(), "OK");
    equal((await redisCli(f.port, ["GET", "cli"])).trim(), "x y");
    // Inline commands: what a human types into `telnet` or `nc`.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    await conn.write(enc('GET cli\r\nSET "in line" "a b"\r\nGET "in line"\r\n'));
    const got = await readUntil(conn, (s) => s.split("\r\n").length >= 6);
    equal(got, "$3\r\nx y\r\n+OK\r\n$3\r\na b\r\n");
    conn.close();
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: large values pass through whole, alone and pipelined", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    const big = "x".repeat(3 * 1024 * 1024);
    equal(await c.set("big", big), "OK");
    equal((await c.get("big"))?.length, big.length);
    const p = c.pipeline();
    const vals = Array.from({ length: 6 }, (_, i) => String(i).repeat(600 * 1024));
    vals.forEach((v, i) => p.set(`mid:${i}`, v));
    vals.forEach((_, i) => p.get(`mid:${i}`));
    const res = await p.exec();
    vals.forEach((v, i) => equal(res![6 + i][1], v));
  } finally {
    await f.stop();
  }
});
