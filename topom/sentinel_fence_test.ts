import assert from "node:assert/strict";
import type { Group } from "../models/mod.ts";
import { applyWrites, type ClusterModel, Context } from "./context.ts";
import { ModelCache, writeToOp } from "./model_cache.ts";
import { nextPromoteStep, promoteStart } from "./promote.ts";
import { clearSentinelFences, promotionFence, sentinelFenceEpochs, withSentinelFence } from "./sentinel_fence.ts";
import { screenSentinelReports } from "./sentinel_staleness.ts";
import { buildModel } from "./testing.ts";

const view = (gid: number, addr: string, epoch: number, product = "p") => {
  const [ip, port] = addr.split(":");
  return { name: `${product}-${gid}`, ip, port, "config-epoch": String(epoch), flags: "master" };
};
const group = (m: ClusterModel, gid: number) => m.groups.find((g) => g.id === gid)!;

/** Group 1 promoted from 10.0.0.1 to 10.0.0.2 through every step, the switch storing `views`' fence. */
function promoted(views: (Record<string, string>[] | null)[]): ClusterModel {
  let m = buildModel({ groups: { 1: ["10.0.0.1:6379", "10.0.0.2:6379"], 2: ["10.0.0.3:6379"] }, sentinels: ["s:1"] });
  m = applyWrites(m, promoteStart(new Context(m), 1, "10.0.0.2:6379", 0));
  const acked = { ackedRevision: 1, stepRevision: 1 };
  for (let i = 0; i < 3; i++) {
    const step = nextPromoteStep(new Context(m), 1, acked);
    if (step.kind === "switch") {
      const fence = promotionFence("p", 1, views, group(m, 1).sentinel_fence);
      m = applyWrites(m, [...step.before, ...withSentinelFence(step.writes, 1, fence)]);
    } else if (step.kind === "advance") m = applyWrites(m, step.writes);
  }
  assert.deepEqual(group(m, 1).promoting, {}, "the promotion is over");
  return m;
}

Deno.test("sentinel fence: a promotion stores the highest config-epoch the sentinels had, and it outlives the promotion", () => {
  const m = promoted([[view(1, "10.0.0.1:6379", 3), view(2, "10.0.0.3:6379", 9)], null, [view(1, "10.0.0.1:6379", 4)]]);
  assert.equal(group(m, 1).servers[0].server, "10.0.0.2:6379");
  assert.deepEqual(group(m, 1).sentinel_fence, { epoch: 4 }, "other groups' epochs do not count");
  assert.equal(group(m, 2).sentinel_fence, undefined);
  assert.deepEqual(sentinelFenceEpochs(m.groups), new Map([[1, 4]]));
  // Stored and read back as the group node (a restarted dashboard or a new leader sees it).
  const cache = new ModelCache("p");
  const op = writeToOp("p", { kind: "group", group: group(m, 1) });
  assert.equal(op.op, "put");
  cache.apply("put", op.path, 7, op.op === "put" ? op.data : undefined);
  assert.deepEqual(cache.context().groups.get(1)?.sentinel_fence, { epoch: 4 });
});

Deno.test("sentinel fence: without any sentinel's answer the fence has no epoch, and stays so over a second promotion", () => {
  assert.deepEqual(promotionFence("p", 1, [null, null], undefined), {});
  assert.deepEqual(promotionFence("p", 1, [[], [view(1, "10.0.0.1:6379", 0)]], {}), {});
  // A second promotion finds the group removed from the sentinels: the first one's epoch is kept.
  assert.deepEqual(promotionFence("p", 1, [[], []], { epoch: 5 }), { epoch: 5 });
  assert.deepEqual(promotionFence("p", 1, [[view(1, "10.0.0.1:6379", 2)]], { epoch: 5 }), { epoch: 5 });
  assert.deepEqual(promotionFence("p", 1, [[view(1, "10.0.0.1:6379", 6)]], { epoch: 5 }), { epoch: 6 });
  assert.deepEqual(promotionFence("p", 1, [[view(1, "10.0.0.1:6379", 1, "q")]], undefined), {}, "another product");
  assert.deepEqual(sentinelFenceEpochs(promoted([null]).groups), new Map([[1, Infinity]]));
});

Deno.test("sentinel fence: a view from before the promotion is stale although the dashboard learnt no epoch", () => {
  // The sentinel that was down comes back naming the old master; the live ones had the group removed. Nothing learnt.
  const m = promoted([[view(1, "10.0.0.1:6379", 0)], [view(1, "10.0.0.1:6379", 0)], null]);
  const masters = new Context(m).getGroupMasters();
  const back = [[], [], [view(1, "10.0.0.1:6379", 0)]];
  const r = screenSentinelReports("p", masters, back, new Map(), sentinelFenceEpochs(m.groups));
  assert.deepEqual(r.stale, [{ sentinel: 2, gid: 1, name: "p-1", reported: "10.0.0.1:6379", epoch: 0 }]);
  assert.deepEqual(r.replies, [[], [], []]);
  // Without the stored fence the same answers would have been followed (the defect this fixes).
  assert.deepEqual(screenSentinelReports("p", masters, back, new Map()).stale, []);
});

Deno.test("sentinel fence: a genuine failover after the promotion (a newer epoch) is followed; a fence without epoch waits for a resync", () => {
  const m = promoted([[view(1, "10.0.0.1:6379", 2)]]);
  const masters = new Context(m).getGroupMasters();
  const failover = [view(1, "10.0.0.1:6379", 3)];
  const r = screenSentinelReports("p", masters, [failover, failover, null], new Map(), sentinelFenceEpochs(m.groups));
  assert.deepEqual(r.stale, []);
  assert.deepEqual(r.replies, [failover, failover, null]);
  // The model's own master is never stale; a learnt epoch higher than the fence's counts too.
  const agree = [view(1, "10.0.0.2:6379", 0)];
  assert.deepEqual(screenSentinelReports("p", masters, [agree], new Map(), sentinelFenceEpochs(m.groups)).stale, []);
  const learnt = screenSentinelReports("p", masters, [failover], new Map([[1, 3]]), sentinelFenceEpochs(m.groups));
  assert.equal(learnt.stale.length, 1);
  // No sentinel answered at the promotion: any view naming another master is held off, whatever its epoch.
  const blind = promoted([null]);
  const far = [view(1, "10.0.0.1:6379", 99)];
  const b = screenSentinelReports("p", masters, [far], new Map(), sentinelFenceEpochs(blind.groups));
  assert.equal(b.stale.length, 1);
});

Deno.test("sentinel fence: resync-all's writes end every fence and change nothing else", () => {
  const m = promoted([[view(1, "10.0.0.1:6379", 2)]]);
  const cleared = applyWrites(m, clearSentinelFences(new Context(m)));
  assert.equal(group(cleared, 1).sentinel_fence, undefined);
  const unfenced = ({ sentinel_fence: _, ...g }: Group): Group => g;
  assert.deepEqual(cleared.groups, m.groups.map(unfenced));
  assert.deepEqual(clearSentinelFences(new Context(cleared)), [], "nothing to clear twice");
});

Deno.test("sentinel fence: a hand-edited fence with a bad epoch holds off every older view", () => {
  const m = buildModel({ groups: { 1: ["10.0.0.2:6379", "10.0.0.1:6379"] } });
  m.groups[0].sentinel_fence = { epoch: -1 };
  assert.deepEqual(new Context(m).groups.get(1)?.sentinel_fence, {});
  m.groups[0].sentinel_fence = { epoch: "7" as unknown as number };
  assert.deepEqual(new Context(m).groups.get(1)?.sentinel_fence, {});
});
