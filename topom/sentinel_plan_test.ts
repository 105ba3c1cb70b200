import assert from "node:assert/strict";
import { applyWrites, Context } from "./context.ts";
import {
  chooseSentinelMasters,
  parseSentinelGroupName,
  parseSwitchMaster,
  sentinelGroupName,
  sentinelMonitorPlan,
  switchGroupMaster,
} from "./sentinel_plan.ts";
import { buildModel } from "./testing.ts";

const settings = {
  product_name: "demo",
  product_auth: "pw",
  sentinel_quorum: 2,
  sentinel_parallel_syncs: 1,
  sentinel_down_after: 30_000,
  sentinel_failover_timeout: 300_000,
  sentinel_notification_script: "",
  sentinel_client_reconfig_script: "/bin/x",
};

Deno.test("sentinel: names", () => {
  assert.equal(sentinelGroupName("demo", 3), "demo-3");
  assert.equal(parseSentinelGroupName("demo", "demo-3"), 3);
  assert.equal(parseSentinelGroupName("demo", "demo-x"), undefined);
  assert.equal(parseSentinelGroupName("demo", "other-3"), undefined);
  assert.equal(parseSentinelGroupName("demo-a", "demo-3"), undefined);
});

/** The SENTINEL SET the plan should send for group `name` under {@link settings}. */
const expectedSet = (name: string) => [
  "SENTINEL",
  "SET",
  name,
  "parallel-syncs",
  "1",
  "down-after-milliseconds",
  "30000",
  "failover-timeout",
  "300000",
  "auth-pass",
  "pw",
  "client-reconfig-script",
  "/bin/x",
];

Deno.test("sentinel: resync plan monitors every group master", () => {
  const ctx = new Context(
    buildModel({ groups: { 1: ["localhost:6379", "localhost:6380"], 2: ["10.0.0.2:7000"], 3: [] } }),
  );
  assert.deepEqual(sentinelMonitorPlan(ctx, settings), [
    {
      gid: 1,
      name: "demo-1",
      monitor: ["SENTINEL", "MONITOR", "demo-1", "127.0.0.1", "6379", "2"],
      set: expectedSet("demo-1"),
    },
    {
      gid: 2,
      name: "demo-2",
      monitor: ["SENTINEL", "MONITOR", "demo-2", "10.0.0.2", "7000", "2"],
      set: expectedSet("demo-2"),
    },
  ]);
  assert.throws(() => sentinelMonitorPlan(ctx, settings, () => undefined), /cannot resolve localhost/);
});

Deno.test("sentinel: masters by highest config-epoch with a majority of answers", () => {
  const a = [
    { name: "demo-1", ip: "10.0.0.1", port: "6379", "config-epoch": "1" },
    { name: "other-1", ip: "9.9.9.9", port: "1", "config-epoch": "99" },
  ];
  const b: Record<string, string>[] = [{ name: "demo-1", ip: "10.0.0.2", port: "6379", "config-epoch": "2" }, {
    name: "demo-2",
    ip: "10.0.1.1",
    port: "7000",
  }];
  const r = chooseSentinelMasters("demo", [a, b, null]);
  assert.ok("masters" in r);
  assert.deepEqual([...r.masters], [[1, "10.0.0.2:6379"], [2, "10.0.1.1:7000"]]);
  assert.deepEqual(chooseSentinelMasters("demo", [a, null, null]), { error: "lost majority (1/3)" });
  assert.deepEqual(chooseSentinelMasters("demo", []), { error: "lost majority (0/0)" });
});

Deno.test("sentinel: a failover swaps the new master to index 0 and marks the group", () => {
  const m = buildModel({ groups: { 1: ["a:1", "a:2", "a:3"] } });
  const next = applyWrites(m, switchGroupMaster(new Context(m), 1, "a:3"));
  assert.deepEqual(next.groups[0].servers.map((x) => x.server), ["a:3", "a:2", "a:1"]);
  assert.equal(next.groups[0].out_of_sync, true);
  assert.deepEqual(switchGroupMaster(new Context(next), 1, "a:3"), []);
  // Reported under another name: matched by run id.
  const ids: Record<string, string> = { "10.0.0.9:2": "r2", "a:2": "r2" };
  const byRunId = applyWrites(m, switchGroupMaster(new Context(m), 1, "10.0.0.9:2", (x) => ids[x]));
  assert.equal(byRunId.groups[0].servers[0].server, "a:2");
  assert.throws(
    () => switchGroupMaster(new Context(m), 1, "z:9", (x) => x === "z:9" ? "r9" : undefined),
    /group-\[1\] doesn't have server z:9 with runid = 'r9'/,
  );
});

Deno.test("sentinel: +switch-master payloads", () => {
  assert.deepEqual(parseSwitchMaster("demo", "demo-2 127.0.0.1 6379 10.0.0.5 6380"), {
    event: { name: "demo-2", gid: 2, from: "127.0.0.1:6379", to: "10.0.0.5:6380" },
  });
  // Sentinels are often shared by products: another product's master is not an error.
  assert.deepEqual(parseSwitchMaster("demo", "other-1 127.0.0.1 6379 127.0.0.1 6380"), { otherMaster: '"other-1"' });
  assert.deepEqual(parseSwitchMaster("demo", "demo-x 127.0.0.1 6379 127.0.0.1 6380"), { otherMaster: '"demo-x"' });
  for (
    const bad of [
      "",
      "demo-2",
      "demo-2 127.0.0.1 6379 127.0.0.1",
      "demo-2 127.0.0.1 6379 127.0.0.1 6380 extra",
      "demo-2  127.0.0.1 6379 127.0.0.1 6380",
      "demo-2 127.0.0.1 6379 127.0.0.1 0",
      "demo-2 127.0.0.1 6379 127.0.0.1 65536",
      "demo-2 127.0.0.1 6379 127.0.0.1 63x0",
      "demo-2 127.0.0.1 6379 bad/host 6380",
      "demo-2 127.0.0.1 6379 a\r\nb 6380",
    ]
  ) {
    const r = parseSwitchMaster("demo", bad);
    assert.ok("error" in r, `${JSON.stringify(bad)} → ${JSON.stringify(r)}`);
  }
  // The error quotes the payload escaped and cut short.
  const long = parseSwitchMaster("demo", "x".repeat(5000) + "\n");
  assert.ok("error" in long && long.error.length < 200 && !long.error.includes("\n"), JSON.stringify(long));
});
