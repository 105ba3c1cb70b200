import assert from "node:assert/strict";
import {
  callRefusal,
  checkArity,
  CLOSE_CONNECTION,
  CMD_BLOCKING,
  CMD_CONTAINER,
  CMD_READ,
  CMD_WRITE,
  CommandTable,
  formatRefused,
  formatWrongArity,
  isBlockingCall,
  isUnknownSubcommand,
  precheckReply,
  REASONS,
  refusedReply,
} from "./mod.ts";
import { policyMarkdown } from "./describe.ts";

const enc = new TextEncoder();
const table = CommandTable.builtin();
const out = new Int32Array(64);

function argv(line: string): Uint8Array[] {
  return line.split(" ").map((s) => enc.encode(s === "''" ? "" : s));
}

function keys(line: string, t = table): number[] | -1 {
  const a = argv(line);
  const info = t.lookup(a, a.length);
  assert.ok(info, `lookup ${line}`);
  const n = t.keyPositions(info, a, a.length, out);
  return n < 0 ? -1 : [...out.subarray(0, n)];
}

Deno.test("lookup is case-insensitive on bytes", () => {
  for (const n of ["get", "GET", "Get", "gEt"]) {
    const a = [enc.encode(n), enc.encode("k")];
    assert.equal(table.lookup(a, 2)?.name, "get");
  }
  assert.equal(table.lookup([enc.encode("zunionstore")], 1)?.name, "zunionstore");
  assert.equal(table.lookup([enc.encode("restore-asking")], 1)?.name, "restore-asking");
  assert.equal(table.lookup([enc.encode("ge")], 1), undefined);
  assert.equal(table.lookup([enc.encode("gett")], 1), undefined);
  assert.equal(table.lookup([enc.encode("")], 1), undefined);
  assert.equal(table.lookup([new Uint8Array([0xc7, 0xc5, 0xd4])], 1), undefined); // 'GET' | 0x80
  assert.equal(table.lookup([enc.encode("x".repeat(1000))], 1), undefined);
  assert.equal(table.lookup([], 0), undefined);
  // every command resolves through its own bytes
  for (const c of table.all()) {
    const a = [enc.encode(c.name.toUpperCase())];
    assert.equal(table.lookup(a, 1), c, c.name);
  }
});

Deno.test("container commands resolve to their subcommand", () => {
  const cases: [string, string][] = [
    ["object encoding k", "object|encoding"],
    ["OBJECT ENCODING k", "object|encoding"],
    ["xinfo stream s", "xinfo|stream"],
    ["memory usage k", "memory|usage"],
    ["client setname x", "client|setname"],
    ["Client Kill x", "client|kill"],
    ["config get x", "config|get"],
    ["command count", "command|count"],
    ["xgroup create s g $", "xgroup|create"],
    ["script load x", "script|load"],
  ];
  for (const [line, name] of cases) {
    const a = argv(line);
    const info = table.lookup(a, a.length);
    assert.equal(info?.name, name, line);
    assert.equal(isUnknownSubcommand(info!, a.length), false);
  }
  const bare = table.lookup(argv("object"), 1)!;
  assert.equal(bare.name, "object");
  assert.ok(bare.flags & CMD_CONTAINER);
  assert.equal(checkArity(bare, 1), false);
  assert.equal(formatWrongArity(bare), "ERR wrong number of arguments for 'object' command");
  const unk = table.lookup(argv("object nope k"), 3)!;
  assert.equal(unk.name, "object");
  assert.ok(isUnknownSubcommand(unk, 3));
  assert.equal(table.get("OBJECT ENCODING")?.displayName, "OBJECT ENCODING");
  assert.equal(table.get("object|encoding")?.parent?.name, "object");
});

