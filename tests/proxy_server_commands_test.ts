/**
 * Server commands through the proxy compared with a direct Redis 7: CONFIG SET / RESETSTAT (fanned out to every
 * server, behind proxy_allow_config_set), PFSELFTEST / PFDEBUG, keyless scripts and functions, CLIENT REPLY,
 * protocol error texts, blocked clients whose key goes away, and argument errors that come before refusals.
 */
import { equal, match, ok } from "node:assert/strict";
import { startRedis } from "../testing/redis.ts";
import { diffCommands, RawClient } from "../testing/resp_diff.ts";
import { startProxyFixture } from "../testing/proxy.ts";
import { pipelineExchange, respPipeline, withProxyAndRedis } from "../testing/proxy_vs_redis.ts";
import { readUntil } from "../testing/proxy.ts";
import { until } from "../testing/wait.ts";

const SWITCH_OFF = /proxy_allow_config_set = true/;

Deno.test("CONFIG SET: refused naming proxy_allow_config_set by default; argument errors first", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["CONFIG", "SET", "maxmemory-policy"], // arity, as Redis: before the switch
      ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru", "hz"],
    ]);
    const c = await RawClient.connect(f.port);
    try {
      match(await c.call(["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]), SWITCH_OFF);
      match(await c.call(["CONFIG", "RESETSTAT"]), SWITCH_OFF);
      match(await c.call(["CONFIG", "SET", "dir", "/tmp"]), /^-ERR CONFIG SET of 'dir' is refused by codis-proxy: /);
    } finally {
      c.close();
    }
  });
});

Deno.test("CONFIG SET: with the switch, the cluster is reconfigured as one server would be", async () => {
  await withProxyAndRedis(2, { proxy_allow_config_set: true }, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["CONFIG", "SET", "hash-max-listpack-value", "10"],
      ["CONFIG", "GET", "hash-max-listpack-value"],
      ["HSET", "small", "f", "1234567890"],
      ["OBJECT", "ENCODING", "small"],
      ["HSET", "big", "f", "12345678901"],
      ["OBJECT", "ENCODING", "big"],
      ["CONFIG", "SET", "hash-max-listpack-value", "64", "set-max-intset-entries", "4"],
      ["CONFIG", "GET", "set-max-intset-entries"],
      ["CONFIG", "SET", "no-such-config", "1"], // every server answers the same error: Redis's own
      ["CONFIG", "SET", "maxmemory", "not-a-size"],
      ["CONFIG", "RESETSTAT"],
    ]);
    for (const i of [0, 1]) equal(((await f.direct(i).config("GET", "set-max-intset-entries")) as string[])[1], "4");
    const c = await RawClient.connect(f.port);
    try {
      // Refused with a reason even with the switch on: Redis 7's protected configs and what the cluster depends on.
      for (
        const [name, value] of [["dir", "/tmp"], ["dbfilename", "x.rdb"], ["requirepass", "x"], ["masterauth", "x"]]
      ) {
        match(await c.call(["CONFIG", "SET", name, value]), new RegExp(`^-ERR CONFIG SET of '${name}' is refused`));
      }
      match(await c.call(["CONFIG", "SET", "replicaof", "127.0.0.1 1"]), /replication is set up by codis-dashboard/);
      match(await c.call(["CONFIG", "SET", "hz", "10"]), /hz 100 or more/);
      equal(await c.call(["CONFIG", "SET", "hz", "100"]), "+OK\r\n");
      // One protected parameter among others refuses the whole call, and nothing changes.
      match(await c.call(["CONFIG", "SET", "set-max-intset-entries", "8", "dir", "/tmp"]), /'dir' is refused/);
      equal(((await f.direct(0).config("GET", "set-max-intset-entries")) as string[])[1], "4");
    } finally {
      c.close();
    }
  });
});

Deno.test("CONFIG SET: replicas get it too, and a partial failure names the servers that failed", async () => {
  const f = await startProxyFixture(2, { proxy_allow_config_set: true });
  const replicas: Awaited<ReturnType<typeof startRedis>>[] = [];
  try {
    replicas.push(await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(f.backends[0].port)] }));
    // This replica cannot take CONFIG at all: the fan-out must say so, naming it.
    replicas.push(
      await startRedis({
        extraArgs: ["--replicaof", "127.0.0.1", String(f.backends[1].port), "--rename-command", "CONFIG", ""],
      }),
    );
    for (const i of [0, 1]) {
      await until(`replica of backend ${i} attached`, 10_000, async () => {
        const role = (await f.direct(i).call("ROLE")) as unknown[];
        return (role[2] as unknown[]).length > 0 ? true : undefined;
      });
    }
    const c = await RawClient.connect(f.port);
    try {
      const reply = await c.call(["CONFIG", "SET", "zset-max-listpack-entries", "7"]);
      match(reply, /^-ERR CONFIG SET failed on 1 of 4 servers \(/);
      ok(reply.includes(`${replicas[1].addr} (replica): ERR unknown command 'CONFIG'`), reply);
      ok(!reply.includes(replicas[0].addr), reply);
    } finally {
      c.close();
    }
    for (const port of [f.backends[0].port, f.backends[1].port, replicas[0].port]) {
      const c = await RawClient.connect(port);
      try {
        match(await c.call(["CONFIG", "GET", "zset-max-listpack-entries"]), /\r\n7\r\n$/, `server on ${port}`);
      } finally {
        c.close();
      }
    }
  } finally {
    for (const r of replicas) await r.stop();
    await f.stop();
  }
});

