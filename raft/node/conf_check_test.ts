import assert from "node:assert/strict";
import { OwnConfView } from "./conf_check.ts";

Deno.test("own conf view: changes about this node that its view contradicts throw; consistent ones pass", () => {
  const v = new OwnConfView(4, { voters: [1, 2, 3], learners: [] });
  // A remove and a re-add of this node applied in one batch are consistent.
  v.apply({ type: "addLearner", id: 4, addr: "a" });
  v.apply({ type: "promote", id: 4 });
  v.apply({ type: "remove", id: 4 });
  v.apply({ type: "addLearner", id: 4, addr: "a" });
  v.apply({ type: "addLearner", id: 5, addr: "b" });
  assert.throws(() => v.apply({ type: "addLearner", id: 4, addr: "a" }), /sees itself as a learner/);
  const founder = new OwnConfView(4, { voters: [1, 2, 3, 4], learners: [] });
  assert.throws(() => founder.apply({ type: "addLearner", id: 4, addr: "a" }), /founded a group of its own/);
  assert.throws(() => new OwnConfView(4, { voters: [1, 4], learners: [] }).apply({ type: "promote", id: 4 }));
  assert.throws(() => new OwnConfView(4, { voters: [4], learners: [] }).apply({ type: "addVoter", id: 4 }));
  // Changes about other members are never checked here.
  new OwnConfView(4, { voters: [1, 2, 3], learners: [] }).apply({ type: "promote", id: 9 });
});