Deno.test("keyPositions follow Redis key specs", () => {
  assert.deepEqual(keys("GET k"), [1]);
  assert.deepEqual(keys("SET k v EX 10"), [1]);
  assert.deepEqual(keys("MGET a b c"), [1, 2, 3]);
  assert.deepEqual(keys("MSET a 1 b 2 c 3"), [1, 3, 5]);
  assert.deepEqual(keys("DEL a b"), [1, 2]);
  assert.deepEqual(keys("EVAL s 2 a b x y"), [3, 4]);
  assert.deepEqual(keys("EVALSHA sha 1 a x"), [3]);
  assert.deepEqual(keys("EVAL s 0 x"), []);
  assert.equal(keys("EVAL s 3 a"), -1);
  assert.equal(keys("EVAL s x a"), -1);
  assert.equal(keys("EVAL s -1 a"), -1);
  assert.deepEqual(keys("FCALL f 2 a b"), [3, 4]);
  assert.deepEqual(keys("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), [1, 3, 4]);
  assert.deepEqual(keys("ZINTERSTORE d 1 a"), [1, 3]);
  assert.equal(keys("ZUNIONSTORE d 0 a"), -1);
  assert.equal(keys("ZUNIONSTORE d 5 a"), -1);
  assert.deepEqual(keys("ZUNION 2 a b"), [2, 3]);
  assert.deepEqual(keys("XREAD COUNT 2 STREAMS s1 s2 0 0"), [4, 5]);
  assert.deepEqual(keys("XREAD BLOCK 0 STREAMS s1 $"), [4]);
  assert.deepEqual(keys("XREADGROUP GROUP g c COUNT 1 STREAMS s1 s2 > >"), [7, 8]);
  assert.equal(keys("XREAD COUNT 2 s1 0"), -1);
  assert.equal(keys("XREAD COUNT 1 STREAMS"), -1);
  assert.deepEqual(keys("SORT k"), [1]);
  assert.deepEqual(keys("SORT k BY w_* LIMIT 0 10 GET o_* STORE dst"), [1, 10]);
  assert.deepEqual(keys("SORT k STORE d1 BY x STORE d2"), [1, 7]);
  assert.deepEqual(keys("SORT k BY store"), [1]);
  assert.deepEqual(keys("SORT_RO k BY x"), [1]);
  assert.deepEqual(keys("GEORADIUS k 1 2 3 m"), [1]);
  assert.deepEqual(keys("GEORADIUS k 1 2 3 m STORE d"), [1, 7]);
  assert.deepEqual(keys("GEORADIUS k 1 2 3 m COUNT 5 STOREDIST d"), [1, 9]);
  assert.deepEqual(keys("GEORADIUSBYMEMBER k m 3 km store d"), [1, 6]);
  assert.deepEqual(keys("MIGRATE h 1 k 0 100"), [3]);
  assert.deepEqual(keys("MIGRATE h 1 '' 0 100 COPY AUTH keys KEYS a b"), [10, 11]);
  assert.deepEqual(keys("OBJECT ENCODING k"), [2]);
  assert.deepEqual(keys("OBJECT HELP"), []);
  assert.deepEqual(keys("XINFO STREAM s FULL"), [2]);
  assert.deepEqual(keys("XGROUP CREATE s g $"), [2]);
  assert.deepEqual(keys("MEMORY USAGE k"), [2]);
  assert.deepEqual(keys("BITOP AND d a b c"), [2, 3, 4, 5]);
  assert.deepEqual(keys("LMPOP 2 a b LEFT"), [2, 3]);
  assert.equal(keys("LMPOP 0 a LEFT"), -1);
  assert.deepEqual(keys("BLMPOP 0 2 a b LEFT"), [3, 4]);
  assert.deepEqual(keys("SINTERCARD 2 a b LIMIT 1"), [2, 3]);
  assert.deepEqual(keys("RPOPLPUSH a b"), [1, 2]);
  assert.deepEqual(keys("BLMOVE a b LEFT RIGHT 0"), [1, 2]);
  assert.deepEqual(keys("PING"), []);
  assert.deepEqual(keys("SPUBLISH ch m"), [1]);
  // a too-small output buffer is reported, never overrun
  const a = argv("MGET a b c");
  assert.equal(table.keyPositions(table.lookup(a, 4)!, a, 4, new Int32Array(2)), -1);
  // argc shorter than argv.length: only the first argc arguments count
  const b = argv("MGET a b c d");
  assert.equal(table.keyPositions(table.lookup(b, 3)!, b, 3, out), 2);
});

Deno.test("arity checks", () => {
  const get = table.get("get")!;
  assert.equal(checkArity(get, 2), true);
  assert.equal(checkArity(get, 1), false);
  assert.equal(checkArity(get, 3), false);
  const mget = table.get("mget")!;
  assert.equal(checkArity(mget, 1), false);
  assert.equal(checkArity(mget, 2), true);
  assert.equal(checkArity(mget, 100), true);
  assert.equal(checkArity(table.get("slotsscan")!, 2), false);
  assert.equal(checkArity(table.get("slotsscan")!, 3), true);
  assert.equal(
    formatWrongArity(table.get("object|encoding")!),
    "ERR wrong number of arguments for 'object|encoding' command",
  );
});

Deno.test("flags come from Redis", () => {
  assert.ok(table.get("get")!.flags & CMD_READ);
  assert.ok(table.get("set")!.flags & CMD_WRITE);
  assert.ok(table.get("blpop")!.flags & CMD_BLOCKING);
  assert.equal(table.size(), 246); // 240 Redis 7.0 commands + 6 proxy entries
});

Deno.test("policy: split, local, forward, refused", () => {
  for (const n of ["mget", "mset", "del", "unlink", "exists", "touch"]) assert.equal(table.get(n)!.policy, "split", n);
  for (
    const n of [
      "ping",
      "echo",
      "quit",
      "auth",
      "select",
      "hello",
      "info",
      "client|setname",
      "client|getname",
      "client|id",
      "slotsmapping",
      "slotshashkey",
      "slotsinfo",
      "slotsscan",
      "command",
      "command|count",
      "command|info",
      "command|docs",
      "command|getkeys",
      "client|info",
      "client|no-evict",
      "keys",
      "scan",
      "dbsize",
      "randomkey",
      "flushall",
      "flushdb",
      "script|load",
      "function|load",
      "config|get",
      "config|set",
      "config|resetstat",
      "pfselftest",
      "lolwut",
      "object|help",
      "xinfo|help",
      "client|reply",
      "time",
      "lastsave",
      "role",
      "wait",
      "reset",
      "multi",
      "exec",
      "discard",
      "watch",
      "unwatch",
      "subscribe",
      "psubscribe",
      "ssubscribe",
      "unsubscribe",
      "publish",
      "pubsub|channels",
    ]
  ) assert.equal(table.get(n)!.policy, "local", n);
  for (
    const n of [
      "get",
      "set",
      "eval",
      "evalsha",
      "fcall",
      "fcall_ro",
      "xread",
      "xreadgroup",
      "object|encoding",
      "xinfo|stream",
      "memory|usage",
      "pfdebug",
      "bitop",
      "msetnx",
      "sort",
      "rename",
      "spublish",
      "blpop",
      "brpop",
      "blmove",
      "blmpop",
      "brpoplpush",
      "bzpopmin",
      "bzpopmax",
      "bzmpop",
    ]
  ) assert.equal(table.get(n)!.policy, "forward", n);
  const refused: [string, string][] = [
    ["client|tracking", REASONS.tracking],
    ["move", REASONS.databases],
    ["swapdb", REASONS.databases],
    ["migrate", REASONS.cluster],
    ["restore-asking", REASONS.cluster],
    ["cluster|info", REASONS.cluster],
    ["sync", REASONS.replication],
    ["config|rewrite", REASONS.admin],
    ["memory|stats", REASONS.admin],
    ["client|unblock", REASONS.client],
    ["host:", REASONS.http],
    ["post", REASONS.http],
  ];
  for (const [n, reason] of refused) {
    const info = table.get(n)!;
    assert.equal(info.policy, "refused", n);
    assert.equal(info.reason, reason, n);
  }
  assert.equal(table.get("post")!.closeConnection, true);
  assert.equal(table.get("eval")!.keylessAnywhere, true);
  assert.equal(table.get("get")!.keylessAnywhere, false);
  assert.equal(table.get("get")!.noKeysReason, REASONS.keyless);
  assert.equal(
    formatRefused(table.get("client|unblock")!),
    "ERR command 'CLIENT UNBLOCK' is not supported by codis-proxy: " + REASONS.client,
  );
});

Deno.test("every refused command has a one-line reason", () => {
  let refused = 0;
  for (const info of table.allWithSubcommands()) {
    if (info.policy !== "refused") {
      assert.equal(info.reason, undefined, info.name);
      continue;
    }
    refused++;
    assert.ok(info.reason && info.reason.length > 10 && !info.reason.includes("\n"), info.name);
  }
  assert.ok(refused > 50);
});

Deno.test("keyed commands are forwarded unless a rule says otherwise", () => {
  for (const info of table.allWithSubcommands()) {
    if (info.policy !== "forward" || (info.flags & CMD_CONTAINER)) continue;
    assert.ok(info.keySpecs.length > 0, `${info.name} is forwarded but has no keys`);
  }
});

Deno.test("callRefusal: per-call refusals of forwarded commands", () => {
  const call = (line: string) => {
    const a = argv(line);
    return callRefusal(table.lookup(a, a.length)!, a, a.length);
  };
  assert.equal(call("GET a"), undefined);
  assert.equal(call("COPY a b"), undefined);
  assert.equal(call("COPY a b REPLACE"), undefined);
  assert.equal(call("COPY a b db 3"), REASONS.copyDb);
  assert.equal(call("XREAD STREAMS s 0"), undefined);
  assert.equal(call("XREAD BLOCK 10 STREAMS s 0"), REASONS.blocking);
  assert.equal(call("BLPOP a 0"), REASONS.blocking);
});

Deno.test("isBlockingCall", () => {
  const call = (line: string) => {
    const a = argv(line);
    return isBlockingCall(table.lookup(a, a.length)!, a, a.length);
  };
  assert.equal(call("BLPOP a 0"), true);
  assert.equal(call("GET a"), false);
  assert.equal(call("XREAD STREAMS s 0"), false);
  assert.equal(call("XREAD COUNT 1 BLOCK 0 STREAMS s 0"), true);
  assert.equal(call("xread block 100 streams s $"), true);
  assert.equal(call("XREAD COUNT block STREAMS s 0"), false);
  assert.equal(call("XREAD STREAMS block 0"), false);
  assert.equal(call("XREADGROUP GROUP block c STREAMS s >"), false);
  assert.equal(call("XREADGROUP GROUP g c BLOCK 5 STREAMS s >"), true);
});

Deno.test("policyMarkdown names every refused command and reason", () => {
  const md = policyMarkdown(table);
  for (const info of table.allWithSubcommands()) {
    if (info.policy !== "refused" || info.name === "host:" || info.name === "post") continue;
    assert.ok(md.includes(info.reason!), info.name);
    const top = info.parent ?? info;
    assert.ok(md.includes(info.displayName) || md.includes(`${top.displayName} *`), info.name);
  }
});

Deno.test("precheckReply: Redis's order and texts, then refusals", () => {
  const dec = new TextDecoder();
  const pre = (line: string) => {
    const a = argv(line);
    const r = precheckReply(table.lookup(a, a.length), a, a.length);
    return r === null || r === CLOSE_CONNECTION ? r : dec.decode(r);
  };
  assert.equal(pre("GET k"), null);
  assert.equal(pre("MGET a b"), null);
  assert.equal(pre("nosuch a"), "-ERR unknown command 'nosuch', with args beginning with: 'a' \r\n");
  assert.equal(pre("GET"), "-ERR wrong number of arguments for 'get' command\r\n");
  assert.equal(pre("OBJECT"), "-ERR wrong number of arguments for 'object' command\r\n");
  assert.equal(pre("object nope k"), "-ERR unknown subcommand 'nope'. Try OBJECT HELP.\r\n");
  assert.equal(pre("OBJECT ENCODING"), "-ERR wrong number of arguments for 'object|encoding' command\r\n");
  assert.equal(pre("KEYS *"), null);
  assert.equal(pre("SYNC"), `-ERR command 'SYNC' is not supported by codis-proxy: ${REASONS.replication}\r\n`);
  assert.equal(pre("MONITOR"), null);
  assert.equal(
    pre("client unblock 1"),
    `-ERR command 'CLIENT UNBLOCK' is not supported by codis-proxy: ${REASONS.client}\r\n`,
  );
  assert.equal(pre("POST /x HTTP/1.1"), CLOSE_CONNECTION);
  assert.equal(pre("Host: example.com"), CLOSE_CONNECTION);
  assert.equal(pre("COMMAND"), null);
  assert.equal(pre("client setname x"), null);
  const move = table.get("move")!;
  assert.equal(
    new TextDecoder().decode(refusedReply(move, REASONS.keyless)),
    `-ERR command 'MOVE' is not supported by codis-proxy: ${REASONS.keyless}\r\n`,
  );
});
