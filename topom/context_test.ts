import assert from "node:assert/strict";
import { applyWrites, Context, hostOf, parseForwardMethod, type TopomError } from "./context.ts";
import { buildModel } from "./testing.ts";
import type { SlotMapping } from "../models/mod.ts";

function twoGroups() {
  const model = buildModel({
    groups: { 1: ["10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"], 2: ["10.0.1.1:6379"] },
    assign: [[0, 511, 1], [512, 1023, 2]],
    proxies: [{ admin_addr: "10.0.0.2:11080", datacenter: "dc1" }],
  });
  const g1 = model.groups[0];
  g1.servers[0].datacenter = "dc1";
  g1.servers[1].datacenter = "dc1";
  g1.servers[2].datacenter = "dc2";
  for (const x of g1.servers) x.replica_group = true;
  return model;
}

function withAction(m: Partial<SlotMapping["action"]> & { id: number; group_id: number }): SlotMapping {
  const { id, group_id, ...action } = m;
  return { id, group_id, action };
}

Deno.test("context: missing slots are offline, ids out of range are rejected", () => {
  const ctx = new Context({ slots: [{ id: 5, group_id: 1, action: {} }], groups: [], proxies: [] });
  assert.equal(ctx.slots.length, 1024);
  assert.equal(ctx.slots[4].group_id, 0);
  assert.equal(ctx.slots[5].group_id, 1);
  assert.throws(() => ctx.getSlotMapping(1024), /slot-\[1024\] doesn't exist/);
  assert.throws(() => new Context({ slots: [{ id: 1024, group_id: 1, action: {} }], groups: [], proxies: [] }));
});

Deno.test("context: toSlot for a stable slot routes to the master with replica tiers per proxy", () => {
  const model = twoGroups();
  const ctx = new Context(model);
  const proxy = model.proxies[0];
  assert.deepEqual(ctx.toSlot(ctx.slots[3], proxy), {
    id: 3,
    backend_addr: "10.0.0.1:6379",
    backend_addr_group_id: 1,
    forward_method: 1,
    // same IP and dc first, then same dc, then the rest
    replica_groups: [["10.0.0.2:6379"], ["10.0.0.1:6379"], ["10.0.0.3:6379"]],
  });
  // Without a proxy (GET /topom/slots) every replica is in one tier.
  assert.deepEqual(ctx.toSlot(ctx.slots[3]).replica_groups, [["10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"]]);
  // A proxy in another datacenter sees everything as remote.
  assert.deepEqual(ctx.toSlot(ctx.slots[3], { ...proxy, datacenter: "dc9" }).replica_groups, [[
    "10.0.0.1:6379",
    "10.0.0.2:6379",
    "10.0.0.3:6379",
  ]]);
  // Single-server groups have no replica groups; sync forwarding omits forward_method.
  const sync = new Context(model, { forwardMethod: 0 });
  assert.deepEqual(sync.toSlot(sync.slots[600], proxy), {
    id: 600,
    backend_addr: "10.0.1.1:6379",
    backend_addr_group_id: 2,
  });
});

Deno.test("context: localhost and 127.0.0.1 are the same host by default; a resolver can be injected", () => {
  const model = buildModel({ groups: { 1: ["localhost:6379", "127.0.0.1:6380"] }, proxies: [{}] });
  model.groups[0].servers.forEach((x) => x.replica_group = true);
  const ctx = new Context(model);
  assert.deepEqual(ctx.toReplicaGroups(1, model.proxies[0]), [["localhost:6379", "127.0.0.1:6380"]]);
  const far = new Context(model, { resolveHost: (h) => h === "localhost" ? "10.9.9.9" : h });
  assert.deepEqual(far.toReplicaGroups(1, model.proxies[0]), [["127.0.0.1:6380"], ["localhost:6379"]]);
  assert.equal(hostOf("[::1]:6379"), "::1");
  assert.equal(hostOf("h:1"), "h");
});

Deno.test("context: toSlot follows the action state table", () => {
  const model = twoGroups();
  const ctx = new Context(model);
  const p = model.proxies[0];
  const at = (state: SlotMapping["action"]["state"]) =>
    ctx.toSlot(withAction({ id: 7, group_id: 1, state, index: 1, target_id: 2 }), p);
  assert.ok(at("pending").replica_groups);
  assert.equal(at("pending").backend_addr, "10.0.0.1:6379");
  assert.deepEqual(at("preparing"), {
    id: 7,
    backend_addr: "10.0.0.1:6379",
    backend_addr_group_id: 1,
    forward_method: 1,
  });
  assert.deepEqual(at("prepared"), {
    id: 7,
    locked: true,
    backend_addr: "10.0.1.1:6379",
    backend_addr_group_id: 2,
    migrate_from: "10.0.0.1:6379",
    migrate_from_group_id: 1,
    forward_method: 1,
  });
  assert.deepEqual(at("migrating"), {
    id: 7,
    backend_addr: "10.0.1.1:6379",
    backend_addr_group_id: 2,
    migrate_from: "10.0.0.1:6379",
    migrate_from_group_id: 1,
    forward_method: 1,
  });
  assert.deepEqual(at("finished"), {
    id: 7,
    backend_addr: "10.0.1.1:6379",
    backend_addr_group_id: 2,
    forward_method: 1,
  });
  // An offline slot has neither backend nor group id.
  assert.deepEqual(ctx.toSlot({ id: 9, group_id: 0, action: {} }), { id: 9, forward_method: 1 });
  // Migrating in from offline: no migrate_from.
  assert.deepEqual(ctx.toSlot(withAction({ id: 9, group_id: 0, state: "migrating", index: 1, target_id: 2 })), {
    id: 9,
    backend_addr: "10.0.1.1:6379",
    backend_addr_group_id: 2,
    forward_method: 1,
  });
  assert.throws(
    () => ctx.toSlot({ id: 1, group_id: 1, action: { state: "bogus" as "pending" } }),
    /action state is invalid/,
  );
});

Deno.test("context: promote states lock the group's slots and drop its replicas", () => {
  const model = twoGroups();
  const lockedAt = (promoting: "preparing" | "prepared" | "finished", m: SlotMapping, gid = 1) => {
    const g = model.groups.find((x) => x.id === gid)!;
    const ctx = new Context({
      ...model,
      groups: [{ ...g, promoting: { index: 1, state: promoting } }, ...model.groups.filter((x) => x.id !== gid)],
    });
    return ctx.toSlot(m, model.proxies[0]);
  };
  const stable = { id: 1, group_id: 1, action: {} };
  assert.equal(lockedAt("preparing", stable).locked, undefined);
  assert.equal(lockedAt("preparing", stable).replica_groups, undefined);
  assert.equal(lockedAt("prepared", stable).locked, true);
  assert.equal(lockedAt("finished", stable).locked, undefined);
  // Migrating: locked if either side is promote-prepared; finished: only the target counts.
  const mig = withAction({ id: 2, group_id: 2, state: "migrating", index: 1, target_id: 1 });
  assert.equal(lockedAt("prepared", mig).locked, true);
  const fin = withAction({ id: 2, group_id: 1, state: "finished", index: 1, target_id: 2 });
  assert.equal(lockedAt("prepared", fin).locked, undefined);
  assert.equal(lockedAt("prepared", fin, 2).locked, true);
});

Deno.test("context: group, server and proxy lookups use Codis's messages", () => {
  const model = twoGroups();
  model.slots[1000].action = { index: 4, state: "pending", target_id: 1 };
  model.slots[1001].action = { index: 9, state: "migrating", target_id: 1 };
  model.groups[0].servers[1].action = { index: 3, state: "pending" };
  model.groups[0].servers[2].action = { index: 2, state: "pending" };
  const ctx = new Context(model);
  assert.equal(ctx.maxSlotActionIndex(), 9);
  assert.equal(ctx.getSlotMappingsByGroupId(1).length, 514);
  assert.equal(ctx.getGroupMaster(2), "10.0.1.1:6379");
  assert.equal(ctx.getGroupMaster(3), "");
  assert.deepEqual([...ctx.getGroupMasters()], [[1, "10.0.0.1:6379"], [2, "10.0.1.1:6379"]]);
  assert.throws(() => ctx.getGroup(3), (e: TopomError) => e.status === 404 && e.message === "group-[3] doesn't exist");
  assert.throws(() => ctx.getGroupIndex(ctx.getGroup(2), "x:1"), /group-\[2\] doesn't have server-\[x:1\]/);
  assert.deepEqual(ctx.getGroupByServer("10.0.0.3:6379").index, 2);
  assert.throws(() => ctx.getGroupByServer("x:1"), /server-\[x:1\] doesn't exist/);
  assert.equal(ctx.maxSyncActionIndex(), 3);
  assert.equal(ctx.minSyncActionIndex(), "10.0.0.3:6379");
  assert.equal(ctx.maxProxyId(), 1);
  assert.throws(() => ctx.getProxy("nope"), /proxy-\[nope\] doesn't exist/);
  assert.ok(ctx.isGroupInUse(2));
  assert.ok(!ctx.isGroupInUse(3));
});

Deno.test("context: the context copies its input and applyWrites builds the next model", () => {
  const model = twoGroups();
  const ctx = new Context(model);
  model.groups[0].servers.length = 0;
  assert.equal(ctx.getGroupMaster(1), "10.0.0.1:6379");
  const g = ctx.getGroup(2);
  g.servers.push({ server: "x:1", datacenter: "", action: {}, replica_group: false });
  assert.equal(ctx.getGroup(2).servers.length, 1);
  const next = applyWrites(model, [
    { kind: "slot", slot: { id: 1, group_id: 2, action: { index: 0, state: "" } } },
    { kind: "group-remove", gid: 1 },
    { kind: "proxy-remove", token: "t1" },
    { kind: "sentinel", sentinel: { servers: ["s:1"], out_of_sync: true } },
  ]);
  assert.deepEqual(next.slots[1], { id: 1, group_id: 2, action: {} });
  assert.deepEqual(next.groups.map((x) => x.id), [2]);
  assert.equal(next.proxies.length, 0);
  assert.deepEqual(next.sentinel, { servers: ["s:1"], out_of_sync: true });
});

Deno.test("context: migration_method maps to forward_method", () => {
  assert.equal(parseForwardMethod("sync"), 0);
  assert.equal(parseForwardMethod("semi-async"), 1);
  assert.equal(parseForwardMethod("async"), undefined);
});
