import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { redisCli, startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { diffCommands, RawClient } from "../testing/resp_diff.ts";
import { startSecondProxy } from "../testing/second_proxy.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function blockedClients(f: { direct(i: number): Redis }): Promise<number> {
  let n = 0;
  for (const i of [0, 1]) n += Number(/blocked_clients:(\d+)/.exec(await f.direct(i).info("clients"))![1]);
  return n;
}

Deno.test("blocking: BLPOP wakes when another client pushes through another proxy; others are not stalled", async () => {
  const f = await startProxyFixture(2);
  const p2 = await startSecondProxy(f);
  const other = new Redis({ port: p2.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const a = f.client();
    const b = f.client();
    for (const key of ["foo", "qux"]) { // one key in each group
      const popped = a.blpop(key, 0);
      await sleep(50);
      // Another client of the same proxy, same slot and same shared connection, is served meanwhile.
      equal(await b.set(`{${key}}x`, "1"), "OK");
      equal(await b.get(`{${key}}x`), "1");
      equal(await other.rpush(key, "v1"), 1);
      deepEqual(await popped, [key, "v1"]);
    }
    equal(await a.blpop("empty", 0.05), null);
    await rejects(a.blpop("{a}l", "{b}l", 0), /CROSSSLOT/);
  } finally {
    other.disconnect();
    await p2.proxy.shutdown();
    await f.stop();
  }
});

Deno.test("blocking: later requests of the session wait behind the blocking one; closing releases it", async () => {
  const f = await startProxyFixture(2);
  try {
    const a = f.client();
    const b = f.client();
    const pipe = a.pipeline().blpop("q", 0).set("after", "1").get("after").exec();
    await sleep(50);
    equal(await b.get("after"), null, "the SET after BLPOP must wait");
    await b.rpush("q", "x");
    const res = await pipe;
    deepEqual(res!.map((r) => r[1]), [["q", "x"], "OK", "1"]);
    // A blocked client that goes away frees its backend connection.
    const c = f.client();
    c.blpop("never", 0).catch(() => {});
    await sleep(50);
    equal(await blockedClients(f), 1);
    c.disconnect();
    for (let i = 0; i < 100 && (await blockedClients(f)) > 0; i++) await sleep(10);
    equal(await blockedClients(f), 0);
  } finally {
    await f.stop();
  }
});

Deno.test("blocking: the blocking family with ioredis, node-redis and redis-cli", async () => {
  const f = await startProxyFixture(2);
  const nr = createClient({ socket: { port: f.port, host: "127.0.0.1" } });
  nr.on("error", () => {});
  try {
    const a = f.client();
    const b = f.client();
    const move = a.blmove("{t}src", "{t}dst", "LEFT", "RIGHT", 0);
    await sleep(30);
    await b.rpush("{t}src", "m");
    equal(await move, "m");
    equal(await a.brpoplpush("{t}dst", "{t}src", 1), "m");
    await b.zadd("{t}z", 1, "one", 2, "two");
    deepEqual(await a.bzpopmin("{t}z", 1), ["{t}z", "one", "1"]);
    deepEqual(await a.bzpopmax("{t}z", 1), ["{t}z", "two", "2"]);
    await b.rpush("{t}l2", "x", "y");
    deepEqual(await a.call("BLMPOP", "1", "2", "{t}l1", "{t}l2", "LEFT", "COUNT", "5"), ["{t}l2", ["x", "y"]]);
    await b.zadd("{t}z2", 5, "five");
    deepEqual(await a.call("BZMPOP", "1", "1", "{t}z2", "MIN"), ["{t}z2", [["five", "5"]]]);
    const xr = a.xread("BLOCK", 0, "STREAMS", "{t}s", "$");
    await sleep(30);
    const id = await b.xadd("{t}s", "*", "k", "v");
    deepEqual(await xr, [["{t}s", [[id, ["k", "v"]]]]]);
    await b.xgroup("CREATE", "{t}s", "g", "$");
    const xg = a.xreadgroup("GROUP", "g", "c1", "BLOCK", 0, "STREAMS", "{t}s", ">");
    await sleep(30);
    const id2 = await b.xadd("{t}s", "*", "k", "v2");
    deepEqual(await xg, [["{t}s", [[id2, ["k", "v2"]]]]]);

    await nr.connect();
    const nrPop = nr.blPop("nrq", 0);
    await sleep(30);
    await b.rpush("nrq", "hello");
    deepEqual(await nrPop, { key: "nrq", element: "hello" });

    await b.rpush("cliq", "c");
    equal((await redisCli(f.port, ["BLPOP", "cliq", "1"])).trim(), "cliq\nc");
    equal((await redisCli(f.port, ["BLPOP", "cliq", "0.05"])).trim(), "");
  } finally {
    await nr.disconnect().catch(() => {});
    await f.stop();
  }
});

Deno.test("blocking: a BLPOP follows its slot when the slot moves to another group", async () => {
  const f = await startProxyFixture(2);
  try {
    const a = f.client();
    const b = f.client();
    const slot = 289; // "foo", in group 0
    const [src, dst] = f.backends.map((x) => x.addr);
    const popped = a.blpop("foo", 0);
    await sleep(50);
    await f.proxy.fillSlots([{ id: slot, backend_addr: dst, migrate_from: src }]);
    await sleep(250); // the blocked command notices, is unblocked on the source and runs again on the target
    await f.proxy.fillSlots([{ id: slot, backend_addr: dst }]);
    equal(await b.rpush("foo", "moved"), 1);
    deepEqual(await popped, ["foo", "moved"]);
    equal(await f.direct(1, slot).exists("foo"), 0);
    equal(await blockedClients(f), 0);
  } finally {
    await f.stop();
  }
});

Deno.test("blocking: WAIT counts the replicas that acknowledged in every group", async () => {
  const f = await startProxyFixture(2, {}, { extraArgs: ["--repl-diskless-sync-delay", "0"] });
  const replicas = [];
  try {
    const c = f.client();
    equal(await c.call("WAIT", "1", "50"), 0, "no replicas yet");
    for (const b of f.backends) {
      replicas.push(await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(b.port)] }));
    }
    for (let i = 0; i < 300; i++) {
      const infos = await Promise.all([0, 1].map((i) => f.direct(i).info("replication")));
      if (infos.every((t) => /connected_slaves:1/.test(t) && /state=online/.test(t))) break;
      await sleep(20);
    }
    await c.set("foo", "1");
    await c.set("qux", "2");
    equal(await c.call("WAIT", "1", "2000"), 1);
    const t0 = Date.now();
    equal(await c.call("WAIT", "2", "100"), 1, "only one replica per group");
    ok(Date.now() - t0 >= 90);
    await rejects(c.call("WAIT", "1", "-1"), /timeout is negative/);
  } finally {
    for (const r of replicas) await r.stop();
    await f.stop();
  }
});

