/**
 * SLOWLOG through the proxy in front of two groups: Redis's errors and HELP, and the proxy's own slow log (its
 * entries' shape, truncation, redaction and client names compared with a direct Redis 7; the threshold and length, from
 * the config or CONFIG SET).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { decodeReply, type RespValue } from "../redis/decode.ts";
import { startProxyFixture } from "../testing/proxy.ts";
import { clientLines, withProxyAndRedis } from "../testing/proxy_vs_redis.ts";
import { diffCommands, RawClient } from "../testing/resp_diff.ts";

const decoded = (reply: string): RespValue => decodeReply(new TextEncoder().encode(reply));
const text = (v: RespValue): string => v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);

/** Runs `fn` with one raw connection to each port: the proxy's first, then Redis's. */
async function onBoth<T>(ports: number[], fn: (c: RawClient, port: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const port of ports) {
    const c = await RawClient.connect(port);
    try {
      out.push(await fn(c, port));
    } finally {
      c.close();
    }
  }
  return out;
}

Deno.test("SLOWLOG: Redis's errors, HELP, and entries with the same arguments, truncation, redaction and names", async () => {
  await withProxyAndRedis(2, { slowlog_log_slower_than: 0 }, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["SLOWLOG", "HELP"],
      ["SLOWLOG", "GET", "x"],
      ["SLOWLOG", "GET", "-2"],
      ["SLOWLOG", "LEN", "x"],
      ["SLOWLOG", "RESET", "x"],
      ["SLOWLOG", "FOO"],
      ["SLOWLOG"],
    ]);
    const direct = await RawClient.connect(r.port);
    try {
      equal(await direct.call(["CONFIG", "SET", "slowlog-log-slower-than", "0"]), "+OK\r\n");
    } finally {
      direct.close();
    }
    const [proxy, redis] = await onBoth([f.port, r.port], async (c) => {
      const addr = clientLines(await c.call(["CLIENT", "INFO"]))[0].get("addr");
      await c.call(["SLOWLOG", "RESET"]);
      await c.call(["RPUSH", "{l}", ...Array.from({ length: 40 }, (_, i) => `v${i}`)]);
      await c.call(["SET", "k", "x".repeat(200)]);
      await c.call(["AUTH", "secret"]);
      await c.call(["CLIENT", "SETNAME", "slowpoke"]);
      await c.call(["ECHO", "hi"]);
      const len = await c.call(["SLOWLOG", "LEN"]);
      const one = decoded(await c.call(["SLOWLOG", "GET", "1"])) as RespValue[][];
      equal(one.length, 1);
      const all = decoded(await c.call(["SLOWLOG", "GET", "-1"])) as RespValue[][];
      const deflt = decoded(await c.call(["SLOWLOG", "GET"])) as RespValue[][];
      ok(deflt.length <= 10);
      const now = Date.now() / 1000;
      for (let i = 0; i < all.length; i++) {
        const [id, time, us, , from] = all[i];
        if (i > 0) equal(id, (all[i - 1][0] as number) - 1, "ids count down, newest first");
        ok(Math.abs((time as number) - now) < 60, `timestamp ${time}`);
        ok(Number.isInteger(us) && (us as number) >= 0);
        equal(text(from), addr);
      }
      return { len, entries: all.map((e) => [(e[3] as RespValue[]).map(text), text(e[5])]) };
    });
    deepEqual(proxy, redis);
    const args = proxy.entries.map((e) => (e[0] as string[]).join(" "));
    ok(args.includes(`SET k ${"x".repeat(128)}... (72 more bytes)`), args.join("\n"));
    ok(args.includes("AUTH (redacted)"));
    ok(args.some((a) => a.endsWith("v28 ... (11 more arguments)")));
  });
});

Deno.test("SLOWLOG: requests faster than slowlog_log_slower_than are not logged; a negative threshold logs none", async () => {
  for (const threshold of [60_000_000, -1]) {
    const f = await startProxyFixture(2, { slowlog_log_slower_than: threshold });
    try {
      const c = await RawClient.connect(f.port);
      try {
        for (let i = 0; i < 20; i++) await c.call(["SET", `k${i}`, "v"]);
        equal(await c.call(["SLOWLOG", "LEN"]), ":0\r\n");
        equal(await c.call(["SLOWLOG", "GET"]), "*0\r\n");
      } finally {
        c.close();
      }
    } finally {
      await f.stop();
    }
  }
});

/** A script that keeps its backend busy for `ms` milliseconds: a request slow as the client sees it. */
const BUSY_SCRIPT = "local s = redis.call('TIME') local t0 = s[1] * 1000000 + s[2] " +
  "repeat local t = redis.call('TIME') until t[1] * 1000000 + t[2] - t0 >= tonumber(ARGV[1]) * 1000 return 1";

Deno.test("SLOWLOG: a request slower than slowlog_log_slower_than (client's view, at the proxy) is logged with its time", async () => {
  const f = await startProxyFixture(2, { slowlog_log_slower_than: 40_000 });
  try {
    const c = await RawClient.connect(f.port);
    try {
      await c.call(["CLIENT", "SETNAME", "busy"]);
      equal(await c.call(["EVAL", BUSY_SCRIPT, "1", "{busy}", "80"]), ":1\r\n");
      const entries = decoded(await c.call(["SLOWLOG", "GET", "-1"])) as RespValue[][];
      ok(entries.length >= 1, "the slow EVAL is logged");
      for (const e of entries) ok((e[2] as number) >= 40_000, `only requests over the threshold: ${e[2]}`);
      const busy = entries.find((e) => text((e[3] as RespValue[])[0]) === "EVAL");
      ok(busy !== undefined);
      ok((busy[2] as number) >= 80_000, `duration ${busy[2]}`);
      deepEqual((busy[3] as RespValue[]).slice(2).map(text), ["1", "{busy}", "80"]);
      equal(text(busy[5]), "busy");
      equal(await c.call(["SLOWLOG", "RESET"]), "+OK\r\n");
      equal(await c.call(["SLOWLOG", "LEN"]), ":0\r\n");
    } finally {
      c.close();
    }
  } finally {
    await f.stop();
  }
});

Deno.test("SLOWLOG: CONFIG SET slowlog-log-slower-than / slowlog-max-len set the proxy's slow log too", async () => {
  // A threshold no request reaches under any load (the default, 10 ms, can be on a busy machine).
  const f = await startProxyFixture(2, { proxy_allow_config_set: true, slowlog_log_slower_than: 60_000_000 });
  try {
    const c = await RawClient.connect(f.port);
    try {
      await c.call(["SET", "k", "v"]);
      equal(await c.call(["SLOWLOG", "LEN"]), ":0\r\n");
      equal(await c.call(["CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3"]), "+OK\r\n");
      for (let i = 0; i < 5; i++) await c.call(["GET", `k${i}`]);
      equal(await c.call(["SLOWLOG", "LEN"]), ":3\r\n");
      equal(await c.call(["CONFIG", "SET", "slowlog-log-slower-than", "-1"]), "+OK\r\n");
      equal(await c.call(["SLOWLOG", "RESET"]), "+OK\r\n");
      await c.call(["GET", "k"]);
      equal(await c.call(["SLOWLOG", "LEN"]), ":0\r\n");
    } finally {
      c.close();
    }
  } finally {
    await f.stop();
  }
});
