/**
 * Data safety while a slot migrates: a session's own writes must keep their order and stay readable
 * across the proxy's model changes.
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { Redis } from "ioredis";
import { slotOf } from "../proxy/hash.ts";
import { runSlotMigration } from "../topom/executor/migrate.ts";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A key in a slot that backend 0 owns (slots 0..511). */
function keyOnFirstBackend(prefix: string): { key: string; slot: number } {
  for (let i = 0;; i++) {
    const key = `${prefix}${i}`;
    const slot = slotOf(enc(key));
    if (slot < 512) return { key, slot };
  }
}

function resp(...args: string[]): Uint8Array {
  return enc(`*${args.length}\r\n${args.map((a) => `$${enc(a).length}\r\n${a}\r\n`).join("")}`);
}

Deno.test("proxy migration order: a pipelined write sent after the slot finished does not overtake one still moving its key", async () => {
  const f = await startProxyFixture(2);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const { key, slot } = keyOnFirstBackend("order:");
    const [a, b] = f.backends.map((x) => x.addr);
    const c = f.client();
    equal(await c.set(key, "v0"), "OK");
    await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a }]);
    // The source answers its MIGRATE late (a busy source, a big value on the wire).
    const src = f.direct(0);
    equal(await src.call("CLIENT", "PAUSE", "400", "ALL"), "OK");
    await conn.write(resp("SET", key, "v1"));
    await new Promise((r) => setTimeout(r, 50));
    // The executor emptied the source meanwhile; the dashboard stores `finished`: only the target now.
    const filled = f.proxy.fillSlots([{ id: slot, backend_addr: b }]);
    // The same session then overwrites the key: its last write must win.
    await conn.write(resp("SET", key, "v2"));
    await conn.write(resp("GET", key));
    const text = await readUntil(conn, (s) => s.split("\r\n").length >= 5, 5000);
    await filled;
    equal(text, "+OK\r\n+OK\r\n$2\r\nv2\r\n", "the session reads its own last write");
    equal(await f.direct(1, slot).get(key), "v2");
  } finally {
    conn.close();
    await f.stop();
  }
});

Deno.test("proxy migration order: a transaction sent after the slot finished does not overtake a write still moving its key", async () => {
  const f = await startProxyFixture(2);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const { key, slot } = keyOnFirstBackend("txn:");
    const [a, b] = f.backends.map((x) => x.addr);
    await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a }]);
    equal(await f.direct(0).call("CLIENT", "PAUSE", "400", "ALL"), "OK");
    await conn.write(resp("SET", key, "v1"));
    await new Promise((r) => setTimeout(r, 50));
    const filled = f.proxy.fillSlots([{ id: slot, backend_addr: b }]);
    await conn.write(resp("MULTI"));
    await conn.write(resp("SET", key, "v2"));
    await conn.write(resp("EXEC"));
    const text = await readUntil(conn, (s) => s.endsWith("*1\r\n+OK\r\n"), 5000);
    await filled;
    equal(text, "+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
    equal(await f.direct(1, slot).get(key), "v2", "the transaction's write is the last one");
  } finally {
    conn.close();
    await f.stop();
  }
});

type Cmd = (string | number)[];

