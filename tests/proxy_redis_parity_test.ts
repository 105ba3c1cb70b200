/**
 * What clients see through codis-proxy compared with a direct redis-server: each case here was a difference
 * (a hang, a wrong reply, an accepted malformed request), checked against Redis 7.0 itself.
 */
import { equal, match, notEqual } from "node:assert/strict";
import { slotOf } from "../models/hash.ts";
import { readUntil } from "../testing/proxy.ts";
import { withProxyAndRedis } from "../testing/proxy_vs_redis.ts";
import { diffCommands, RawClient } from "../testing/resp_diff.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Sends raw bytes on a new connection and returns everything read until `want` bytes arrived or a short timeout. */
async function rawExchange(port: number, input: string, want: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc(input));
    return await readUntil(conn, (s) => s.length >= want, 3000);
  } finally {
    conn.close();
  }
}

Deno.test("semantics: MSET/MSETNX with a key missing its value across slots get Redis's arity error, no hang", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    notEqual(slotOf(enc("k1")), slotOf(enc("k2")));
    notEqual(slotOf(enc("k1")), slotOf(enc("k3")));
    const many = Array.from({ length: 40 }, (_, i) => [`odd:${i}`, "v"]).flat(); // the Map-grouping split path
    await diffCommands(f.port, r.port, [
      ["MSET", "k1", "x", "k2"],
      ["MSET", "k1", "x", "k2", "y", "k3"],
      ["MSET", ...many, "odd:last"],
      ["MSETNX", "k1", "x", "k2"],
      ["MGET", "k1", "k2", "k3", "odd:0"],
      ["MSET", "k1", "1", "k2", "2"],
      ["MGET", "k1", "k2"],
      ["PING"],
    ]);
  });
});

Deno.test("semantics: PING with two arguments is an arity error, also while subscribed", async () => {
  await withProxyAndRedis(1, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["PING", "a", "b"],
      ["PING", "a"],
      ["SUBSCRIBE", "semantics:ch"],
      ["PING", "a", "b"],
      ["PING", "a"],
    ]);
  });
});

Deno.test("semantics: a numkeys of -0 is not an integer, as in Redis", async () => {
  await withProxyAndRedis(1, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["EVAL", "return 1", "-0", "a"],
      ["ZUNIONSTORE", "{z}d", "-0", "{z}a"],
      ["LMPOP", "-0", "a", "LEFT"],
    ]);
  });
});

Deno.test("semantics: CLIENT NO-EVICT and HELLO ... SETNAME check their arguments; a bad HELLO changes nothing", async () => {
  await withProxyAndRedis(1, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["CLIENT", "NO-EVICT", "bogus"],
      ["CLIENT", "NO-EVICT", "On"],
      ["HELLO", "3", "SETNAME", "a b"],
      ["CLIENT", "GETNAME"],
      ["GET", "semantics:none"], // `$-1` in RESP2, `_` had HELLO switched to RESP3
      { cmd: ["HELLO", "2", "SETNAME", "ok-name"], norm: (s) => s.slice(0, 4) }, // ids and versions differ
      ["CLIENT", "GETNAME"],
    ]);
  });
});

Deno.test("semantics: inline commands split like Redis's sdssplitargs (\\xHH, \\', quotes inside a word)", async () => {
  await withProxyAndRedis(1, {}, async (f, r) => {
    const lines = [
      'ECHO "a\\x41\\n\\x4g\\b\\a\\z"',
      "ECHO 'a\\'b'",
      "ECHO 'a\\nb'",
      'ECHO a"b c"',
      "ECHO a''",
      'ECHO "\\xFF\\x00"',
      'ECHO x"y"z',
      'ECHO "x"\x0b',
      "PING",
    ];
    for (const line of lines) {
      const input = `${line}\r\n`;
      const want = await rawExchange(r.port, input, 1);
      const got = await rawExchange(f.port, input, want.length);
      equal(got, want, `${JSON.stringify(line)}: proxy ${JSON.stringify(got)} vs redis ${JSON.stringify(want)}`);
    }
  });
});