Deno.test("PFSELFTEST runs on a master; PFDEBUG routes by its key", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["PFSELFTEST"],
      ["PFSELFTEST", "extra"],
      ["PFADD", "hll", "a", "b", "c"],
      ["PFDEBUG", "ENCODING", "hll"],
      ["PFDEBUG", "TODENSE", "hll"],
      ["PFDEBUG", "ENCODING", "hll"],
      ["PFCOUNT", "hll"],
      ["PFDEBUG", "GETREG", "missing"],
      ["PFDEBUG", "NOSUCH", "hll"],
      ["PFDEBUG", "ENCODING"],
    ]);
  });
});

Deno.test("LOLWUT and the HELP of OBJECT, XINFO, XGROUP, CONFIG, MEMORY come from a master", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["OBJECT", "HELP"],
      ["XINFO", "HELP"],
      ["XGROUP", "HELP"],
      ["CONFIG", "HELP"],
      ["MEMORY", "HELP"],
      ["LOLWUT", "VERSION", "x"],
      { cmd: ["LOLWUT", "VERSION", "5", "1", "1"], norm: (s) => s.slice(s.lastIndexOf("Georg")) },
    ]);
  });
});

Deno.test("EVAL / EVALSHA / FCALL / FCALL_RO with no keys run on one master", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    const lib = "#!lua name=proxylib\nredis.register_function('hi', function() return 'hi' end)\n" +
      "redis.register_function{function_name='ro', callback=function() return 7 end, flags={'no-writes'}}";
    await diffCommands(f.port, r.port, [
      ["EVAL", "return 1", "0"],
      ["EVAL", "return redis.call('ping')", "0"],
      ["EVAL", "return ARGV[1]", "0", "arg"],
      ["EVAL_RO", "return 2", "0"],
      ["SCRIPT", "LOAD", "return 'loaded'"],
      ["EVALSHA", "f6a3b9e0ad1b3a1c8c7d1e7a0c4f0c0f6f2b9a18", "0"], // unknown sha: NOSCRIPT
      ["FUNCTION", "LOAD", lib],
      ["FCALL", "hi", "0"],
      ["FCALL_RO", "ro", "0"],
      ["FCALL", "nosuch", "0"],
      ["FUNCTION", "DELETE", "proxylib"],
    ]);
    // The script's SHA, then EVALSHA with no keys.
    const c = await RawClient.connect(f.port);
    try {
      const sha = (await c.call(["SCRIPT", "LOAD", "return 'loaded'"])).split("\r\n")[1];
      equal(await c.call(["EVALSHA", sha, "0"]), "$6\r\nloaded\r\n");
    } finally {
      c.close();
    }
  });
});

Deno.test("CLIENT REPLY OFF / ON / SKIP in a pipeline, replies in order, as Redis", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    const cmds = [
      ["SET", "a", "1"],
      ["CLIENT", "REPLY", "OFF"],
      ["GET", "a"],
      ["INCR", "a"],
      ["NOSUCHCOMMAND"],
      ["GET", "b"], // another slot: its reply comes from the other group
      ["CLIENT", "REPLY", "SKIP"], // ignored while OFF
      ["CLIENT", "REPLY", "ON"],
      ["GET", "a"],
      ["CLIENT", "REPLY", "SKIP"],
      ["GET", "a"],
      ["MGET", "a", "b", "c"],
      ["CLIENT", "REPLY", "SKIP"],
      ["CLIENT", "REPLY", "SKIP"],
      ["GET", "a"],
      ["CLIENT", "REPLY", "SKIP"],
      ["CLIENT", "REPLY", "ON"],
      ["CLIENT", "REPLY", "BOGUS"],
      ["CLIENT", "REPLY", "OFF"],
      ["RESET"],
      ["ECHO", "end"],
    ];
    const input = respPipeline(cmds);
    const want = await pipelineExchange(r.port, input, "$3\r\nend\r\n");
    const got = await pipelineExchange(f.port, input, "$3\r\nend\r\n");
    equal(got, want);
    equal(
      want,
      "+OK\r\n+OK\r\n$1\r\n2\r\n*3\r\n$1\r\n2\r\n$-1\r\n$-1\r\n+OK\r\n-ERR syntax error\r\n+RESET\r\n$3\r\nend\r\n",
    );
  });
});

