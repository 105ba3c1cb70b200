import assert from "node:assert/strict";
import { decodeReplicaGuard, replicaGuardPath, replicaGuardWrites } from "./replica_guard_record.ts";
import { encodeJson, ModelCache, writeToOp } from "./model_cache.ts";
import { applyWrites, Context } from "./context.ts";

Deno.test("replica guard record: decode keeps address → decimal priority entries only", () => {
  assert.deepEqual(decodeReplicaGuard({ servers: { "h:1": "42", "h:2": 7, "h:3": "x", "": "1" } }), {
    servers: { "h:1": "42" },
  });
  assert.deepEqual(decodeReplicaGuard(null), { servers: {} });
  assert.deepEqual(decodeReplicaGuard({ servers: "no" }), { servers: {} });
});

Deno.test("replica guard record: a write only when the record changes", () => {
  const cur = new Map([["h:1", "42"]]);
  assert.deepEqual(replicaGuardWrites(cur, new Map([["h:1", "42"]])), []);
  assert.deepEqual(replicaGuardWrites(cur, new Map()), [{ kind: "replica-guard", record: { servers: {} } }]);
  assert.deepEqual(replicaGuardWrites(cur, new Map([["h:1", "42"], ["h:2", "100"]])), [
    { kind: "replica-guard", record: { servers: { "h:1": "42", "h:2": "100" } } },
  ]);
});

Deno.test("replica guard record: stored, read back by a model cache and applied in memory alike", () => {
  const w = replicaGuardWrites(new Map(), new Map([["h:1", "42"]]));
  const op = writeToOp("p", w[0]);
  assert.equal(op.op === "put" && op.path, replicaGuardPath("p"));
  const cache = new ModelCache("p");
  assert.ok(cache.apply("put", "/codis3/p/replica-guard", 5, op.op === "put" ? op.data : undefined));
  assert.deepEqual([...cache.context().replicaGuard], [["h:1", "42"]]);
  assert.equal(cache.isRoutingPath("/codis3/p/replica-guard"), false);
  const mem = new Context(applyWrites({ slots: [], groups: [], proxies: [] }, w));
  assert.deepEqual([...mem.replicaGuard], [["h:1", "42"]]);
  // An older event (a load raced by a watch) does not undo a newer record.
  cache.apply("put", "/codis3/p/replica-guard", 4, encodeJson({ servers: {} }));
  assert.deepEqual([...cache.context().replicaGuard], [["h:1", "42"]]);
});
