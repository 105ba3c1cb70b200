/**
 * redis-cli's operator modes, run for real against the proxy in front of two groups: --stat, --latency, --bigkeys,
 * --memkeys, --hotkeys (backends with an LFU maxmemory-policy), --scan --pattern and monitor. Where the output can
 * match, it is compared with the same mode run against a direct Redis 7 holding the same keys.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type ProxyFixture, redisCli, startProxyFixture } from "../testing/proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { RawClient } from "../testing/resp_diff.ts";

const LFU = { extraArgs: ["--maxmemory-policy", "allkeys-lfu"] };

/** The same keys, of every type and each of its own size, written through `port`. */
async function writeKeys(port: number): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    for (let i = 0; i < 30; i++) await c.call(["SET", `user:${i}`, "x".repeat(i + 1)]);
    for (let i = 0; i < 5; i++) await c.call(["SET", `other:${i}`, "y".repeat(200 << i)]);
    await c.call(["RPUSH", "list:a", ...Array.from({ length: 7 }, (_, i) => `e${i}`)]);
    await c.call(["RPUSH", "list:b", "e"]);
    await c.call(["HSET", "hash:a", "f1", "1", "f2", "2"]);
    await c.call(["SADD", "set:a", "m1", "m2", "m3"]);
    await c.call(["ZADD", "zset:a", "1", "a", "2", "b", "3", "c", "4", "d"]);
    await c.call(["XADD", "stream:a", "*", "f", "v"]);
  } finally {
    c.close();
  }
}

/** A proxy over two LFU groups and a direct LFU Redis, both holding the keys of {@link writeKeys}. */
async function withData(fn: (f: ProxyFixture, r: RedisProcess) => Promise<void>): Promise<void> {
  const f = await startProxyFixture(2, {}, LFU);
  try {
    const r = await startRedis(LFU);
    try {
      await writeKeys(f.port);
      await writeKeys(r.port);
      await fn(f, r);
    } finally {
      await r.stop();
    }
  } finally {
    await f.stop();
  }
}

/** The lines after redis-cli's "-------- summary -------" banner. */
function summary(out: string): string[] {
  const at = out.indexOf("-------- summary -------");
  ok(at >= 0, `no summary in ${out}`);
  return out.slice(at).split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
}

/**
 * Runs redis-cli with line-buffered output (it buffers a pipe otherwise) until `done(stdout)` or `ms` passed, then
 * stops it; returns its stdout.
 */
async function redisCliStream(
  port: number,
  args: string[],
  done: (out: string) => boolean,
  ms: number,
  meanwhile?: () => Promise<void>,
): Promise<string> {
  const child = new Deno.Command("stdbuf", {
    args: ["-oL", "redis-cli", "-h", "127.0.0.1", "-p", String(port), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let out = "";
  const deadline = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;
  try {
    while (!done(out) && Date.now() < deadline) {
      const timeout = new Promise<null>((r) => timer = setTimeout(() => r(null), Math.max(1, deadline - Date.now())));
      const chunk = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (chunk === null || chunk.done) break;
      out += new TextDecoder().decode(chunk.value);
      if (!started && meanwhile !== undefined && out.length > 0) {
        started = true;
        await meanwhile();
      }
    }
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await reader.cancel().catch(() => {});
    await child.status;
  }
  return out;
}

Deno.test("redis-cli --bigkeys, --memkeys and --scan --pattern through the proxy print what they print for a direct Redis", async () => {
  await withData(async (f, r) => {
    for (const mode of ["--bigkeys", "--memkeys"]) {
      const [viaProxy, direct] = [await redisCli(f.port, [mode]), await redisCli(r.port, [mode])];
      ok(!viaProxy.includes("ERR"), viaProxy);
      deepEqual(summary(viaProxy), summary(direct), mode);
      ok(summary(viaProxy).includes("Sampled 41 keys in the keyspace!"), viaProxy);
    }
    const big = summary(await redisCli(f.port, ["--bigkeys"]));
    ok(big.includes(`Biggest   list found '"list:a"' has 7 items`), big.join("\n"));
    ok(big.includes(`Biggest string found '"other:4"' has 3200 bytes`), big.join("\n"));
    const scan = async (port: number) =>
      (await redisCli(port, ["--scan", "--pattern", "user:*"])).split("\n").filter((l) => l !== "").sort();
    const users = await scan(f.port);
    equal(users.length, 30);
    deepEqual(users, await scan(r.port));
    deepEqual(await scan(f.port), users);
  });
});

Deno.test("redis-cli --hotkeys through the proxy reads OBJECT FREQ from LFU backends; the hottest key comes first", async () => {
  await withData(async (f) => {
    const c = await RawClient.connect(f.port);
    try {
      for (let i = 0; i < 300; i++) await c.call(["GET", "user:7"]);
    } finally {
      c.close();
    }
    const out = await redisCli(f.port, ["--hotkeys"]);
    const lines = summary(out);
    equal(lines[1], "Sampled 41 keys in the keyspace!", out);
    match(lines[2], /^hot key found with counter: (\d+)\tkeyname: "user:7"$/, out);
    ok(Number(/counter: (\d+)/.exec(lines[2])![1]) > 5, lines[2]);
  });
});

Deno.test("redis-cli --latency and --stat through the proxy", async () => {
  await withData(async (f) => {
    const latency = (await redisCli(f.port, ["--latency"])).trim();
    // min max avg samples, after about a second of PINGs
    const m = /^(\d+) (\d+) ([\d.]+) (\d+)$/.exec(latency);
    ok(m, latency);
    ok(Number(m[4]) > 10, latency);
    const stat = await redisCliStream(
      f.port,
      ["--stat", "-i", "0.2"],
      (out) => out.split("\n").filter((l) => /^\d/.test(l)).length >= 3,
      10_000,
    );
    const rows = stat.split("\n").filter((l) => /^\d/.test(l));
    ok(rows.length >= 3, stat);
    match(stat, /keys\s+mem\s+clients\s+blocked\s+requests\s+connections/);
    for (const row of rows) {
      const [keys, mem, clients, blocked, requests, delta, connections] = row.trim().split(/\s+/);
      equal(keys, "41", stat); // the cluster's keys
      match(mem, /^\d+(\.\d+)?[BKMG]$/, stat); // the masters' used_memory, summed
      ok(Number(clients) >= 1, stat);
      equal(blocked, "0", stat);
      ok(Number(requests) > 41, stat);
      match(delta, /^\(\+\d+\)$/, stat); // requests in the interval
      ok(Number(connections) >= 1, stat);
    }
  });
});

Deno.test("redis-cli monitor through the proxy shows every session's commands in Redis's format", async () => {
  await withData(async (f) => {
    const out = await redisCliStream(
      f.port,
      ["monitor"],
      (s) => s.includes('"monitor-done"'),
      10_000,
      async () => {
        const c = await RawClient.connect(f.port);
        try {
          await c.call(["SET", "mon:k", "v 1"]);
          await c.call(["AUTH", "secret"]);
          await c.call(["GET", "monitor-done"]);
        } finally {
          c.close();
        }
      },
    );
    const lines = out.split("\n").filter((l) => l !== "");
    equal(lines[0], "OK");
    match(lines[1], /^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "mon:k" "v 1"$/);
    match(lines[2], /^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "AUTH" "\(redacted\)"$/);
    match(lines[3], /"GET" "monitor-done"$/);
  });
});
