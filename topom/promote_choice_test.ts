import assert from "node:assert/strict";
import { applyWrites, Context } from "./context.ts";
import { chooseReplica, promoteBest, type ReplicaProbe } from "./promote_choice.ts";
import { buildModel } from "./testing.ts";

const replica = (offset: number, more: Record<string, string> = {}): ReplicaProbe => ({
  role: "slave",
  slave_repl_offset: String(offset),
  slave_priority: "100",
  ...more,
});

const group = () => new Context(buildModel({ groups: { 1: ["m:1", "r:1", "r:2", "r:3"] } })).getGroup(1);

Deno.test("promote choice: the reachable replica with the largest offset, as Sentinel does", () => {
  const probes = new Map<string, ReplicaProbe>([["m:1", null], ["r:1", replica(90)], ["r:2", replica(120)], [
    "r:3",
    replica(100),
  ]]);
  const c = chooseReplica(group(), probes);
  assert.ok(!("error" in c));
  assert.equal(c.addr, "r:2");
  assert.equal(c.index, 2);
  assert.equal(c.offset, 120);
});

Deno.test("promote choice: unreachable, non-replica and priority-0 servers are skipped, with their reasons", () => {
  const probes = new Map<string, ReplicaProbe>([
    ["r:1", null],
    ["r:2", replica(500, { slave_priority: "0" })],
    ["r:3", { role: "master", master_repl_offset: "900" }],
  ]);
  const c = chooseReplica(group(), probes);
  assert.ok("error" in c);
  assert.match(c.error, /^group-\[1\] has no replica that can be promoted/);
  assert.deepEqual(c.skipped, [
    "r:1: unreachable",
    "r:2: replica-priority 0",
    "r:3: not a replica (role master)",
  ]);
});

Deno.test("promote choice: a lower replica-priority wins over a larger offset; equal ones go by group order", () => {
  const probes = new Map<string, ReplicaProbe>([
    ["r:1", replica(10, { slave_priority: "50" })],
    ["r:2", replica(99)],
    ["r:3", replica(99)],
  ]);
  const c = chooseReplica(group(), probes);
  assert.ok(!("error" in c));
  assert.equal(c.addr, "r:1");
  probes.set("r:1", replica(10));
  const d = chooseReplica(group(), probes);
  assert.ok(!("error" in d));
  assert.equal(d.addr, "r:2");
});

Deno.test("promote choice: promoteBest starts the promotion of the choice, and resumes one in progress", () => {
  const m = buildModel({ groups: { 1: ["m:1", "r:1", "r:2"] } });
  const probes = new Map<string, ReplicaProbe>([["r:1", replica(5)], ["r:2", replica(7)]]);
  const out = promoteBest(new Context(m), 1, probes, 0);
  assert.equal(out.addr, "r:2");
  const started = applyWrites(m, out.writes);
  assert.deepEqual(started.groups[0].promoting, { index: 2, state: "preparing" });
  // Resuming: the stored choice stands even if the offsets changed meanwhile.
  const again = promoteBest(new Context(started), 1, new Map([["r:1", replica(50)]]), 0);
  assert.deepEqual(again, { addr: "r:2", writes: [] });
  assert.throws(() => promoteBest(new Context(m), 1, new Map(), 0), /no replica that can be promoted/);
  assert.throws(() => promoteBest(new Context(m), 1, probes, 2), /slots-migration is running = 2/);
});

Deno.test("promote choice: a replica that has not synced is skipped, however large its offset", () => {
  const probes = new Map<string, ReplicaProbe>([
    ["r:1", replica(10, { master_link_status: "down", master_link_down_since_seconds: "3" })],
    ["r:2", replica(900, { master_sync_in_progress: "1" })],
    ["r:3", replica(0, { master_link_status: "down", master_link_down_since_seconds: "-1" })],
  ]);
  const c = chooseReplica(group(), probes);
  assert.ok(!("error" in c));
  assert.equal(c.addr, "r:1");
  assert.deepEqual(c.skipped, [
    "r:2: not synced (full sync in progress)",
    "r:3: not synced (link to its master never up since it was pointed at it)",
  ]);
});