Deno.test("blocking: differential against one Redis", async () => {
  const f = await startProxyFixture(2);
  const r = await startRedis();
  try {
    await diffCommands(f.port, r.port, [
      ["RPUSH", "bl", "a", "b", "c"],
      ["BLPOP", "bl", "0"],
      ["BRPOP", "bl", "{bl}nosuch", "0"],
      ["BLPOP", "nosuch", "0.01"],
      ["BLMOVE", "{x}a", "{x}b", "LEFT", "LEFT", "0.01"],
      ["ZADD", "bz", "1", "a"],
      ["BZPOPMIN", "bz", "0"],
      ["BZPOPMAX", "bz", "0.01"],
      ["BLMPOP", "0.01", "1", "bl", "LEFT"],
      ["BLMPOP", "0.01", "1", "bl", "LEFT", "COUNT", "2"],
      ["BLPOP", "bl", "-1"],
      ["BLPOP", "bl", "abc"],
      ["SET", "str", "v"],
      ["BLPOP", "str", "0"],
      ["XADD", "xs", "1-1", "f", "v"],
      ["XREAD", "BLOCK", "10", "STREAMS", "xs", "0"],
      ["XREAD", "BLOCK", "10", "STREAMS", "xs", "$"],
      ["WAIT", "0", "0"],
      ["WAIT", "1", "20"],
      ["WAIT", "x", "0"],
    ]);
  } finally {
    await r.stop();
    await f.stop();
  }
});

Deno.test("session connections authenticate with product_auth (blocking, WATCH, pub/sub, RESP3, WAIT)", async () => {
  const f = await startProxyFixture(2, { product_auth: "pw" }, { requirepass: "pw" });
  try {
    const a = f.client();
    const b = f.client();
    const popped = a.blpop("qux", 1);
    await sleep(30);
    await b.rpush("qux", "v");
    deepEqual(await popped, ["qux", "v"]);
    equal(await a.watch("foo"), "OK");
    deepEqual(await a.multi().set("foo", "1").exec(), [[null, "OK"]]);
    const sub = f.client();
    const got: string[] = [];
    sub.on("message", (_c: string, m: string) => got.push(m));
    await sub.subscribe("foo");
    equal(await b.publish("foo", "m"), 1);
    equal(await b.call("WAIT", "0", "0"), 0);
    const raw = await RawClient.connect(f.port);
    try {
      await raw.call(["HELLO", "3"]);
      equal(await raw.call(["HGETALL", "nohash"]), "%0\r\n");
    } finally {
      raw.close();
    }
  } finally {
    await f.stop();
  }
});
