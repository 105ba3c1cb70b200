import assert from "node:assert/strict";
import { matchRoute, type RouteMatch, validateParams } from "./api_schemas.ts";
import { applyWrites, type ClusterModel, Context, TopomError } from "./context.ts";
import { ModelCache, writeToOp } from "./model_cache.ts";
import { runPureRoute } from "./pure_routes.ts";
import {
  decodeSlotActionSettings,
  DEFAULT_SLOT_ACTION,
  setSlotActionDisabled,
  setSlotActionInterval,
  slotActionPath,
} from "./slot_action_settings.ts";
import { checkResumable } from "./slot_actions.ts";
import { buildModel } from "./testing.ts";

const dec = new TextDecoder();

function put(model: ClusterModel, path: string): ClusterModel {
  const m = matchRoute("PUT", path) as RouteMatch;
  assert.ok(m && "route" in m, path);
  const out = runPureRoute(m.route.name, new Context(model), validateParams(m.route.name, m.params), {
    executorsRunning: 0,
  });
  return applyWrites(model, out.writes);
}

Deno.test("slot-action settings: a fresh model is enabled with interval 0; the routes store both fields", () => {
  let model = buildModel({});
  assert.deepEqual(new Context(model).slotAction, { interval: 0, disabled: false });
  model = put(model, "/api/topom/slots/action/disabled/x/1");
  assert.deepEqual(model.slot_action, { interval: 0, disabled: true });
  model = put(model, "/api/topom/slots/action/interval/x/5000000");
  assert.deepEqual(model.slot_action, { interval: 1_000_000, disabled: true }, "clamped, disabled kept");
  model = put(model, "/api/topom/slots/action/disabled/x/0");
  assert.deepEqual(new Context(model).slotAction, { interval: 1_000_000, disabled: false });
  model = put(model, "/api/topom/slots/action/interval/x/-3");
  assert.equal(model.slot_action?.interval, 0);
  // Unchanged values write nothing.
  assert.deepEqual(setSlotActionDisabled(new Context(model), false), []);
  assert.deepEqual(setSlotActionInterval(new Context(model), 0), []);
});

Deno.test("slot-action settings: stored at /codis3/{product}/slot-action and followed by the model cache", () => {
  const w = setSlotActionDisabled(new Context(buildModel({})), true);
  assert.equal(w.length, 1);
  const op = writeToOp("demo", w[0]);
  assert.equal(op.op, "put");
  assert.equal(op.path, "/codis3/demo/slot-action");
  assert.equal(op.path, slotActionPath("demo"));
  assert.deepEqual(JSON.parse(dec.decode(op.op === "put" ? op.data : undefined)), { interval: 0, disabled: true });

  const cache = new ModelCache("demo");
  assert.deepEqual(cache.slotAction(), DEFAULT_SLOT_ACTION);
  assert.equal(cache.model().slot_action, undefined);
  assert.ok(cache.applyEvent({ type: "put", path: op.path, revision: 3, data: op.op === "put" ? op.data : undefined }));
  assert.deepEqual(cache.slotAction(), { interval: 0, disabled: true });
  assert.deepEqual(cache.context().slotAction, { interval: 0, disabled: true });
  assert.equal(cache.revision, 3);
  // Not a routing change: proxies are not woken for it.
  assert.equal(cache.isRoutingPath(op.path), false);
  assert.equal(cache.isRoutingPath("/codis3/demo/slots/slot-0001"), true);
  assert.equal(cache.isRoutingPath("/codis3/demo/proxy/proxy-abc"), false);
  // Another product's node is ignored; a deleted node means the defaults again.
  assert.equal(cache.applyEvent({ type: "put", path: slotActionPath("other"), revision: 4, data: op.data }), false);
  cache.applyEvent({ type: "delete", path: op.path, revision: 5 });
  assert.deepEqual(cache.slotAction(), DEFAULT_SLOT_ACTION);
});

Deno.test("slot-action settings: a hand-written or partial node decodes to sane values", () => {
  assert.deepEqual(decodeSlotActionSettings({ disabled: true }), { interval: 0, disabled: true });
  assert.deepEqual(decodeSlotActionSettings({ interval: 2e6, disabled: "yes", extra: 1 }), {
    interval: 1_000_000,
    disabled: false,
  });
  assert.deepEqual(decodeSlotActionSettings(null), DEFAULT_SLOT_ACTION);
  const cache = new ModelCache("demo");
  cache.applyEvent({ type: "put", path: slotActionPath("demo"), revision: 1, data: new TextEncoder().encode("{") });
  assert.deepEqual(cache.slotAction(), DEFAULT_SLOT_ACTION, "undecodable JSON counts as absent");
});

Deno.test("slots/action/resume: only a paused migrating slot, and not while actions are disabled", () => {
  const migrating = { id: 7, group_id: 1, action: { index: 1, state: "migrating" as const, target_id: 2 } };
  const status = (f: () => void) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof TopomError);
      return `${e.status} ${e.message}`;
    }
    return "ok";
  };
  assert.equal(status(() => checkResumable(migrating, { paused: true }, false)), "ok");
  assert.equal(
    status(() => checkResumable({ id: 7, group_id: 1, action: {} }, undefined, false)),
    "404 slot-[7] action doesn't exist",
  );
  assert.match(
    status(() => checkResumable({ ...migrating, action: { ...migrating.action, state: "pending" } }, undefined, false)),
    /^409 slot-\[7\] action isn't migrating/,
  );
  assert.equal(
    status(() => checkResumable(migrating, { paused: false }, false)),
    "409 slot-[7] migration isn't paused",
  );
  assert.equal(status(() => checkResumable(migrating, undefined, false)), "409 slot-[7] migration isn't paused");
  assert.match(status(() => checkResumable(migrating, { paused: true }, true)), /^409 slot actions are disabled/);
  assert.deepEqual(
    validateParams(
      "slots/action/resume",
      (matchRoute("PUT", "/api/topom/slots/action/resume/x/1023") as RouteMatch)
        .params,
    ),
    { xauth: "x", sid: 1023 },
  );
  assert.throws(() => validateParams("slots/action/resume", { xauth: "x", sid: "1024" }), /invalid slot id/);
});
