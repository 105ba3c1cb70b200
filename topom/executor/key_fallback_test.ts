import assert from "node:assert/strict";
import { KeyFallback, type MigrationTally } from "./key_fallback.ts";
import { newConn, splitAddr } from "./conn.ts";
import { redisCliDb, type RedisProcess, startRedis } from "../../testing/redis.ts";
import { freePort } from "../../testing/ports.ts";

const SLOT = 3;
const enc = new TextEncoder();
const keys = (...names: string[]) => names.map((n) => enc.encode(n));

/** What a slot's move would hand the fallback: a source connection on database SLOT and MIGRATE's head. */
async function fallbackFor(
  source: RedisProcess,
  to: string,
  opts: { timeoutMs?: number; auth?: string; migrateAuth?: string; aborted?: () => boolean } = {},
) {
  const conn = newConn(source.addr, "", 5000);
  await conn.connect();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const [host, port] = splitAddr(to);
  const head = ["MIGRATE", host, port, "", String(SLOT), String(timeoutMs)];
  if (opts.migrateAuth) head.push("AUTH", opts.migrateAuth);
  head.push("KEYS");
  const tally: MigrationTally = { moved: 0, deleted: 0, stop: null };
  const fallback = new KeyFallback({
    conn,
    slot: SLOT,
    from: source.addr,
    to,
    auth: opts.auth ?? "",
    timeoutMs,
    migrateHead: head,
    tally,
    aborted: opts.aborted ?? (() => tally.stop !== null),
  });
  return { fallback, tally, close: () => conn.close() };
}

/** Runs one pass of a fresh fallback over `names` and returns its tally; the source connection is always closed. */
async function runFallback(
  source: RedisProcess,
  to: string,
  pass: "oneByOne" | "busyFallback",
  names: Uint8Array[],
  opts: Parameters<typeof fallbackFor>[2] = {},
): Promise<MigrationTally> {
  const f = await fallbackFor(source, to, opts);
  try {
    await f.fallback[pass](names);
  } finally {
    f.close();
  }
  return f.tally;
}

/** Runs `fn` while `target` holds writes for `ms`, and always lets them go again. */
async function whileWritesPaused<T>(target: RedisProcess, ms: number, fn: () => Promise<T>): Promise<T> {
  await redisCliDb(target, 0, "CLIENT", "PAUSE", String(ms), "WRITE");
  try {
    return await fn();
  } finally {
    await redisCliDb(target, 0, "CLIENT", "UNPAUSE");
  }
}

const get = (r: RedisProcess, key: string) => redisCliDb(r, SLOT, "GET", key);
const exists = async (r: RedisProcess, key: string) => (await redisCliDb(r, SLOT, "EXISTS", key)) === "1";

/** Runs `fn` with two fresh servers, source first, and always stops them. */
async function withPair(
  fn: (source: RedisProcess, target: RedisProcess) => Promise<void>,
  targetOpts: Parameters<typeof startRedis>[0] = {},
): Promise<void> {
  const source = await startRedis({ databases: 16 });
  let target: RedisProcess | undefined;
  try {
    target = await startRedis({ databases: 16, ...targetOpts });
    await fn(source, target);
  } finally {
    await target?.stop();
    await source.stop();
  }
}

Deno.test("key fallback: BUSYKEY drops the stale source copy, free keys move, gone keys count as nothing", async () => {
  await withPair(async (source, target) => {
    await redisCliDb(source, SLOT, "MSET", "free", "v-free", "busy", "v-old");
    await redisCliDb(target, SLOT, "SET", "busy", "v-new");
    const tally = await runFallback(source, target.addr, "busyFallback", keys("free", "busy", "gone"));
    assert.deepEqual({ ...tally }, { moved: 1, deleted: 1, stop: null });
    assert.equal(await redisCliDb(source, SLOT, "DBSIZE"), "0");
    assert.equal(await get(target, "free"), "v-free");
    assert.equal(await get(target, "busy"), "v-new", "the target's newer copy is kept");
  });
});

Deno.test("key fallback: a key the target refuses (OOM) pauses the slot with its name and size", async () => {
  await withPair(async (source, target) => {
    await redisCliDb(source, SLOT, "SET", "big", "x".repeat(10_000));
    await redisCliDb(source, SLOT, "SET", "next", "v");
    await redisCliDb(target, 0, "CONFIG", "SET", "maxmemory-policy", "noeviction");
    await redisCliDb(target, 0, "CONFIG", "SET", "maxmemory", "1");
    const tally = await runFallback(source, target.addr, "busyFallback", keys("big", "next"));
    const stop = tally.stop;
    assert.equal(stop?.kind, "paused");
    assert.equal(stop.kind === "paused" && stop.key, "big", "the first refused key, in order");
    const reason = stop.kind === "paused" ? stop.reason : "";
    assert.match(reason, /^key "big" \(about \d+ bytes\) is refused by the target 127\.0\.0\.1:\d+: .*OOM/);
    assert.equal(tally.moved, 0);
    assert.ok(await exists(source, "big"));
    assert.ok(await exists(source, "next"), "keys after the paused one are left alone");
    assert.equal(await exists(target, "big"), false);
  });
});

