import assert from "node:assert/strict";
import { proxyXAuth } from "../util/xauth.ts";
import { withWorkerProxy } from "../testing/worker_proxy.ts";
import { keyIn, slotOfKey } from "../testing/skewed_load.ts";
import { sleep } from "../testing/wait.ts";

Deno.test("proxy load statistics: every worker thread counted, hot and big keys behind the xauth, per-group /metrics, reset", async () => {
  const opts = {
    workers: 2,
    product: "ld",
    clients: 8,
    extraArgs: ["--hotkeys_sample_every=1", "--bigkeys_threshold=64kb"],
  };
  await withWorkerProxy(opts, async ({ proxy: p, clients, admin, token }) => {
    const hot = keyIn("hot:", 0, 511); // group 1 (standalone: slots 0-511 on the first backend)
    const big = keyIn("big:", 512, 1023);
    for (const c of clients) for (let i = 0; i < 50; i++) await c.get(hot);
    assert.equal(await clients[0].set(big, "x".repeat(200_000)), "OK");
    assert.equal(await clients[0].get("other"), null);

    const base = `http://127.0.0.1:${p.adminPort}`;
    const x = proxyXAuth("ld", "", token);
    await sleep(1200); // workers report every second
    const load = await admin.load();
    const hotSlot = load.slots.slots.find((e) => e.id === slotOfKey(hot));
    assert.equal(hotSlot?.requests, 400, JSON.stringify(hotSlot)); // 8 clients, on both threads, 50 GETs each
    assert.equal(load.hotkeys.keys[0].key, hot);
    assert.deepEqual(load.bigkeys.keys.map((k) => [k.key, k.kind, k.bytes > 200_000]), [[big, "request", true]]);

    // Key names need the xauth; the per-slot numbers are public like /proxy/stats.
    for (const route of ["hotkeys", "bigkeys", "slots/stats", "load"]) {
      const r = await fetch(`${base}/api/proxy/${route}/${"0".repeat(32)}`);
      assert.equal(r.status, 403, route);
      await r.body?.cancel();
    }
    const bare = await fetch(`${base}/proxy/hotkeys`);
    assert.equal(bare.status, 401);
    assert.match((await bare.json()).Cause, /\/api\/proxy\/hotkeys\/:xauth/);
    const pub = await (await fetch(`${base}/proxy/slots/stats`)).json();
    assert.ok(pub.slots.some((e: { id: number }) => e.id === slotOfKey(hot)));
    const viaX = await (await fetch(`${base}/api/proxy/hotkeys/${x}`)).json();
    assert.equal(viaX.keys[0].key, hot);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    const g1 = Number(/^codis_proxy_group_requests_total\{group_id="1"\} (\d+)/m.exec(metrics)?.[1]);
    assert.ok(g1 >= 401, `group 1 requests ${g1}`);
    assert.ok(!/codis_proxy_group_\w+\{[^}]*(slot|key)=/.test(metrics), "no per-slot or per-key labels");

    await admin.resetStats();
    await sleep(1200);
    const after = await admin.load();
    assert.equal(after.slots.slots.length, 0);
    assert.equal(after.bigkeys.keys.length, 0);
  });
});
