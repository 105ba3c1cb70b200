import assert from "node:assert/strict";
import { encodeJson, ModelCache, writeToOp } from "./model_cache.ts";
import { createGroup, groupAddServer } from "./group_ops.ts";
import { createSlotAction } from "./slot_actions.ts";
import { applyWrites, Context, type Write } from "./context.ts";
import { buildModel } from "./testing.ts";
import { slotPath } from "../store/paths.ts";

const dec = new TextDecoder();

Deno.test("model cache: writes encode to Codis's paths and JSON", () => {
  const op = writeToOp("demo", { kind: "slot", slot: { id: 7, group_id: 2, action: { index: 0, state: "" } } });
  assert.equal(op.op, "put");
  assert.equal(op.path, "/codis3/demo/slots/slot-0007");
  assert.deepEqual(JSON.parse(dec.decode(op.op === "put" ? op.data : undefined)), { id: 7, group_id: 2, action: {} });
  assert.deepEqual(writeToOp("demo", { kind: "group-remove", gid: 12 }), {
    op: "delete",
    path: "/codis3/demo/group/group-0012",
  });
  assert.equal(writeToOp("demo", { kind: "proxy-remove", token: "abc" }).path, "/codis3/demo/proxy/proxy-abc");
  assert.equal(writeToOp("demo", { kind: "sentinel", sentinel: { out_of_sync: true } }).path, "/codis3/demo/sentinel");
  assert.equal(dec.decode(encodeJson({ a: 1 })), '{\n    "a": 1\n}');
});

Deno.test("model cache: ops replayed as events rebuild the model and per-node revisions", () => {
  let model = buildModel({ proxies: [{}] });
  const cache = new ModelCache("demo");
  let rev = 0;
  const run = (writes: Write[]) => {
    model = applyWrites(model, writes);
    for (const w of writes) {
      const op = writeToOp("demo", w);
      cache.applyEvent(
        op.op === "put"
          ? { type: "put", path: op.path, revision: ++rev, data: op.data }
          : { type: "delete", path: op.path, revision: ++rev },
      );
    }
  };
  run([{ kind: "proxy", proxy: model.proxies[0] }]);
  run(createGroup(new Context(model), 1));
  run(createGroup(new Context(model), 2));
  run(groupAddServer(new Context(model), 1, "a:1"));
  run(groupAddServer(new Context(model), 2, "b:1"));
  run([{ kind: "slot", slot: { id: 5, group_id: 1, action: {} } }]);
  run(createSlotAction(new Context(model), 5, 2));
  assert.deepEqual(cache.model().slots, model.slots);
  assert.deepEqual(cache.model().groups, model.groups);
  assert.deepEqual(cache.model().proxies, model.proxies);
  assert.equal(cache.slotRevision(5), 7);
  assert.equal(cache.slotRevision(6), 0);
  assert.equal(cache.groupRevision(2), 5);
  assert.equal(cache.revision, 7);
  run([{ kind: "group-remove", gid: 2 }, { kind: "proxy-remove", token: "t1" }]);
  assert.deepEqual(cache.model().groups.map((g) => g.id), [1]);
  assert.deepEqual(cache.model().proxies, []);
  assert.equal(cache.context().getGroupMaster(1), "a:1");
});

Deno.test("model cache: unrelated paths, bad JSON and deleted slots", () => {
  const cache = new ModelCache("demo");
  const enc = new TextEncoder();
  assert.equal(cache.apply("put", "/codis3/demo/topom", 1, enc.encode("{}")), false);
  assert.equal(cache.apply("put", "/codis3/other/slots/slot-0001", 2, enc.encode("{}")), false);
  assert.equal(cache.apply("put", "/codis3/demo/slots/slot-9999", 2, enc.encode("{}")), false);
  assert.equal(cache.apply("put", "/codis3/demo/slots/slot-0001/x", 2, enc.encode("{}")), false);
  cache.load([
    {
      path: "/codis3/demo/slots/slot-0003",
      data: enc.encode('{"id":3,"group_id":4,"action":{}}'),
      stat: { modRevision: 9 },
    },
    {
      path: "/codis3/demo/sentinel",
      data: enc.encode('{"servers":["s:1"],"out_of_sync":true}'),
      stat: { modRevision: 4 },
    },
    { path: "/codis3/demo/slots/slot-0004", data: enc.encode("not json") },
  ], 12);
  assert.equal(cache.model().slots[3].group_id, 4);
  assert.equal(cache.model().slots[4].group_id, 0);
  assert.deepEqual(cache.model().sentinel, { servers: ["s:1"], out_of_sync: true });
  assert.equal(cache.slotRevision(3), 9);
  assert.equal(cache.revision, 12);
  cache.applyEvent({ type: "delete", path: "/codis3/demo/slots/slot-0003", revision: 13 });
  assert.equal(cache.model().slots[3].group_id, 0);
  assert.equal(cache.slotRevision(3), 13);
});

Deno.test("model cache: slots changed since a revision include those of changed groups", () => {
  const enc = new TextEncoder();
  const cache = new ModelCache("demo");
  const slot = (id: number, gid: number, target?: number) =>
    enc.encode(
      JSON.stringify({ id, group_id: gid, action: target ? { index: 1, state: "pending", target_id: target } : {} }),
    );
  const group = (id: number) => enc.encode(JSON.stringify({ id, servers: [], promoting: {}, out_of_sync: false }));
  cache.apply("put", "/codis3/demo/group/group-0001", 1, group(1));
  cache.apply("put", "/codis3/demo/group/group-0002", 2, group(2));
  cache.apply("put", "/codis3/demo/slots/slot-0000", 3, slot(0, 1));
  cache.apply("put", "/codis3/demo/slots/slot-0001", 4, slot(1, 2));
  cache.apply("put", "/codis3/demo/slots/slot-0002", 5, slot(2, 1, 2));
  assert.deepEqual(cache.changedSlotIds(4), [2]);
  cache.apply("put", "/codis3/demo/group/group-0002", 6, group(2));
  assert.deepEqual(cache.changedSlotIds(5), [1, 2]);
  assert.deepEqual(cache.changedSlotIds(0), [0, 1, 2]);
  assert.equal(cache.sentinelRevision(), 0);
});

/*
 * A (re)load reads the store's revision first, then the nodes, then follows changes after that revision. Changes
 * made in between arrive again as events, older than what the read returned. A Raft store hands them out in
 * batches of about 1000, so an older state of a node can be applied — and answered to proxies, who then ack the
 * load's routing revision — before the batch with the node's newer state arrives. The cache must never go back.
 */
const P = "demo";
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const slotInState = (id: number, state: string) => ({ id, group_id: 1, action: { index: 1, state, target_id: 2 } });

Deno.test("model cache: an event older than a node's read state does not replace it", () => {
  const c = new ModelCache(P);
  c.load([{ path: slotPath(P, 5), data: json(slotInState(5, "prepared")), stat: { modRevision: 105 } }], 100);
  c.applyEvent({ type: "put", path: slotPath(P, 5), revision: 103, data: json(slotInState(5, "preparing")) });
  assert.equal(c.model().slots[5].action.state, "prepared");
  assert.equal(c.slotRevision(5), 105);
  c.applyEvent({ type: "put", path: slotPath(P, 5), revision: 107, data: json(slotInState(5, "migrating")) });
  assert.equal(c.model().slots[5].action.state, "migrating");
  assert.equal(c.slotRevision(5), 107);
});