/**
 * One subscriber's exchange: `steps` alternate pipelines and the text their output ends with. A pipeline is sent on
 * the subscriber, or, when it is a PUBLISH, on another connection (its reply is noted). Returns what was read after
 * HELLO 3's reply (when `hello`), whose server fields differ between Redis and the proxy.
 */
async function subscriberExchange(port: number, hello: boolean, steps: (string[][] | string)[]): Promise<string> {
  const sub = await Deno.connect({ hostname: "127.0.0.1", port });
  const pub = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    if (hello) {
      await sub.write(new TextEncoder().encode(respPipeline([["HELLO", "3"]])));
      await readUntil(sub, (s) => s.endsWith("$7\r\nmodules\r\n*0\r\n"));
    }
    let text = "";
    for (let i = 0; i < steps.length; i += 2) {
      const step = steps[i] as string[][];
      const end = steps[i + 1] as string;
      if (step[0][0] === "PUBLISH") {
        await pub.write(new TextEncoder().encode(respPipeline(step)));
        text += `(published: ${await readUntil(pub, (s) => s.endsWith("\r\n"))})`;
      } else {
        await sub.write(new TextEncoder().encode(respPipeline(step)));
      }
      text += await readUntil(sub, (s) => s.endsWith(end));
    }
    return text;
  } finally {
    sub.close();
    pub.close();
  }
}

Deno.test("CLIENT REPLY OFF / SKIP leaves Pub/Sub confirmations and messages written, as Redis 7.0", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    // RESP2: OFF, then SUBSCRIBE; errors and PING are dropped, pushes are not.
    const resp2: (string[][] | string)[] = [
      [["CLIENT", "REPLY", "OFF"], ["SUBSCRIBE", "ch", "other"]],
      "other\r\n:2\r\n",
      [["PUBLISH", "ch", "m1"]],
      "m1\r\n",
      // UNSUBSCRIBE names the channels: with none, Redis answers in its hash table's order, which varies.
      [["PING"], ["SUBSCRIBE"], ["UNSUBSCRIBE", "ch", "other"], ["CLIENT", "REPLY", "ON"], ["ECHO", "end"]],
      "$3\r\nend\r\n",
    ];
    const want2 = await subscriberExchange(r.port, false, resp2);
    equal(await subscriberExchange(f.port, false, resp2), want2);
    equal(
      want2,
      "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n" +
        "(published: :1\r\n)*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nm1\r\n" +
        "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$5\r\nother\r\n:0\r\n" +
        "+OK\r\n$3\r\nend\r\n",
    );
    // RESP3: SKIP and OFF while subscribed; a message does not use up the SKIP.
    const resp3: (string[][] | string)[] = [
      [["SUBSCRIBE", "ch"], ["CLIENT", "REPLY", "SKIP"]],
      "ch\r\n:1\r\n",
      [["PUBLISH", "ch", "m1"]],
      "m1\r\n",
      [["PING"], ["CLIENT", "REPLY", "OFF"], ["UNSUBSCRIBE", "ch"], ["PSUBSCRIBE", "c*"], ["PING"]],
      "c*\r\n:1\r\n",
      [["PUBLISH", "ch", "m2"]],
      "m2\r\n",
      [["PUNSUBSCRIBE"], ["CLIENT", "REPLY", "ON"], ["ECHO", "end"]],
      "$3\r\nend\r\n",
    ];
    const want3 = await subscriberExchange(r.port, true, resp3);
    equal(await subscriberExchange(f.port, true, resp3), want3);
    ok(want3.includes(">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nm2\r\n"), want3);
    ok(!want3.includes("PONG") && !want3.includes("pong"), want3);
  });
});

