// COMMAND served from the table, compared with a live redis-server 7.0 (byte-exact where Redis's order is stable).
import assert from "node:assert/strict";
import { startRedis } from "../../testing/redis.ts";
import { decodeReply, redisCallRaw } from "./mini_resp.ts";
import { CommandTable } from "./mod.ts";
import { parseCommandReply, parseDocsReply } from "./parse.ts";
import { commandReply, globMatch } from "./reply.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function ours(table: CommandTable, args: string[]): Uint8Array {
  const a = args.map((s) => enc.encode(s));
  return commandReply(table, a, a.length);
}

function text(b: Uint8Array): string {
  return dec.decode(b);
}

function decoded(b: Uint8Array): unknown {
  return decodeReply(b)!.value;
}

Deno.test("globMatch follows Redis's stringmatch", () => {
  assert.ok(globMatch("client*", "client|kill"));
  assert.ok(globMatch("CL?ENT", "client"));
  assert.ok(globMatch("x[a-c]y", "xby"));
  assert.ok(!globMatch("x[^a-c]y", "xby"));
  assert.ok(globMatch("a\\*b", "a*b"));
  assert.ok(!globMatch("a*b", "ac"));
  assert.ok(globMatch("*", ""));
});

Deno.test("COMMAND replies match a live redis-server", async (t) => {
  const redis = await startRedis({ databases: 16 });
  const table = CommandTable.builtin();
  const theirs = (args: string[]) => redisCallRaw(redis.port, args);
  try {
    await t.step("byte-exact replies", async () => {
      const cases = [
        ["COMMAND", "INFO", "get", "xread", "sort", "eval", "nosuch", "object|encoding", "spublish", "SET"],
        ["COMMAND", "DOCS", "get", "set", "slaveof", "xread", "nosuch", "georadius", "config|get"],
        ["COMMAND", "HELP"],
        ["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"],
        ["COMMAND", "GETKEYS", "eval", "s", "0"],
        ["COMMAND", "GETKEYS", "ping", "x"],
        ["COMMAND", "GETKEYS", "get"],
        ["COMMAND", "GETKEYS", "object", "x"],
        ["COMMAND", "GETKEYS", "nosuch", "x"],
        ["COMMAND", "GETKEYS", "zunionstore", "d", "0", "x"],
        ["COMMAND", "GETKEYS", "sort", "a", "store", "b", "by", "c", "store", "d"],
        ["COMMAND", "GETKEYS", "xread", "count", "1", "foo"],
        ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"],
        ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "get"],
        ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "a", "get", "u8", "0"],
        ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "a", "set", "u8", "0", "1"],
        ["COMMAND", "GETKEYSANDFLAGS", "sort", "a", "store", "b"],
        ["COMMAND", "GETKEYSANDFLAGS", "lmove", "a", "b", "left", "right"],
        ["COMMAND", "GETKEYSANDFLAGS", "migrate", "h", "1", "", "0", "5", "KEYS", "a", "b"],
        ["COMMAND", "LIST", "bogus"],
        ["COMMAND", "LIST", "FILTERBY", "bogus", "x"],
        ["COMMAND", "LIST", "FILTERBY", "module", "x"],
        ["COMMAND", "COUNT", "x"],
        ["COMMAND", "NOPE"],
      ];
      for (const c of cases) assert.equal(text(ours(table, c)), text(await theirs(c)), c.join(" "));
    });

    await t.step("RESP3 replies (after HELLO 3) are byte-exact too", async () => {
      const cases = [
        ["COMMAND", "INFO", "get", "xread", "sort", "nosuch", "object|encoding"],
        ["COMMAND", "DOCS", "get", "set", "slaveof", "nosuch"],
        ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "get"],
        ["COMMAND", "COUNT"],
      ];
      for (const c of cases) {
        const a = c.map((s) => enc.encode(s));
        const mine = commandReply(table, a, a.length, true);
        const real = await redisCallRaw(redis.port, c, "127.0.0.1", [["HELLO", "3"]]);
        if (c[1] === "COUNT") {
          assert.equal(text(mine), `:${Number(text(real).slice(1)) + 4}\r\n`);
          continue;
        }
        assert.equal(text(mine), text(real), c.join(" "));
      }
    });

    await t.step("COMMAND and COMMAND INFO list the same facts (subcommand order aside)", async () => {
      const mine = parseCommandReply(decoded(ours(table, ["COMMAND"])));
      const real = parseCommandReply(decoded(await theirs(["COMMAND"])));
      const byName = new Map(real.map((c) => [c.name, c]));
      const proxyOnly = mine.filter((c) => !byName.has(c.name)).map((c) => c.name).sort();
      assert.deepEqual(proxyOnly, ["slotshashkey", "slotsinfo", "slotsmapping", "slotsscan"]);
      for (const c of mine) if (byName.has(c.name)) assert.deepEqual(c, byName.get(c.name), c.name);
      const count = decoded(ours(table, ["COMMAND", "COUNT"]));
      assert.equal(count, (decoded(await theirs(["COMMAND", "COUNT"])) as number) + 4);
      const info = parseCommandReply(decoded(ours(table, ["COMMAND", "INFO", "config", "client"])));
      const infoReal = parseCommandReply(decoded(await theirs(["COMMAND", "INFO", "config", "client"])));
      assert.deepEqual(info, infoReal);
    });

    await t.step("COMMAND DOCS (all) equals Redis's docs", async () => {
      const mine = parseDocsReply(decoded(ours(table, ["COMMAND", "DOCS"])));
      const real = parseDocsReply(decoded(await theirs(["COMMAND", "DOCS"])));
      for (const n of Object.keys(real)) assert.deepEqual(mine[n], real[n], n);
      assert.equal(Object.keys(mine).length, Object.keys(real).length + 4);
    });

    await t.step("COMMAND LIST (with filters) names the same commands", async () => {
      for (
        const args of [
          ["COMMAND", "LIST"],
          ["COMMAND", "LIST", "FILTERBY", "PATTERN", "client*"],
          ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "hyperloglog"],
          ["COMMAND", "LIST", "FILTERBY", "pattern", "*|HELP"],
        ]
      ) {
        const mine = (decoded(ours(table, args)) as Uint8Array[]).map((b) => dec.decode(b)).sort();
        const real = (decoded(await theirs(args)) as Uint8Array[]).map((b) => dec.decode(b)).sort();
        assert.deepEqual(mine.filter((n) => !n.startsWith("slots")), real, args.join(" "));
      }
    });
  } finally {
    await redis.stop();
  }
});
