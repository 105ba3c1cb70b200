import assert from "node:assert/strict";
import { applyWrites, type ClusterModel, Context, type TopomError, type Write } from "./context.ts";
import {
  checkServerInfo,
  createGroup,
  enableReplicaGroups,
  enableReplicaGroupsAll,
  groupAddServer,
  groupDelServer,
  removeGroup,
  resyncGroup,
  resyncGroupAll,
  syncActionComplete,
  syncActionPrepare,
  syncCreateAction,
  syncRemoveAction,
} from "./group_ops.ts";
import { slotRangeAssignments, slotsAssignGroup, slotsAssignOffline } from "./slots_assign.ts";
import { buildModel } from "./testing.ts";

const run = (m: ClusterModel, f: (ctx: Context) => Write[]) => applyWrites(m, f(new Context(m)));
const group = (m: ClusterModel, gid: number) => m.groups.find((g) => g.id === gid)!;

Deno.test("group ops: create and remove groups", () => {
  let m = buildModel({});
  m = run(m, (c) => createGroup(c, 1));
  assert.deepEqual(m.groups, [{ id: 1, servers: [], promoting: {}, out_of_sync: false }]);
  assert.throws(() => createGroup(new Context(m), 1), /group-\[1\] already exists/);
  for (const bad of [0, -1, 10000, 1.5]) {
    assert.throws(
      () => createGroup(new Context(m), bad),
      (e: TopomError) => e.status === 400 && e.message === `invalid group id = ${bad}, out of range`,
    );
  }
  assert.deepEqual(createGroup(new Context(m), 9999).length, 1);
  m = run(m, (c) => groupAddServer(c, 1, "a:1"));
  assert.throws(() => removeGroup(new Context(m), 1), /group-\[1\] isn't empty/);
  assert.throws(() => removeGroup(new Context(m), 2), /group-\[2\] doesn't exist/);
  m = run(m, (c) => groupDelServer(c, 1, "a:1"));
  assert.deepEqual(removeGroup(new Context(m), 1), [{ kind: "group-remove", gid: 1 }]);
});

Deno.test("group ops: add server appends, is unique across groups and marks sentinels", () => {
  let m = buildModel({ groups: { 1: [], 2: ["b:1"] }, sentinels: ["s:1"] });
  const w = groupAddServer(new Context(m), 1, "a:1", "dc1");
  assert.deepEqual(w, [
    { kind: "sentinel", sentinel: { servers: ["s:1"], out_of_sync: true } },
    {
      kind: "group",
      group: {
        id: 1,
        servers: [{ server: "a:1", datacenter: "dc1", action: {}, replica_group: false }],
        promoting: {},
        out_of_sync: false,
      },
    },
  ]);
  m = applyWrites(m, w);
  m = run(m, (c) => groupAddServer(c, 1, "a:2"));
  assert.deepEqual(group(m, 1).servers.map((x) => x.server), ["a:1", "a:2"]);
  assert.throws(() => groupAddServer(new Context(m), 1, "a:1"), /server-\[a:1\] already exists$/);
  assert.throws(() => groupAddServer(new Context(m), 1, "b:1"), /server-\[b:1\] already exists in group-\[2\]/);
  assert.throws(() => groupAddServer(new Context(m), 3, "c:1"), /group-\[3\] doesn't exist/);
  assert.throws(() => groupAddServer(new Context(m), 1, ""), /invalid server address/);
  group(m, 1).promoting = { index: 1, state: "preparing" };
  assert.throws(() => groupAddServer(new Context(m), 1, "c:1"), /group-\[1\] is promoting/);
  // No sentinels: no sentinel write.
  assert.equal(groupAddServer(new Context(buildModel({ groups: { 1: [] } })), 1, "x:1").length, 1);
});

Deno.test("group ops: delete server keeps the master while the group is in use", () => {
  let m = buildModel({ groups: { 1: ["a:1", "a:2", "a:3"] }, assign: [[0, 9, 1]] });
  group(m, 1).servers[2].replica_group = true;
  assert.throws(() => groupDelServer(new Context(m), 1, "a:1"), /group-\[1\] can't remove master, still in use/);
  assert.throws(() => groupDelServer(new Context(m), 1, "z:1"), /group-\[1\] doesn't have server-\[z:1\]/);
  m = run(m, (c) => groupDelServer(c, 1, "a:2"));
  assert.equal(group(m, 1).out_of_sync, false);
  m = run(m, (c) => groupDelServer(c, 1, "a:3"));
  assert.equal(group(m, 1).out_of_sync, true, "removing a replica-group member needs a resync");
  assert.throws(() => groupDelServer(new Context(m), 1, "a:1"), /still in use/);
  m = run(m, (c) => slotsAssignOffline(c, slotRangeAssignments(0, 9, 0)));
  m = run(m, (c) => groupDelServer(c, 1, "a:1"));
  assert.deepEqual(group(m, 1).servers, []);
  assert.equal(group(m, 1).out_of_sync, false);
});

Deno.test("group ops: a group that is a migration target still holds its master", () => {
  const m = buildModel({ groups: { 1: ["a:1"], 2: ["b:1"] }, assign: [[0, 9, 1]] });
  m.slots[0].action = { index: 1, state: "pending", target_id: 2 };
  assert.throws(() => groupDelServer(new Context(m), 2, "b:1"), /can't remove master/);
});

Deno.test("group ops: replica-group flags mark in-use groups out of sync", () => {
  let m = buildModel({ groups: { 1: ["a:1", "a:2"], 2: ["b:1", "b:2"], 3: ["c:1"] }, assign: [[0, 9, 1]] });
  m = run(m, (c) => enableReplicaGroups(c, 1, "a:2", true));
  assert.equal(group(m, 1).servers[1].replica_group, true);
  assert.equal(group(m, 1).out_of_sync, true);
  m = run(m, (c) => enableReplicaGroups(c, 2, "b:2", true));
  assert.equal(group(m, 2).out_of_sync, false, "group 2 owns no slot");
  const all = enableReplicaGroupsAll(new Context(m), true);
  assert.deepEqual(all.map((w) => w.kind === "group" && w.group.id), [1, 2, 3], "only changed groups");
  m = applyWrites(m, all);
  assert.deepEqual(enableReplicaGroupsAll(new Context(m), true), []);
  m = run(m, (c) => resyncGroup(c, 1));
  assert.equal(group(m, 1).out_of_sync, false);
  group(m, 2).out_of_sync = true;
  m = run(m, resyncGroupAll);
  assert.ok(m.groups.every((g) => !g.out_of_sync));
  group(m, 3).promoting = { index: 1, state: "prepared" };
  assert.throws(() => enableReplicaGroupsAll(new Context(m), false), /group-\[3\] is promoting/);
});

Deno.test("group ops: sync actions are queued by index, run lowest first and record the outcome", () => {
  let m = buildModel({ groups: { 1: ["a:1", "a:2"], 2: ["b:1", "b:2"] } });
  m = run(m, (c) => syncCreateAction(c, "b:2"));
  m = run(m, (c) => syncCreateAction(c, "a:1"));
  assert.deepEqual(group(m, 2).servers[1].action, { index: 1, state: "pending" });
  assert.deepEqual(group(m, 1).servers[0].action, { index: 2, state: "pending" });
  assert.throws(() => syncCreateAction(new Context(m), "a:1"), /server-\[a:1\] action already exist/);
  assert.throws(() => syncCreateAction(new Context(m), "z:1"), /server-\[z:1\] doesn't exist/);
  const first = syncActionPrepare(new Context(m))!;
  assert.equal(first.addr, "b:2");
  assert.equal(first.master, "b:1");
  m = applyWrites(m, first.writes);
  assert.deepEqual(group(m, 2).servers[1].action, { state: "syncing" });
  const second = syncActionPrepare(new Context(m))!;
  assert.deepEqual([second.addr, second.master], ["a:1", "NO:ONE"]);
  m = applyWrites(m, second.writes);
  assert.equal(syncActionPrepare(new Context(m)), undefined);
  m = run(m, (c) => syncActionComplete(c, "b:2", false));
  m = run(m, (c) => syncActionComplete(c, "a:1", true));
  assert.deepEqual(group(m, 2).servers[1].action, { state: "synced" });
  assert.deepEqual(group(m, 1).servers[0].action, { state: "synced_failed" });
  assert.deepEqual(syncActionComplete(new Context(m), "a:1", false), [], "no longer syncing");
  assert.deepEqual(syncActionComplete(new Context(m), "gone:1", false), []);
  m = run(m, (c) => syncRemoveAction(c, "a:1"));
  assert.deepEqual(group(m, 1).servers[0].action, {});
  assert.throws(() => syncRemoveAction(new Context(m), "a:1"), /server-\[a:1\] action doesn't exist/);
});

Deno.test("group ops: sync actions wait while their group promotes", () => {
  let m = buildModel({ groups: { 1: ["a:1", "a:2"] } });
  m = run(m, (c) => syncCreateAction(c, "a:2"));
  group(m, 1).promoting = { index: 1, state: "preparing" };
  assert.equal(syncActionPrepare(new Context(m)), undefined);
  assert.throws(() => syncRemoveAction(new Context(m), "a:2"), /group-\[1\] is promoting/);
});

Deno.test("group ops: server checks need 1024 databases and warn on low hz", () => {
  assert.match(
    checkServerInfo("a:1", { databases: 16, hz: 100 }).error!,
    /server-\[a:1\] has 16 databases, needs at least 1024/,
  );
  assert.deepEqual(checkServerInfo("a:1", { databases: 1024, hz: 100 }), {});
  assert.match(checkServerInfo("a:1", { databases: 2048, hz: 10 }).warning!, /hz 10, below 100/);
});

Deno.test("slots assign: maps slots to non-empty groups and marks them out of sync", () => {
  let m = buildModel({ groups: { 1: ["a:1"], 2: ["b:1"], 3: [] } });
  const w = slotsAssignGroup(new Context(m), [...slotRangeAssignments(0, 2, 1), { id: 3, group_id: 2 }]);
  assert.deepEqual(w.map((x) => x.kind), ["group", "group", "slot", "slot", "slot", "slot"]);
  m = applyWrites(m, w);
  assert.ok(group(m, 1).out_of_sync && group(m, 2).out_of_sync);
  assert.deepEqual(m.slots[3], { id: 3, group_id: 2, action: {} });
  // Already out of sync: no second group write.
  assert.deepEqual(slotsAssignGroup(new Context(m), [{ id: 9, group_id: 1 }]).map((x) => x.kind), ["slot"]);
  const ctx = new Context(m);
  assert.throws(() => slotsAssignGroup(ctx, [{ id: 1, group_id: 3 }]), /group-\[3\] is empty/);
  assert.throws(() => slotsAssignGroup(ctx, [{ id: 1, group_id: 4 }]), /group-\[4\] doesn't exist/);
  assert.throws(() => slotsAssignGroup(ctx, [{ id: 1024, group_id: 1 }]), /slot-\[1024\] doesn't exist/);
  assert.throws(
    () => slotsAssignGroup(ctx, [{ id: 1, group_id: 1, action: { state: "pending" } }]),
    /invalid slot-\[1\] action = pending/,
  );
  assert.throws(() => slotsAssignGroup(ctx, [{ id: 1, group_id: 1 }, { id: 1, group_id: 2 }]), /assigned twice/);
  m.slots[5].action = { index: 1, state: "migrating", target_id: 2 };
  assert.throws(() => slotsAssignGroup(new Context(m), [{ id: 5, group_id: 1 }]), /slot-\[5\] action already exists/);
  assert.throws(() => slotsAssignOffline(new Context(m), [{ id: 5, group_id: 0 }]), /slot-\[5\] action already exists/);
  assert.throws(() => slotsAssignOffline(new Context(m), [{ id: 1, group_id: 2 }]), /group of slot-\[1\] should be 0/);
  assert.deepEqual(slotsAssignOffline(new Context(m), [{ id: 1, group_id: 0 }]), [
    { kind: "slot", slot: { id: 1, group_id: 0, action: {} } },
  ]);
});
