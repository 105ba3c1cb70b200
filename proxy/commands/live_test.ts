// Differential checks against a real redis-server 7: key positions vs COMMAND GETKEYS, the merged live COMMAND
// reply vs the committed snapshot, and the unknown-command error text.
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { startRedis } from "../../testing/redis.ts";
import { redisCall } from "./mini_resp.ts";
import { CommandTable, formatUnknownCommand, formatUnknownSubcommand } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const LINES = [
  "GET k",
  "SET k v EX 10",
  "MGET a b c",
  "MSET a 1 b 2",
  "DEL a b c",
  "EVAL s 2 a b x",
  "EVAL s 0",
  "EVALSHA sha 1 a",
  "FCALL f 1 a x",
  "ZUNIONSTORE d 2 a b WEIGHTS 1 2",
  "ZINTERSTORE d 1 a",
  "ZDIFF 2 a b",
  "XREAD COUNT 2 STREAMS s1 s2 0 0",
  "XREADGROUP GROUP g c STREAMS s >",
  "SORT k BY w LIMIT 0 1 GET o STORE d",
  "SORT_RO k",
  "GEORADIUS k 1 2 3 m STORE d",
  "GEORADIUSBYMEMBER k m 1 km STOREDIST d",
  "MIGRATE h 1 k 0 100",
  "MIGRATE h 1 '' 0 100 REPLACE KEYS a b c",
  "OBJECT ENCODING k",
  "XINFO STREAM s",
  "XGROUP CREATE s g $",
  "MEMORY USAGE k",
  "BITOP AND d a b",
  "LMPOP 2 a b LEFT",
  "BLMPOP 0 2 a b LEFT",
  "SINTERCARD 2 a b",
  "RENAME a b",
  "SMOVE a b m",
  "PFCOUNT a b",
  "LMOVE a b LEFT RIGHT",
  "COPY a b",
  "XCLAIM s g c 1 id",
  "BITFIELD k GET u8 0",
  "OBJECT FREQ k",
  "ZRANGESTORE d s 0 1",
  "GEOSEARCHSTORE d s FROMMEMBER m BYRADIUS 1 km",
  "ZUNIONSTORE d 0 a",
  "LMPOP 0 a LEFT",
  "XREAD COUNT 1 STREAMS",
  "XREAD COUNT 1 s 0",
];

function split(line: string): Uint8Array[] {
  return line.split(" ").map((s) => enc.encode(s === "''" ? "" : s));
}

/** Our positions as key names, or "error" when we report malformed arguments. */
function ours(table: CommandTable, line: string): string[] | "error" {
  const a = split(line);
  const info = table.lookup(a, a.length)!;
  const out = new Int32Array(32);
  const n = table.keyPositions(info, a, a.length, out, false);
  if (n < 0) return "error";
  return [...out.subarray(0, n)].map((i) => dec.decode(a[i]));
}

async function theirs(port: number, line: string): Promise<string[] | "error"> {
  const r = await redisCall(port, ["COMMAND", "GETKEYS", ...split(line)]);
  if (r instanceof Error) return "error";
  return (r as Uint8Array[]).map((b) => dec.decode(b));
}

Deno.test("key positions and error texts match a live redis-server", async (t) => {
  const redis = await startRedis({ databases: 16 });
  try {
    const builtin = CommandTable.builtin();

    await t.step("builtin table: positions equal COMMAND GETKEYS", async () => {
      for (const line of LINES) assert.deepEqual(ours(builtin, line), await theirs(redis.port, line), line);
    });

    await t.step("table built from a live COMMAND reply (bytes) gives the same positions", async () => {
      const reply = await redisCall(redis.port, ["COMMAND"]);
      const live = CommandTable.fromRaw([]);
      const res = live.mergeCommandReply(reply);
      assert.equal(res.added.length, 240);
      assert.equal(live.size(), 240);
      for (const line of LINES) assert.deepEqual(ours(live, line), ours(builtin, line), line);
      for (const c of builtin.all()) {
        const l = live.get(c.name);
        if (!l) continue; // proxy-only entries
        assert.equal(l.arity, c.arity, c.name);
        assert.equal(l.flags, c.flags, c.name);
        assert.equal(l.policy, c.policy, c.name);
      }
      // merging the same facts into the builtin table changes nothing
      const same = CommandTable.builtin();
      assert.deepEqual(same.mergeCommandReply(reply), { added: [], updated: [] });
    });

    await t.step("a live COMMAND reply through ioredis (strings) merges too", async () => {
      const client = new Redis({ port: redis.port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await client.connect();
        const reply = await client.call("COMMAND");
        const live = CommandTable.fromRaw([]);
        live.mergeCommandReply(reply);
        for (const line of LINES) assert.deepEqual(ours(live, line), ours(builtin, line), line);
      } finally {
        client.disconnect();
      }
    });

    await t.step("unknown command and subcommand texts are Redis's", async () => {
      const cases: (string | Uint8Array)[][] = [
        ["foo"],
        ["foo", "a", "b", "c"],
        ["FOO", ""],
        ["foo", "x".repeat(200), "b"],
        ["foo", "a".repeat(60), "b".repeat(60), "c".repeat(60), "d"],
        ["foo", "a\nb\rc", "x\0yz", "q"],
        ["f\0oo", "a"],
        ["y".repeat(200), "a"],
        ["foo", ...Array.from({ length: 100 }, (_, i) => `arg${i}`)],
      ];
      for (const c of cases) {
        const a = c.map((x) => typeof x === "string" ? enc.encode(x) : x);
        const r = await redisCall(redis.port, a);
        assert.ok(r instanceof Error);
        assert.equal(formatUnknownCommand(a, a.length), r.message);
      }
      for (const c of [["object", "nope", "k"], ["xInfo", "x\ny"], ["client", "z".repeat(300)]]) {
        const a = c.map((x) => enc.encode(x));
        const r = await redisCall(redis.port, a);
        assert.ok(r instanceof Error);
        assert.equal(formatUnknownSubcommand(a, a.length), r.message);
      }
    });
  } finally {
    await redis.stop();
  }
});
