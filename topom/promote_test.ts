import assert from "node:assert/strict";
import { applyWrites, type ClusterModel, Context } from "./context.ts";
import { nextPromoteStep, promoteStart } from "./promote.ts";
import { buildModel } from "./testing.ts";

const group = (m: ClusterModel, gid: number) => m.groups.find((g) => g.id === gid)!;

Deno.test("promote: refusals use Codis's messages", () => {
  const m = buildModel({ groups: { 1: ["a:1", "a:2", "a:3"] } });
  const ctx = new Context(m);
  assert.throws(() => promoteStart(ctx, 1, "a:1", 0), /group-\[1\] can't promote master/);
  assert.throws(() => promoteStart(ctx, 1, "z:1", 0), /group-\[1\] doesn't have server-\[z:1\]/);
  assert.throws(() => promoteStart(ctx, 2, "a:2", 0), /group-\[2\] doesn't exist/);
  assert.throws(() => promoteStart(ctx, 1, "a:2", 3), /slots-migration is running = 3/);
  const started = applyWrites(m, promoteStart(ctx, 1, "a:2", 0));
  assert.deepEqual(group(started, 1).promoting, { index: 1, state: "preparing" });
  assert.throws(() => promoteStart(new Context(started), 1, "a:3", 0), /group-\[1\] is promoting index = 1/);
  assert.deepEqual(promoteStart(new Context(started), 1, "a:2", 0), [], "resuming the same promotion");
});

Deno.test("promote: preparing → prepared → switch → finished → cleared, each after every proxy acked", () => {
  let m = buildModel({ groups: { 1: ["a:1", "a:2", "a:3"] }, assign: [[0, 9, 1]], sentinels: ["s:1"] });
  group(m, 1).servers.forEach((x) => x.action = { index: 1, state: "synced" });
  m = applyWrites(m, promoteStart(new Context(m), 1, "a:3", 0));
  const lagging = { ackedRevision: 4, stepRevision: 5 };
  const acked = { ackedRevision: 5, stepRevision: 5 };
  assert.deepEqual(nextPromoteStep(new Context(m), 1, lagging), { kind: "wait" });

  const s1 = nextPromoteStep(new Context(m), 1, acked);
  assert.equal(s1.kind, "advance");
  m = applyWrites(m, s1.kind === "advance" ? s1.writes : []);
  assert.deepEqual(group(m, 1).promoting, { index: 2, state: "prepared" });
  assert.equal(new Context(m).toSlot(m.slots[0]).locked, true, "proxies hold the group's slots");

  assert.deepEqual(nextPromoteStep(new Context(m), 1, lagging), { kind: "wait" });
  const s2 = nextPromoteStep(new Context(m), 1, acked);
  assert.equal(s2.kind, "switch");
  if (s2.kind !== "switch") return;
  assert.equal(s2.newMaster, "a:3");
  assert.equal(s2.removeSentinelGroup, true);
  assert.deepEqual(s2.before, [{ kind: "sentinel", sentinel: { servers: ["s:1"], out_of_sync: true } }]);
  m = applyWrites(m, [...s2.before, ...s2.writes]);
  // Promoted first, other replicas, old master last; sync actions cleared.
  assert.deepEqual(group(m, 1).servers.map((x) => x.server), ["a:3", "a:2", "a:1"]);
  assert.ok(group(m, 1).servers.every((x) => Object.keys(x.action).length === 0));
  assert.deepEqual(group(m, 1).promoting, { state: "finished" });
  const view = new Context(m).toSlot(m.slots[0]);
  assert.equal(view.locked, undefined);
  assert.equal(view.backend_addr, "a:3");

  const s3 = nextPromoteStep(new Context(m), 1, acked);
  assert.equal(s3.kind, "advance");
  m = applyWrites(m, s3.kind === "advance" ? s3.writes : []);
  assert.deepEqual(group(m, 1).promoting, {});
  assert.deepEqual(nextPromoteStep(new Context(m), 1, acked), { kind: "none" });
});

Deno.test("promote: without sentinels there is nothing to remove", () => {
  let m = buildModel({ groups: { 1: ["a:1", "a:2"] } });
  group(m, 1).promoting = { index: 1, state: "prepared" };
  const s = nextPromoteStep(new Context(m), 1, { ackedRevision: 1, stepRevision: 1 });
  assert.ok(s.kind === "switch" && !s.removeSentinelGroup && s.before.length === 0);
  group(m, 1).promoting = { index: 5, state: "prepared" };
  assert.throws(() => nextPromoteStep(new Context(m), 1, { ackedRevision: 1, stepRevision: 1 }), /state is invalid/);
  m = buildModel({});
  assert.throws(() => nextPromoteStep(new Context(m), 1, { ackedRevision: 1, stepRevision: 1 }), /doesn't exist/);
});
