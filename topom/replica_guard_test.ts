import assert from "node:assert/strict";
import { Context } from "./context.ts";
import { forgottenGuards, replicaGuardActions, type SentinelView, unsyncedReason } from "./replica_guard.ts";
import { buildModel } from "./testing.ts";

const MASTER = "10.0.0.1:6379";
const REPLICA = "10.0.0.2:6379";
const SENTINELS = ["10.0.0.9:26379", "10.0.0.10:26379", "10.0.0.11:26379"];

const ctxWith = (sentinels = SENTINELS) => new Context(buildModel({ groups: { 1: [MASTER, REPLICA] }, sentinels }));

/** A master that was not a replica since it started (a restarted server). */
const RESTARTED = { role: "master", second_repl_offset: "-1" };
const masterInfo = { role: "master", connected_slaves: "1" };
const syncedReplica = {
  role: "slave",
  master_host: "10.0.0.1",
  master_port: "6379",
  master_link_status: "up",
  master_sync_in_progress: "0",
  master_link_down_since_seconds: "-1",
  slave_priority: "100",
};
const view = (masterFlags = "master", slaves = [REPLICA]): SentinelView => ({
  "demo-1": {
    master: { name: "demo-1", ip: "10.0.0.1", port: "6379", flags: masterFlags },
    slaves: slaves.map((s) => ({ ip: s.split(":")[0], port: s.split(":")[1], flags: "slave" })),
  },
});
const infos = (replica: Record<string, string>, master: Record<string, string> = masterInfo) =>
  new Map([[MASTER, master], [REPLICA, replica]]);

Deno.test("replica guard: unsynced replicas are told apart from ones whose master just died", () => {
  assert.equal(unsyncedReason(syncedReplica), undefined);
  assert.equal(unsyncedReason(RESTARTED), "reports itself master");
  assert.equal(unsyncedReason({ ...syncedReplica, master_sync_in_progress: "1" }), "full sync in progress");
  assert.match(unsyncedReason({ ...syncedReplica, master_link_status: "down" }) ?? "", /never up/);
  // Synced, then its master died: it holds the data and must stay promotable.
  assert.equal(
    unsyncedReason({ ...syncedReplica, master_link_status: "down", master_link_down_since_seconds: "7" }),
    undefined,
  );
});

Deno.test("replica guard: a returning master the sentinels know as a replica is guarded and re-pointed at once", () => {
  const acts = replicaGuardActions("demo", ctxWith(), infos(RESTARTED), [view(), view(), null], new Map());
  assert.deepEqual(acts, [{ kind: "repoint", gid: 1, addr: REPLICA, master: MASTER, why: "reports itself master" }]);
});

Deno.test("replica guard: no re-pointing while the sentinels fail over, disagree, lack a majority or the master is down", () => {
  const guardOnly = [{ kind: "guard", gid: 1, addr: REPLICA, why: "reports itself master" }];
  const returning = infos(RESTARTED);
  const ctx = ctxWith();
  // The sentinels are promoting that server: it must not be turned back into a replica of the old master.
  assert.deepEqual(
    replicaGuardActions(
      "demo",
      ctx,
      returning,
      [view("master,o_down,failover_in_progress"), view(), view()],
      new Map(),
    ),
    guardOnly,
  );
  assert.deepEqual(replicaGuardActions("demo", ctx, returning, [view(), null, null], new Map()), guardOnly);
  assert.deepEqual(replicaGuardActions("demo", ctx, returning, [view(), view("master", [])], new Map()), [
    { kind: "repoint", gid: 1, addr: REPLICA, master: MASTER, why: "reports itself master" },
  ]);
  assert.deepEqual(
    replicaGuardActions("demo", ctx, returning, [view("master", []), view("master", [])], new Map()),
    guardOnly,
  );
  assert.deepEqual(
    replicaGuardActions("demo", ctx, new Map([[REPLICA, RESTARTED]]), [view(), view()], new Map()),
    guardOnly,
  );
});

Deno.test("replica guard: the replica Sentinel is promoting while the master is down is left alone", () => {
  const promoted = { role: "master", second_repl_offset: "4711" };
  const noMaster = new Map([[REPLICA, promoted]]);
  assert.deepEqual(replicaGuardActions("demo", ctxWith(), noMaster, [view(), view(), view()], new Map()), []);
  // With the group's master answering, the same server is a second master: guarded (and re-pointed when vouched for).
  assert.deepEqual(replicaGuardActions("demo", ctxWith(), infos(promoted), [view(), null, null], new Map()), [
    { kind: "guard", gid: 1, addr: REPLICA, why: "reports itself master" },
  ]);
});

Deno.test("replica guard: a syncing replica is guarded once, and given its priority back when its link is up", () => {
  const ctx = ctxWith();
  const syncing = { ...syncedReplica, master_link_status: "down", master_sync_in_progress: "1" };
  assert.deepEqual(replicaGuardActions("demo", ctx, infos(syncing), [view(), view(), view()], new Map()), [
    { kind: "guard", gid: 1, addr: REPLICA, why: "full sync in progress" },
  ]);
  const guarded = new Map([[REPLICA, "100"]]);
  assert.deepEqual(replicaGuardActions("demo", ctx, infos({ ...syncing, slave_priority: "0" }), [view()], guarded), []);
  assert.deepEqual(
    replicaGuardActions("demo", ctx, infos({ ...syncedReplica, slave_priority: "0" }), [view()], guarded),
    [
      { kind: "restore", gid: 1, addr: REPLICA, priority: "100" },
    ],
  );
  // Linked up to another server than the group's master: not given back yet.
  const elsewhere = { ...syncedReplica, master_host: "10.0.0.7", slave_priority: "0" };
  assert.deepEqual(replicaGuardActions("demo", ctx, infos(elsewhere), [view()], guarded), []);
});

Deno.test("replica guard: nothing without sentinels, in a promotion, or for a replica at 0 it did not set", () => {
  assert.deepEqual(replicaGuardActions("demo", ctxWith([]), infos(RESTARTED), [], new Map()), []);
  const ctx = ctxWith();
  ctx.groups.get(1)!.promoting = { index: 1, state: "prepared" };
  assert.deepEqual(replicaGuardActions("demo", ctx, infos(RESTARTED), [view()], new Map()), []);
  const operatorZero = { ...syncedReplica, master_sync_in_progress: "1", slave_priority: "0" };
  assert.deepEqual(replicaGuardActions("demo", ctxWith(), infos(operatorZero), [view()], new Map()), []);
});

Deno.test("replica guard: a server that left every group is forgotten", () => {
  assert.deepEqual(forgottenGuards(ctxWith(), new Map([[REPLICA, "100"], ["10.0.0.5:6379", "7"]])), ["10.0.0.5:6379"]);
});

Deno.test("replica guard: a server whose sync action finished long ago is guarded; one being synced is left to it", () => {
  const ctx = ctxWith();
  const replica = ctx.groups.get(1)!.servers[1];
  replica.action = { state: "synced" };
  assert.deepEqual(replicaGuardActions("demo", ctx, infos(RESTARTED), [view(), view()], new Map()), [
    { kind: "repoint", gid: 1, addr: REPLICA, master: MASTER, why: "reports itself master" },
  ]);
  replica.action = { index: 1, state: "syncing" };
  assert.deepEqual(replicaGuardActions("demo", ctx, infos(RESTARTED), [view(), view()], new Map()), []);
});
