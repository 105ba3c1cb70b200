import assert from "node:assert/strict";
import {
  BadRequestError,
  matchRoute,
  PARAMS,
  parseJsonBody,
  type RouteMatch,
  ROUTES,
  slotsAssignBody,
  validateParams,
} from "./api_schemas.ts";

function match(method: string, path: string): RouteMatch {
  const m = matchRoute(method, path);
  assert.ok(m && "route" in m, `${method} ${path} should match`);
  return m;
}

function bad(f: () => unknown, re: RegExp) {
  assert.throws(f, (e: Error) => {
    assert.ok(e instanceof BadRequestError);
    assert.equal(e.status, 400);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("api: every route has a params schema and paths are unique per method", () => {
  const seen = new Set<string>();
  for (const r of ROUTES) {
    assert.ok(r.name in PARAMS, r.name);
    const key = `${r.method} ${r.path}`;
    assert.ok(!seen.has(key), key);
    seen.add(key);
  }
  assert.equal(ROUTES.length, 44);
});

Deno.test("api: routes match with decoded params, optional datacenter and 405", () => {
  const add = match("PUT", "/api/topom/group/add/abc/1/127.0.0.1%3A6379");
  assert.equal(add.route.name, "group/add");
  assert.deepEqual(add.params, { xauth: "abc", gid: "1", addr: "127.0.0.1:6379" });
  assert.deepEqual(validateParams("group/add", add.params), { xauth: "abc", gid: 1, addr: "127.0.0.1:6379" });
  const dc = match("PUT", "/api/topom/group/add/abc/1/127.0.0.1:6379/dc1");
  assert.equal(validateParams("group/add", dc.params).datacenter, "dc1");
  assert.equal(match("PUT", "/api/topom/slots/assign/x/offline").route.name, "slots/assign/offline");
  assert.equal(match("PUT", "/api/topom/slots/assign/x").route.name, "slots/assign");
  assert.equal(match("PUT", "/api/topom/group/promote/x/1").route.name, "group/promote-best");
  assert.equal(match("PUT", "/api/topom/group/promote/x/1/h:1").route.name, "group/promote");
  assert.equal(match("GET", "/api/topom/sentinels/info/h:1/monitored").route.name, "sentinels/info/monitored");
  assert.equal(match("get", "/api/topom/model/").route.name, "model");
  assert.equal(match("GET", "/topom/stats").route.name, "topom/stats");
  assert.deepEqual(matchRoute("GET", "/api/topom/group/create/x/1"), { methodNotAllowed: true });
  assert.equal(matchRoute("PUT", "/api/topom/nothing/here"), undefined);
  assert.equal(matchRoute("PUT", "/api/topom/group/create/x/%E0%A4%A"), undefined);
});

Deno.test("api: integer and range parameters", () => {
  assert.deepEqual(validateParams("slots/action/create", { xauth: "x", sid: "1023", gid: "9999" }), {
    xauth: "x",
    sid: 1023,
    gid: 9999,
  });
  bad(
    () => validateParams("slots/action/create", { xauth: "x", sid: "1024", gid: "1" }),
    /invalid slot id "1024": expected an integer in 0\.\.1023/,
  );
  bad(
    () => validateParams("group/create", { xauth: "x", gid: "0" }),
    /invalid group id "0": expected an integer in 1\.\.9999/,
  );
  bad(() => validateParams("group/create", { xauth: "x", gid: "1e3" }), /invalid group id "1e3"/);
  bad(() => validateParams("group/create", { xauth: "x", gid: "" }), /invalid group id ""/);
  bad(() => validateParams("group/create", { xauth: "", gid: "1" }), /missing xauth/);
  bad(
    () => validateParams("slots/action/create-range", { xauth: "x", beg: "10", end: "5", gid: "1" }),
    /beg must not exceed end/,
  );
  assert.deepEqual(validateParams("slots/action/create-some", { xauth: "x", src: "0", dst: "2", num: "100" }), {
    xauth: "x",
    src: 0,
    dst: 2,
    num: 100,
  });
  assert.equal(validateParams("slots/action/interval", { xauth: "x", value: "-5" }).value, -5);
});

Deno.test("api: booleans, addresses, tokens and log levels", () => {
  assert.equal(validateParams("slots/rebalance", { xauth: "x", confirm: "1" }).confirm, true);
  assert.equal(validateParams("slots/rebalance", { xauth: "x", confirm: "0" }).confirm, false);
  assert.equal(validateParams("slots/action/disabled", { xauth: "x", value: "true" }).value, true);
  bad(
    () => validateParams("proxy/remove", { xauth: "x", token: "t", force: "yes" }),
    /invalid force "yes": expected 0 or 1/,
  );
  bad(
    () => validateParams("group/promote", { xauth: "x", gid: "1", addr: "localhost" }),
    /invalid address "localhost": expected HOST:PORT/,
  );
  bad(() => validateParams("group/promote", { xauth: "x", gid: "1", addr: ":6379" }), /invalid address/);
  bad(() => validateParams("group/promote", { xauth: "x", gid: "1", addr: "h:70000" }), /invalid address/);
  assert.equal(validateParams("group/info", { addr: "[::1]:6379" }).addr, "[::1]:6379");
  bad(() => validateParams("proxy/reinit", { xauth: "x", token: "a b" }), /invalid proxy token/);
  assert.equal(validateParams("loglevel", { xauth: "x", value: "warning" }).value, "WARN");
  bad(() => validateParams("loglevel", { xauth: "x", value: "loud" }), /invalid log level "loud"/);
});

Deno.test("api: slots/assign body", () => {
  assert.deepEqual(parseJsonBody(slotsAssignBody, '[{"id":1,"group_id":2,"action":{}}]'), [
    { id: 1, group_id: 2, action: {} },
  ]);
  bad(() => parseJsonBody(slotsAssignBody, "[{"), /request body is not valid JSON/);
  bad(() => parseJsonBody(slotsAssignBody, '{"id":1}'), /body must be a JSON array/);
  bad(
    () => parseJsonBody(slotsAssignBody, '[{"id":1,"group_id":2},{"id":1024,"group_id":1}]'),
    /^body\.1\.id: slot id must be in 0\.\.1023/,
  );
  bad(() => parseJsonBody(slotsAssignBody, '[{"id":"1","group_id":2}]'), /body\.0\.id: slot id must be a number/);
  bad(() => parseJsonBody(slotsAssignBody, '[{"id":1}]'), /body\.0\.group_id/);
});
