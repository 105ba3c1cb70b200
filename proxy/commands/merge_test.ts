// mergeCommandReply with module-style and pre-7 entries (the live-server merge is in live_test.ts).
import assert from "node:assert/strict";
import { CMD_MODULE, CommandTable, REASONS } from "./mod.ts";

const enc = new TextEncoder();
const b = (s: string) => enc.encode(s);

function keys(t: CommandTable, line: string): number[] | -1 {
  const a = line.split(" ").map(b);
  const info = t.lookup(a, a.length);
  assert.ok(info, line);
  const out = new Int32Array(16);
  const n = t.keyPositions(info, a, a.length, out);
  return n < 0 ? -1 : [...out.subarray(0, n)];
}

// A RESP2-decoded entry as our decoder gives it: bulk strings as bytes, flags as strings, maps flattened.
const moduleEntry = [
  b("json.mset"),
  -4,
  ["write", "denyoom", "module"],
  1,
  -1,
  3,
  [],
  [],
  [[
    b("flags"),
    ["RW", "update"],
    b("begin_search"),
    [b("type"), b("index"), b("spec"), [b("index"), 1]],
    b("find_keys"),
    [b("type"), b("range"), b("spec"), [b("lastkey"), -1, b("keystep"), 3, b("limit"), 0]],
  ]],
  [],
];
// Pre-7 servers: 7 fields, no key specs; keys from first/last/step.
const legacyEntry = ["ft.search", -3, ["readonly"], 1, 1, 1, ["@read"]];
const keylessModule = ["ft._list", 1, ["readonly"], 0, 0, 0, []];
// Container module command with a keyed subcommand (RESP3-style maps as Map objects).
const containerEntry = [
  "graph.config",
  -2,
  [],
  0,
  0,
  0,
  [],
  [],
  [],
  [[
    "graph.config|get",
    3,
    ["readonly"],
    2,
    2,
    1,
    [],
    [],
    [
      new Map<string, unknown>([
        ["flags", ["RO"]],
        ["begin_search", new Map<string, unknown>([["type", "index"], ["spec", new Map([["index", 2]])]])],
        [
          "find_keys",
          new Map<string, unknown>([["type", "range"], [
            "spec",
            new Map([["lastkey", 0], ["keystep", 1], ["limit", 0]]),
          ]]),
        ],
      ]),
    ],
    [],
  ]],
];

Deno.test("module commands merged from a COMMAND reply get key positions and policy", () => {
  const t = CommandTable.builtin();
  const before = t.size();
  const res = t.mergeCommandReply([moduleEntry, legacyEntry, keylessModule, containerEntry, null]);
  assert.deepEqual(res.added.sort(), ["ft._list", "ft.search", "graph.config", "json.mset"]);
  assert.equal(t.size(), before + 4);
  assert.deepEqual(keys(t, "JSON.MSET a $ 1 b $ 2"), [1, 4]);
  assert.equal(t.get("json.mset")!.policy, "forward");
  assert.ok(t.get("json.mset")!.flags & CMD_MODULE);
  assert.deepEqual(keys(t, "ft.search idx q"), [1]);
  assert.equal(t.get("ft._list")!.policy, "refused");
  assert.equal(t.get("ft._list")!.reason, REASONS.keyless);
  assert.deepEqual(keys(t, "GRAPH.CONFIG GET k"), [2]);
  assert.equal(t.lookup([b("graph.config"), b("get"), b("k")], 3)!.name, "graph.config|get");
  // builtin commands are still found after the rebuild
  assert.deepEqual(keys(t, "get k"), [1]);
  // merging again changes nothing
  assert.deepEqual(t.mergeCommandReply([moduleEntry, legacyEntry]), { added: [], updated: [] });
});

Deno.test("an older backend never downgrades key specs; a newer one updates them", () => {
  const t = CommandTable.builtin();
  // Redis 6 style GET: no key specs
  assert.deepEqual(t.mergeCommandReply([["get", 2, ["readonly", "fast"], 1, 1, 1, ["@read"]]]).updated, []);
  assert.deepEqual(keys(t, "EVAL s 1 k"), [3]);
  // a newer server reports a different arity and an extra subcommand for OBJECT
  const res = t.mergeCommandReply([[
    "object",
    -2,
    [],
    0,
    0,
    0,
    ["@slow"],
    [],
    [],
    [["object|newsub", 3, ["readonly"], 2, 2, 1, [], [], [[
      "flags",
      ["RO"],
      "begin_search",
      ["type", "index", "spec", ["index", 2]],
      "find_keys",
      ["type", "range", "spec", ["lastkey", 0, "keystep", 1, "limit", 0]],
    ]], []]],
  ]]);
  assert.deepEqual(res.updated, ["object"]);
  assert.deepEqual(keys(t, "OBJECT NEWSUB k"), [2]);
  assert.deepEqual(keys(t, "OBJECT ENCODING k"), [2]);
  // proxy-defined entries keep their definition
  t.mergeCommandReply([["slotsinfo", -1, ["readonly"], 0, 0, 0]]);
  assert.equal(t.get("slotsinfo")!.policy, "local");
});