Deno.test("key fallback: a key timing out twice pauses the slot, naming the timeout", async () => {
  await withPair(async (source, target) => {
    await redisCliDb(source, SLOT, "SET", "slow", "v");
    // Writes wait while PING still answers: MIGRATE times out, the target looks ready, the retry times out again.
    const tally = await whileWritesPaused(
      target,
      5000,
      () => runFallback(source, target.addr, "oneByOne", keys("slow"), { timeoutMs: 200 }),
    );
    const stop = tally.stop;
    assert.equal(stop?.kind, "paused");
    const reason = stop.kind === "paused" ? stop.reason : "";
    assert.match(reason, /^key "slow" \(about \d+ bytes\) cannot be moved within migration_timeout \(200 ms, twice\)/);
    assert.ok(await exists(source, "slow"));
  });
});

Deno.test("key fallback: a key timing out once is retried alone and lands", async () => {
  await withPair(async (source, target) => {
    await redisCliDb(source, SLOT, "SET", "once", "v");
    // Writes wait for 500 ms: the first MIGRATE (300 ms) times out, the retry's RESTORE runs when the pause ends.
    const tally = await whileWritesPaused(
      target,
      500,
      () => runFallback(source, target.addr, "oneByOne", keys("once"), { timeoutMs: 300 }),
    );
    assert.equal(tally.stop, null);
    assert.equal(tally.moved + tally.deleted, 1);
    assert.equal(await exists(source, "once"), false);
    assert.equal(await get(target, "once"), "v");
  });
});

Deno.test("key fallback: keys timing out in the BUSYKEY pass are moved one by one once the target answers", async () => {
  await withPair(async (source, target) => {
    await redisCliDb(source, SLOT, "MSET", "k1", "v1", "k2", "v2", "busy", "v-old");
    await redisCliDb(target, SLOT, "SET", "busy", "v-new");
    // The whole target sleeps: the pipelined MIGRATEs time out, then the fallback waits for PING and retries.
    const sleeper = newConn(target.addr, "", 5000);
    await sleeper.connect();
    const sleeping = sleeper.call(0, ["DEBUG", "SLEEP", "0.8"]);
    const f = await fallbackFor(source, target.addr, { timeoutMs: 200 });
    try {
      await f.fallback.busyFallback(keys("k1", "k2", "busy"));
      await sleeping;
    } finally {
      f.close();
      sleeper.close();
    }
    assert.equal(f.tally.stop, null);
    // A RESTORE the source stopped waiting for may still land: the retry then sees BUSYKEY and drops the copy.
    assert.equal(f.tally.moved + f.tally.deleted, 3);
    assert.ok(f.tally.deleted >= 1);
    assert.equal(await redisCliDb(source, SLOT, "DBSIZE"), "0");
    assert.equal(await get(target, "k1"), "v1");
    assert.equal(await get(target, "k2"), "v2");
    assert.equal(await get(target, "busy"), "v-new");
  }, { extraArgs: ["--enable-debug-command", "yes"] });
});

Deno.test("key fallback: an auth error from the target fails the run and leaves the key", async () => {
  await withPair(async (source, target) => {
    await redisCliDb(source, SLOT, "SET", "k", "v");
    const tally = await runFallback(source, target.addr, "oneByOne", keys("k"), {
      auth: "right",
      migrateAuth: "wrong",
    });
    const stop = tally.stop;
    assert.equal(stop?.kind, "failed");
    assert.match(stop.kind === "failed" ? stop.reason : "", /^MIGRATE to 127\.0\.0\.1:\d+: .*WRONGPASS/);
    assert.ok(await exists(source, "k"));
  }, { requirepass: "right" });
});

Deno.test("key fallback: an unreachable target fails the run before any key is tried", async () => {
  const source = await startRedis({ databases: 16 });
  try {
    await redisCliDb(source, SLOT, "SET", "k", "v");
    const dead = `127.0.0.1:${freePort()}`;
    const tally = await runFallback(source, dead, "oneByOne", keys("k"), { timeoutMs: 200 });
    const stop = tally.stop;
    assert.equal(stop?.kind, "failed");
    assert.ok((stop.kind === "failed" ? stop.reason : "").startsWith(`target ${dead}: `));
    assert.ok(await exists(source, "k"));
  } finally {
    await source.stop();
  }
});

Deno.test("key fallback: an aborted move tries no more keys", async () => {
  await withPair(async (source, target) => {
    await redisCliDb(source, SLOT, "MSET", "a", "1", "b", "2");
    let calls = 0;
    const tally = await runFallback(source, target.addr, "oneByOne", keys("a", "b"), { aborted: () => ++calls > 1 });
    assert.deepEqual({ ...tally }, { moved: 1, deleted: 0, stop: null });
    assert.equal(await get(target, "a"), "1");
    assert.ok(await exists(source, "b"));
    assert.equal(await exists(target, "b"), false);
  });
});
