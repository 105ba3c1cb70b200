import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { createClient } from "redis";
import { redisCli, startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { diffCommands } from "../testing/resp_diff.ts";
import { startSecondProxy } from "../testing/second_proxy.ts";
import { Redis } from "ioredis";

Deno.test("txn: MULTI/EXEC in one slot, in each group (ioredis)", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    for (const tag of ["foo", "qux"]) {
      const res = await c.multi().set(`{${tag}}a`, "1").incr(`{${tag}}a`).get(`{${tag}}a`).ping().exec();
      deepEqual(res!.map((r) => r[1]), ["OK", 2, "2", "PONG"]);
    }
    // A key in another slot: CROSSSLOT, and EXEC answers EXECABORT.
    await rejects(c.multi().set("{foo}a", "1").set("{qux}a", "2").exec(), /EXECABORT|CROSSSLOT/);
    equal(await c.get("{foo}a"), "2");
    equal(await c.call("DISCARD").catch((e) => e.message), "ERR DISCARD without MULTI");
    // DISCARD drops the queue.
    equal(await c.call("MULTI"), "OK");
    equal(await c.call("SET", "{foo}a", "9"), "QUEUED");
    equal(await c.call("DISCARD"), "OK");
    equal(await c.get("{foo}a"), "2");
  } finally {
    await f.stop();
  }
});

Deno.test("txn: a WATCHed transaction is aborted by a concurrent write through another proxy", async () => {
  const f = await startProxyFixture(2);
  const p2 = await startSecondProxy(f);
  const other = new Redis({ port: p2.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const c = f.client();
    await c.set("{w}k", "1");
    equal(await c.watch("{w}k"), "OK");
    await other.set("{w}k", "changed");
    equal(await c.multi().set("{w}k", "mine").exec(), null);
    equal(await c.get("{w}k"), "changed");
    // Untouched: the transaction runs.
    equal(await c.watch("{w}k"), "OK");
    deepEqual(await c.multi().set("{w}k", "mine").exec(), [[null, "OK"]]);
    equal(await c.get("{w}k"), "mine");
    // UNWATCH forgets the watch.
    equal(await c.watch("{w}k"), "OK");
    equal(await c.unwatch(), "OK");
    await other.set("{w}k", "again");
    deepEqual(await c.multi().get("{w}k").exec(), [[null, "again"]]);
    // WATCH across slots, or a transaction in another slot than the WATCH: CROSSSLOT.
    await rejects(c.watch("{a}1", "{b}1"), /CROSSSLOT/);
    equal(await c.watch("{w}k"), "OK");
    await rejects(c.watch("{other}k"), /CROSSSLOT/);
    await rejects(c.multi().set("{other}k", "x").exec(), /EXECABORT|CROSSSLOT/);
  } finally {
    other.disconnect();
    await p2.proxy.shutdown();
    await f.stop();
  }
});

Deno.test("txn: a slot that starts migrating aborts the transaction", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    const slot = 289; // "foo"
    equal(await c.call("MULTI"), "OK");
    equal(await c.call("SET", "foo", "1"), "QUEUED");
    const model = f.proxy.router.slots[slot].model;
    await f.proxy.fillSlots([{ ...model, locked: true }]);
    await rejects(c.call("EXEC"), /EXECABORT.*slot 289.*migrating/);
    await f.proxy.fillSlots([{ ...model, locked: false }]);
    equal(await c.get("foo"), null);
  } finally {
    await f.stop();
  }
});

Deno.test("txn: node-redis and redis-cli", async () => {
  const f = await startProxyFixture(2);
  const nr = createClient({ socket: { port: f.port, host: "127.0.0.1" } });
  nr.on("error", () => {});
  try {
    await nr.connect();
    deepEqual(await nr.multi().set("{n}a", "1").incr("{n}a").exec(), ["OK", 2]);
    await nr.executeIsolated(async (iso) => {
      await iso.watch("{n}a");
      await nr.set("{n}a", "x");
      await rejects(iso.multi().set("{n}a", "y").exec(), /WATCH|Watch|aborted/i);
    });
    equal(await nr.get("{n}a"), "x");
    const out = await redisCli(f.port, [], "MULTI\nSET {c}k v\nGET {c}k\nEXEC\n");
    match(out, /OK\nQUEUED\nQUEUED\nOK\nv/);
  } finally {
    await nr.disconnect().catch(() => {});
    await f.stop();
  }
});

Deno.test("txn: differential against one Redis", async () => {
  const f = await startProxyFixture(2);
  const r = await startRedis();
  try {
    await diffCommands(f.port, r.port, [
      ["EXEC"],
      ["DISCARD"],
      ["MULTI"],
      ["MULTI"],
      ["SET", "t", "1"],
      ["INCR", "t"],
      ["LPUSH", "t", "x"],
      ["EXEC"],
      ["MULTI"],
      ["SET", "t", "1"],
      ["NOSUCH"],
      ["EXEC"],
      ["MULTI"],
      ["GET"],
      ["EXEC"],
      ["WATCH", "t"],
      ["MULTI"],
      ["WATCH", "t"],
      ["GET", "t"],
      ["EXEC"],
      ["UNWATCH"],
      ["WATCH", "t"],
      ["SET", "t", "2"],
      ["MULTI"],
      ["GET", "t"],
      ["EXEC"],
    ]);
  } finally {
    await r.stop();
    await f.stop();
  }
});