/** Setup shared by the proxy and the reference server: every key in one slot (hash tag `{m}`). */
const SETUP: Cmd[] = [
  ["SET", "{m}a", "abc"],
  ["SET", "{m}b", "abd"],
  ["RPUSH", "{m}l", "1", "2", "3"],
  ["RPUSH", "{m}l2", "x"],
  ["SADD", "{m}s1", "a", "b", "c"],
  ["SADD", "{m}s2", "b", "c", "d"],
  ["ZADD", "{m}z1", "1", "a", "2", "b"],
  ["ZADD", "{m}z2", "3", "b", "4", "c"],
  ["HSET", "{m}h", "f", "1"],
  ["GEOADD", "{m}g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
  ["XADD", "{m}x", "1-1", "f", "v"],
  ["PFADD", "{m}p1", "a", "b"],
  ["PFADD", "{m}p2", "c"],
  ["SET", "{m}cnt", "5"],
  ...["d", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "n1", "n3"].map((k) => ["SET", `{m}${k}`, "old"]),
  ["SET", "{m}ttl", "t", "EX", "1000"],
  ["SADD", "{m}s3", "q"],
  ["SET", "{m}r", "1"],
  ["SET", "{m}dup", "old"],
  ...["e1", "e2", "e3", "e4", "e5", "e6"].map((k) => ["SET", `{m}${k}`, "old"]),
  ["RPUSH", "{m}bl", "1", "2"],
  ["RPUSH", "{m}bl2", "a"],
  ["RPUSH", "{m}bl3", "b"],
  ["ZADD", "{m}bz", "1", "m"],
];

/** Commands run while the slot migrates; each reads or writes keys that are still on the source. */
const COMMANDS: Cmd[] = [
  ["SORT", "{m}l", "BY", "nosort", "STORE", "{m}d"],
  ["ZUNIONSTORE", "{m}d2", "2", "{m}z1", "{m}z2"],
  ["GEORADIUS", "{m}g", "15", "37", "200", "km", "STORE", "{m}d3"],
  ["GEOSEARCHSTORE", "{m}d4", "{m}g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
  ["BITOP", "AND", "{m}d5", "{m}a", "{m}b"],
  ["LMPOP", "2", "{m}l2", "{m}l", "LEFT"],
  ["SINTERCARD", "2", "{m}s1", "{m}s2"],
  ["LCS", "{m}a", "{m}b"],
  ["COPY", "{m}h", "{m}d6", "REPLACE"],
  ["SMOVE", "{m}s1", "{m}s2", "a"],
  ["LMOVE", "{m}l", "{m}l2", "LEFT", "RIGHT"],
  ["RENAME", "{m}z1", "{m}z3"],
  ["PFMERGE", "{m}p1", "{m}p2"],
  ["EVAL", "return redis.call('INCR', KEYS[1])", "1", "{m}cnt"],
  ["SET", "{m}d7", "new", "GET"],
  ["GETDEL", "{m}d8"],
  ["APPEND", "{m}a", "z"],
  ["MSETNX", "{m}n1", "1", "{m}n2", "2"],
  ["RENAMENX", "{m}b", "{m}n3"],
  ["ZRANGESTORE", "{m}d9", "{m}z2", "0", "-1"],
  ["SDIFFSTORE", "{m}d10", "{m}s1", "{m}s2"],
  ["XGROUP", "CREATE", "{m}x", "grp", "0"],
  ["XREADGROUP", "GROUP", "grp", "c1", "COUNT", "1", "STREAMS", "{m}x", ">"],
  ["OBJECT", "ENCODING", "{m}h"],
  // A key named twice is moved once (the second RESTORE answers BUSYKEY).
  ["SUNIONSTORE", "{m}s3", "{m}s3", "{m}s3"],
  ["RENAME", "{m}r", "{m}r"],
  ["MSET", "{m}dup", "1", "{m}dup", "2"],
  // Split across slots: each part moves its own keys.
  ["DEL", "{m}e1", "elsewhere:1"],
  ["UNLINK", "{m}e2", "elsewhere:2"],
  ["EXISTS", "{m}e3", "elsewhere:3", "{m}e3"],
  ["TOUCH", "{m}e4", "elsewhere:4"],
  ["MSET", "{m}e5", "new", "elsewhere:5", "x"],
  ["MGET", "{m}e6", "elsewhere:6"],
  // Blocking commands move their keys before they block on the target.
  ["BLPOP", "{m}bl", "1"],
  ["BLMOVE", "{m}bl2", "{m}bl3", "LEFT", "RIGHT", "1"],
  ["BZPOPMIN", "{m}bz", "1"],
];

const ALL_KEYS = [
  ...new Set([...SETUP, ...COMMANDS].flatMap((c) => c.map(String).filter((a) => a.startsWith("{m}")))),
  "{m}z3",
  "{m}n2",
];

/** Everything a client can read of the keys: type, value, whether a TTL is set. */
async function snapshot(r: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const k of ALL_KEYS) {
    const type = await r.type(k);
    const ttl = (await r.pttl(k)) > 0 ? "ttl" : "no-ttl";
    let value: unknown = null;
    if (type === "string") value = await r.get(k);
    else if (type === "list") value = await r.lrange(k, 0, -1);
    else if (type === "set") value = (await r.smembers(k)).sort();
    else if (type === "zset") value = await r.zrange(k, 0, -1, "WITHSCORES");
    else if (type === "hash") value = await r.hgetall(k);
    else if (type === "stream") value = [await r.xrange(k, "-", "+"), await r.call("XINFO", "GROUPS", k)];
    out[k] = [type, ttl, value];
  }
  return out;
}

async function runAll(r: Redis, cmds: Cmd[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [name, ...args] of cmds) out.push(await r.call(String(name), ...args).catch((e) => `ERR ${e.message}`));
  return out;
}

Deno.test("proxy migration order: multi-key and store commands on a migrating slot act on the source's data", async () => {
  const f = await startProxyFixture(2);
  const ref = await startRedis();
  try {
    const slot = slotOf(enc("m"));
    const owner = slot < 512 ? 0 : 1;
    const [from, to] = [f.backends[owner].addr, f.backends[1 - owner].addr];
    const c = f.client();
    const r = new Redis({ port: ref.port, host: "127.0.0.1", db: slot, maxRetriesPerRequest: 0 });
    try {
      await runAll(c, SETUP);
      await runAll(r, SETUP);
      await f.proxy.fillSlots([{ id: slot, backend_addr: to, migrate_from: from }]);
      const got = await runAll(c, COMMANDS);
      const want = await runAll(r, COMMANDS);
      for (let i = 0; i < COMMANDS.length; i++) deepEqual(got[i], want[i], COMMANDS[i].join(" "));
      const ttl = Number(await c.pttl("{m}ttl"));
      ok(ttl > 990_000 && ttl <= 1_000_000, `the TTL travels with the key unchanged (${ttl})`);
      // The executor moves what is left, then the slot finishes: everything reads as on a single server.
      const res = await runSlotMigration({ slot, from, to, timeoutMs: 5000 });
      equal(res.done, true, res.reason ?? "");
      await f.proxy.fillSlots([{ id: slot, backend_addr: to }]);
      deepEqual(await snapshot(c), await snapshot(r));
    } finally {
      r.disconnect();
    }
  } finally {
    await ref.stop();
    await f.stop();
  }
});

Deno.test("proxy migration order: concurrent pipelined writers lose no acknowledged write while slots move", async () => {
  const f = await startProxyFixture(2);
  try {
    const [a, b] = f.backends.map((x) => x.addr);
    // Eight slots of backend 0, each with plain, TTL, counter and big keys.
    const tags: string[] = [];
    for (let i = 0; tags.length < 8; i++) if (slotOf(enc(`w${i}`)) < 512) tags.push(`w${i}`);
    const slots = tags.map((t) => slotOf(enc(t)));
    const writers = 4;
    const keysOf = (w: number) => tags.flatMap((t) => Array.from({ length: 6 }, (_, i) => `{${t}}:w${w}:${i}`));
    const big = "x".repeat(256 * 1024);
    const seed = f.client();
    for (const t of tags) for (let i = 0; i < 4; i++) await seed.set(`{${t}}:big:${i}`, big);
    const acked = new Map<string, string>();
    const counters = new Map<string, number>();
    const errors: string[] = [];
    let stop = false;
    let migrating = false;
    let duringMoves = 0;
    const write = async (w: number) => {
      const c = f.client();
      const keys = keysOf(w);
      for (let round = 0; !stop && round < 2000; round++) {
        await Promise.all(keys.map(async (k, i) => {
          const v = `${w}:${round}`;
          try {
            if (i % 3 === 0) {
              const n = await c.incr(`${k}:n`);
              counters.set(`${k}:n`, Math.max(counters.get(`${k}:n`) ?? 0, n));
            }
            const r = i % 3 === 1 ? await c.set(k, v, "PX", 600_000) : await c.set(k, v);
            if (r === "OK") acked.set(k, v);
            if (migrating) duringMoves++;
          } catch (e) {
            errors.push(`${k}: ${(e as Error).message}`);
          }
        }));
      }
    };
    const running = Array.from({ length: writers }, (_, w) => write(w));
    try {
      await new Promise((r) => setTimeout(r, 100));
      for (const slot of slots) {
        await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a, locked: true }]);
        await new Promise((r) => setTimeout(r, 20));
        await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a }]);
        migrating = true;
        const res = await runSlotMigration({ slot, from: a, to: b, timeoutMs: 5000, batchKeys: 4 });
        equal(res.done, true, res.reason ?? "");
        await f.proxy.fillSlots([{ id: slot, backend_addr: b }]);
        migrating = false;
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      stop = true;
      await Promise.all(running);
    }
    deepEqual(errors.slice(0, 5), []);
    ok(duringMoves > 100, `writes overlapped the moves (${duringMoves})`);
    ok(acked.size === writers * tags.length * 6, "every key was written");
    for (const slot of slots) equal(await f.direct(0, slot).dbsize(), 0, `slot ${slot} left keys on the source`);
    const check = f.client();
    for (const [k, v] of acked) {
      equal(await check.get(k), v, `last acknowledged value of ${k}`);
      if (k.endsWith(":1") || k.endsWith(":4")) ok(Number(await check.pttl(k)) > 0, `${k} keeps its TTL`);
    }
    for (const [k, n] of counters) equal(Number(await check.get(k)), n, `counter ${k}`);
    for (const t of tags) equal(await check.strlen(`{${t}}:big:0`), big.length);
  } finally {
    await f.stop();
  }
});
