import assert from "node:assert/strict";
import { BadRequestError, matchRoute, type RouteMatch, validateParams } from "./api_schemas.ts";
import { applyWrites, type ClusterModel, Context, type TopomError } from "./context.ts";
import { isPureRoute, runPureRoute } from "./pure_routes.ts";
import { buildModel } from "./testing.ts";

/** Drives a request path through match → validate → transition → apply, as the HTTP layer would. */
function call(model: ClusterModel, path: string, bodyText?: string): { model: ClusterModel; result: unknown } {
  const m = matchRoute("PUT", path) as RouteMatch;
  assert.ok(m && "route" in m, path);
  const params = validateParams(m.route.name, m.params);
  const out = runPureRoute(m.route.name, new Context(model), params, { executorsRunning: 0, bodyText });
  return { model: applyWrites(model, out.writes), result: out.result };
}

Deno.test("pure routes: a cluster is set up and rebalanced through request paths", () => {
  let model = buildModel({});
  for (const g of [1, 2]) {
    model = call(model, `/api/topom/group/create/x/${g}`).model;
    model = call(model, `/api/topom/group/add/x/${g}/127.0.0.1:${6379 + g}/dc1`).model;
  }
  const body = JSON.stringify(Array.from({ length: 1024 }, (_, id) => ({ id, group_id: 1 })));
  model = call(model, "/api/topom/slots/assign/x", body).model;
  assert.ok(model.slots.every((s) => s.group_id === 1));
  const preview = call(model, "/api/topom/slots/rebalance/x/0");
  assert.equal(Object.keys(preview.result as object).length, 512);
  assert.deepEqual(preview.model, model);
  const confirmed = call(model, "/api/topom/slots/rebalance/x/1");
  assert.equal(confirmed.model.slots.filter((s) => s.action.state === "pending").length, 512);
  model = call(confirmed.model, "/api/topom/slots/action/remove/x/1023").model;
  assert.equal(model.slots[1023].action.state, undefined);
  assert.equal(
    call(model, "/api/topom/slots/action/create-some/x/1/2/3").model.slots.filter((s) => s.action.state).length,
    514,
  );
});

Deno.test("pure routes: refusals keep their status; bad bodies are 400", () => {
  const model = buildModel({ groups: { 1: ["a:1"] } });
  assert.throws(() => call(model, "/api/topom/group/create/x/1"), (e: TopomError) => e.status === 409);
  assert.throws(() => call(model, "/api/topom/group/remove/x/7"), (e: TopomError) => e.status === 404);
  assert.throws(() => call(model, "/api/topom/slots/assign/x", "[{]"), BadRequestError);
  assert.throws(() => call(model, "/api/topom/slots/assign/x/offline", '[{"id":1,"group_id":1}]'), /should be 0/);
  assert.ok(isPureRoute("group/promote"));
  assert.ok(!isPureRoute("proxy/remove"));
  assert.throws(
    () =>
      runPureRoute("proxy/remove", new Context(model), { xauth: "x", token: "t", force: true }, {
        executorsRunning: 0,
      }),
    /not a pure transition/,
  );
});
