import assert from "node:assert/strict";
import { applyWrites, Context } from "./context.ts";
import {
  addSentinel,
  createProxy,
  delSentinel,
  findProxyByAddr,
  onlineProxy,
  removeProxy,
  sentinelSync,
} from "./proxy_ops.ts";
import { buildModel } from "./testing.ts";

Deno.test("proxy ops: ids grow from the max, tokens are unique, online keeps the id", () => {
  const m = buildModel({ proxies: [{}, { id: 7 }] });
  const ctx = new Context(m);
  const p = { ...m.proxies[0], token: "new", id: undefined };
  const w = createProxy(ctx, p);
  assert.equal(w[0].kind === "proxy" && w[0].proxy.id, 8);
  assert.throws(() => createProxy(ctx, m.proxies[0]), /proxy-\[t1\] already exists/);
  const again = onlineProxy(ctx, { ...m.proxies[1], admin_addr: "h:2" });
  assert.equal(again[0].kind === "proxy" && again[0].proxy.id, 7);
  assert.equal(
    onlineProxy(ctx, p)[0].kind === "proxy" && (onlineProxy(ctx, p)[0] as { proxy: { id: number } }).proxy.id,
    8,
  );
  assert.equal(findProxyByAddr(ctx, m.proxies[1].admin_addr)?.token, "t2");
  assert.deepEqual(removeProxy(ctx, "t1", false, false), [{ kind: "proxy-remove", token: "t1" }]);
  assert.throws(() => removeProxy(ctx, "t1", false, true), /proxy-\[t1\] shutdown failed/);
  assert.deepEqual(removeProxy(ctx, "t1", true, true), [{ kind: "proxy-remove", token: "t1" }]);
  assert.throws(() => removeProxy(ctx, "zz", true, false), /proxy-\[zz\] doesn't exist/);
});

Deno.test("sentinel ops: add, delete and resync bookkeeping", () => {
  let m = buildModel({ sentinels: ["s:1"] });
  assert.throws(() => addSentinel(new Context(m), "s:1"), /sentinel-\[s:1\] already exists/);
  m = applyWrites(m, addSentinel(new Context(m), "s:2"));
  assert.deepEqual(m.sentinel, { servers: ["s:1", "s:2"], out_of_sync: true });
  const del = delSentinel(new Context(m), "s:1");
  assert.deepEqual(del.after, [{ kind: "sentinel", sentinel: { servers: ["s:2"], out_of_sync: true } }]);
  assert.throws(() => delSentinel(new Context(m), "s:9"), /sentinel-\[s:9\] not found/);
  m = applyWrites(m, sentinelSync(new Context(m), true));
  assert.equal(m.sentinel!.out_of_sync, false);
});