Deno.test("semantics: SORT BY/GET patterns that may name keys of other slots are refused, not answered wrong", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    const setup = [
      ["RPUSH", "lst", "1", "2", "3"],
      ["RPUSH", "{l}lst", "1", "2", "3"],
      ...["1", "2", "3"].flatMap((i) => [
        ["SET", `w_${i}`, String(4 - Number(i))],
        ["SET", `o_${i}`, `o${i}`],
        ["SET", `{l}w_${i}`, String(4 - Number(i))],
        ["SET", `{l}o_${i}`, `o${i}`],
      ]),
    ];
    // Patterns that stay in the key's slot, or read no key at all, answer as Redis does.
    await diffCommands(f.port, r.port, [
      ...setup,
      ["SORT", "{l}lst", "BY", "{l}w_*", "GET", "{l}o_*", "GET", "#"],
      ["SORT_RO", "{l}lst", "BY", "{l}w_*", "GET", "{l}o_*"],
      ["SORT", "lst", "BY", "nosort", "GET", "#"],
      ["SORT", "lst", "LIMIT", "0", "2", "DESC"],
      ["SORT", "{l}lst", "BY", "{l}w_*", "STORE", "{l}dst"],
      ["LRANGE", "{l}dst", "0", "-1"],
    ]);
    // Elsewhere the proxy would look the keys up in the wrong database and answer nils or a wrong order.
    const c = await RawClient.connect(f.port);
    try {
      for (
        const cmd of [
          ["SORT", "lst", "BY", "w_*"],
          ["SORT", "lst", "GET", "o_*"],
          ["SORT_RO", "lst", "GET", "#", "GET", "o_*"],
          ["SORT", "{l}lst", "GET", "{m}o_*"],
          ["SORT", "{l}lst", "GET", "o_*{l}"],
          ["SORT", "{l}lst", "BY", "{l*}w"],
        ]
      ) {
        match(await c.call(cmd), /^-ERR .*hash tag/, cmd.join(" "));
      }
    } finally {
      c.close();
    }
  });
});

Deno.test("semantics: after HELLO 3, CLIENT GETNAME, RANDOMKEY, CONFIG GET, COMMAND and INFO answer in RESP3 types", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      { cmd: ["HELLO", "3"], norm: (s) => s.slice(0, 4) }, // ids and versions differ
      ["CLIENT", "GETNAME"],
      ["RANDOMKEY"],
      ["CONFIG", "GET", "maxmemory-policy"],
      ["CONFIG", "GET", "no-such-parameter"],
      ["CLIENT", "SETNAME", "named"],
      ["CLIENT", "GETNAME"],
      ["SET", "semantics:k", "v"],
      ["RANDOMKEY"],
      ["COMMAND", "INFO", "get", "no-such-command"],
      ["COMMAND", "DOCS", "get"],
      { cmd: ["INFO", "server"], norm: (s) => s.replace(/^=\d+\r\ntxt:# Server\r\n[^]*$/, "verbatim") },
      { cmd: ["CLIENT", "INFO"], norm: (s) => s.replace(/^=\d+\r\ntxt:id=[^]*$/, "verbatim") },
    ]);
  });
});

Deno.test("semantics: SELECT with a non-integer gets Redis's error; only database 0 is served", async () => {
  await withProxyAndRedis(1, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["SELECT", "x"],
      ["SELECT", "00"],
      ["SELECT", "-0"],
      ["SELECT", "99999999999"],
      ["SELECT", "0"],
    ]);
    const c = await RawClient.connect(f.port);
    try {
      match(await c.call(["SELECT", "1"]), /^-ERR invalid DB index/);
      match(await c.call(["SELECT", "-1"]), /^-ERR invalid DB index/);
    } finally {
      c.close();
    }
  });
});

Deno.test("semantics: FUNCTION LIST and FUNCTION STATS answer a RESP3 session in RESP3 types", async () => {
  await withProxyAndRedis(1, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      { cmd: ["HELLO", "3"], norm: (s) => s.slice(0, 4) },
      ["FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f1', function() return 1 end)"],
      ["FUNCTION", "LIST"],
      ["FUNCTION", "STATS"],
      ["FCALL", "f1", "1", "k"],
    ]);
  });
});
