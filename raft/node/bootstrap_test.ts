import assert from "node:assert/strict";
import { bootstrapDecision } from "./status.ts";

const peers = new Map([[1, "a:1"], [2, "a:2"], [3, "a:3"]]);

Deno.test("raft bootstrap: an empty data dir founds only when told to, or when the node is alone", () => {
  assert.equal(bootstrapDecision({ id: 1, peers, bootstrap: "new" }, true), "found");
  assert.equal(bootstrapDecision({ id: 1, peers, bootstrap: "existing" }, true), "wait");
  assert.equal(bootstrapDecision({ id: 1, peers }, true), "wait", "existing is the default");
  // A group of one (Codis's single dashboard: raft_peers empty, or only itself) has nobody to lose data to.
  assert.equal(bootstrapDecision({ id: 1, peers: new Map() }, true), "found");
  assert.equal(bootstrapDecision({ id: 1, peers: new Map([[1, "a:1"]]) }, true), "found");
});

Deno.test("raft bootstrap: joiners and unlisted nodes wait; a data dir with data is recovered whatever the mode", () => {
  assert.equal(bootstrapDecision({ id: 1, peers, bootstrap: "new", join: true }, true), "wait");
  assert.equal(bootstrapDecision({ id: 4, peers, bootstrap: "new" }, true), "wait");
  assert.equal(bootstrapDecision({ id: 1, peers, bootstrap: "new" }, false), "recover");
  assert.equal(bootstrapDecision({ id: 1, peers, bootstrap: "existing" }, false), "recover");
});