Deno.test("protocol errors have Redis's texts, our stricter limits included", async () => {
  await withProxyAndRedis(1, { session_max_args: 1000, session_max_bulk_len: 1 << 20 }, async (f, r) => {
    const cases = [
      "*x\r\n",
      "*3000000000\r\n", // beyond Redis's INT_MAX
      "*1001\r\n", // beyond session_max_args, within Redis's range: still Redis's text for an out-of-range count
      "*1\r\n$-5\r\n",
      "*1\r\n!!!\r\n",
      "*1\r\n$99999999999\r\n",
    ];
    for (const input of cases) {
      // Redis waits for the arguments of a count it accepts: a short wait shows it answered nothing.
      const want = await pipelineExchange(r.port, input, "\r\n", input === "*1001\r\n" ? 500 : 5000);
      const got = await pipelineExchange(f.port, input, "\r\n");
      if (input === "*1001\r\n") {
        equal(want, "");
        equal(got, "-ERR Protocol error: invalid multibulk length\r\n");
        continue;
      }
      equal(got, want, JSON.stringify(input));
    }
    // A bulk over session_max_bulk_len (but within Redis's proto-max-bulk-len): Redis's wording for a bad length.
    equal(await pipelineExchange(f.port, "*1\r\n$2000000\r\n", "\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
  });
});

/**
 * Waits until one client is blocked on one of the Redis servers at `ports`: for the proxy, its session is counted
 * blocked before its command reaches the backend, and the test's next write must come after the backend blocked.
 */
async function blockedAtServer(ports: number[]): Promise<void> {
  await until("client blocked at the server", 5000, async () => {
    for (const port of ports) {
      const c = await RawClient.connect(port);
      try {
        if (/blocked_clients:1\r\n/.test(await c.call(["INFO", "clients"]))) return true;
      } finally {
        c.close();
      }
    }
    return undefined;
  });
}

Deno.test("a blocked client gets Redis's error when its stream is deleted or replaced", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    for (const port of [r.port, f.port]) {
      const a = await RawClient.connect(port);
      const b = await RawClient.connect(port);
      try {
        const got: string[] = [];
        for (const replace of [false, true]) {
          equal(await a.call(["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]), "+OK\r\n");
          const blocked = b.call(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"], 5000);
          await blockedAtServer(port === f.port ? f.backends.map((x) => x.port) : [r.port]);
          equal(await a.call(["DEL", "s"]), ":1\r\n");
          if (replace) await a.call(["SET", "s", "string"]);
          got.push(await blocked);
          await a.call(["DEL", "s"]);
        }
        equal(got[0], "-UNBLOCKED the stream key no longer exists\r\n", `port ${port}`);
        equal(got[1], got[0], `port ${port}`);
        // BLPOP on a key that becomes a string keeps waiting, then times out.
        const pop = b.call(["BLPOP", "l", "1"], 5000);
        await blockedAtServer(port === f.port ? f.backends.map((x) => x.port) : [r.port]);
        await a.call(["SET", "l", "x"]);
        equal(await pop, "*-1\r\n", `port ${port}`);
        await a.call(["DEL", "l"]);
      } finally {
        a.close();
        b.close();
      }
    }
  });
});

Deno.test("argument errors come before the proxy's refusals, as Redis checks arguments first", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["SET", "{t}a", "1"],
      ["COPY", "{t}a", "{t}b", "DB", "notanumber"],
      ["COPY", "{t}a", "{t}b", "DB"],
      ["COPY", "{t}a", "{t}b", "BOGUS"],
      ["COPY", "{t}a", "{t}b", "DB", "99999999999"],
      ["MOVE", "{t}a", "notanumber"],
      ["SWAPDB", "x", "1"],
      ["SWAPDB", "0", "x"],
      ["FLUSHALL", "BOGUS"],
      ["FLUSHDB", "ASYNC", "x"],
      ["SELECT", "x"],
      ["COPY", "{t}a"],
      ["MOVE", "{t}a"],
      ["SORT", "{t}l", "BY", "w_*", "LIMIT", "0", "x"],
      ["SORT", "{t}l", "BY", "w_*", "BOGUS"],
      ["SORT_RO", "{t}l", "GET", "w_*", "STORE", "{t}d"],
      ["SHUTDOWN", "BOGUS"],
      ["SHUTDOWN", "ABORT", "NOW"],
      ["SHUTDOWN", "SAVE", "NOSAVE"],
      ["REPLICAOF", "127.0.0.1", "notaport"],
      ["SLAVEOF", "127.0.0.1", "70000"],
      ["BGSAVE", "BOGUS"],
      ["CLIENT", "TRACKING", "maybe"],
    ]);
    const c = await RawClient.connect(f.port);
    try {
      // Well-formed, they get the refusal.
      match(await c.call(["COPY", "{t}a", "{t}b", "DB", "1"]), /not supported by codis-proxy/);
      match(await c.call(["MOVE", "{t}a", "1"]), /not supported by codis-proxy/);
      match(await c.call(["SWAPDB", "0", "1"]), /not supported by codis-proxy/);
      match(await c.call(["FLUSHALL"]), /proxy_allow_flush = true/);
      match(await c.call(["SORT", "{t}l", "BY", "w_*", "LIMIT", "0", "1"]), /not supported by codis-proxy/);
      match(await c.call(["REPLICAOF", "NO", "ONE"]), /not supported by codis-proxy/);
    } finally {
      c.close();
    }
  });
});
