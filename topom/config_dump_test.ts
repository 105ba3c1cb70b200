import assert from "node:assert/strict";
import { applyWrites } from "./context.ts";
import { configDump, restoreWrites, validateConfigV3 } from "./config_dump.ts";
import { buildModel } from "./testing.ts";

Deno.test("config dump: dump → validate → restore round-trips, offline slots included", () => {
  const m = buildModel({
    groups: { 1: ["a:1"], 2: ["b:1", "b:2"] },
    assign: [[0, 511, 1], [512, 1000, 2]],
    proxies: [{}],
  });
  const dump = configDump(m);
  assert.equal(dump.slots.length, 1024);
  const text = JSON.stringify(dump);
  const valid = validateConfigV3(JSON.parse(text));
  const restored = applyWrites(buildModel({}), restoreWrites(buildModel({}), valid));
  assert.deepEqual(configDump(restored), dump);
  assert.throws(() => restoreWrites(m, valid), /list of proxy is not empty/);
  assert.throws(() => restoreWrites({ ...m, proxies: [] }, valid), /list of group is not empty/);
});

Deno.test("config dump: restore validation uses Codis's messages", () => {
  const g = (id: number, servers: string[] = ["h:1"]) => ({
    id,
    servers: servers.map((server) => ({ server, datacenter: "", action: {}, replica_group: false })),
    promoting: {},
    out_of_sync: false,
  });
  const cases: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ slots: {} }, /config\.slots must be an array/],
    [{ group: [g(0)] }, /invalid group id = 0/],
    [{ group: [g(1), g(1, ["x:1"])] }, /group-0001 already exists/],
    [{ group: [{ ...g(2), promoting: { index: 1, state: "prepared" } }] }, /group-0002 is promoting/],
    [{ group: [g(1), g(2)] }, /server h:1 already exists/],
    [{ slots: [{ id: 1024, group_id: 0, action: {} }] }, /invalid slot id = 1024/],
    [{ slots: [{ id: 1, group_id: 0, action: {} }, { id: 1, group_id: 0, action: {} }] }, /slot-0001 already exists/],
    [{ slots: [{ id: 2, group_id: 0, action: { state: "pending" } }] }, /slot-0002 action is not empty/],
    [{ slots: [{ id: 3, group_id: 5, action: {} }] }, /slot-0003 with group-0005 doesn't exist or empty/],
    [{ group: [g(5, [])], slots: [{ id: 3, group_id: 5, action: {} }] }, /doesn't exist or empty/],
    [{ proxy: [{ id: 1, token: "a" }, { id: 1, token: "b" }] }, /proxy-0001 already exists/],
  ];
  for (const [raw, re] of cases) assert.throws(() => validateConfigV3(raw), re, JSON.stringify(raw));
  assert.deepEqual(validateConfigV3({}), { slots: [], group: [], proxy: [] });
});
