import { equal, ok, rejects } from "node:assert/strict";
import { ProxyAdminClient, ProxyApiError } from "../topom/server/proxy_client.ts";
import { slotOf } from "../proxy/hash.ts";
import { parseMetricsText } from "../proxy/metrics.ts";
import { startProxyFixture } from "../testing/proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("proxy admin API on a live proxy: xauth, stats, fillslots moves routing, metrics", async () => {
  const f = await startProxyFixture(2, { product_name: "live", product_auth: "pa" }, { requirepass: "pa" });
  try {
    const addr = `127.0.0.1:${f.adminPort}`;
    const admin = new ProxyAdminClient(addr, { productName: "live", productAuth: "pa" });
    const model = await admin.model();
    admin.setToken(model.token);
    await admin.xping();
    const wrong = new ProxyAdminClient(addr, { productName: "live", productAuth: "not-it" });
    wrong.setToken(model.token);
    await rejects(wrong.xping(), (e) => e instanceof ProxyApiError && e.status === 403);

    const c = f.client();
    const key = "moving-key";
    const slot = slotOf(enc(key));
    const from = slot < 512 ? 0 : 1;
    const to = 1 - from;
    equal(await c.set(key, "before"), "OK");
    equal(await f.direct(from, slot).get(key), "before");

    // Point the slot at the other backend: new writes land there, in database `slot`.
    await admin.fillSlots([{ id: slot, backend_addr: f.backends[to].addr, backend_addr_group_id: to + 1 }]);
    equal((await admin.slots())[slot].backend_addr, f.backends[to].addr);
    equal(await c.get(key), null);
    equal(await c.set(key, "after"), "OK");
    equal(await f.direct(to, slot).get(key), "after");

    const stats = await admin.stats(1);
    ok(stats.ops.total >= 4);
    ok(stats.ops.cmd?.some((x) => x.opstr === "SET" && x.calls >= 2));
    equal(stats.online, true);

    const text = await (await fetch(`http://${addr}/metrics`)).text();
    const parsed = parseMetricsText(text);
    const total = parsed.samples.find((s) => s.name === "codis_proxy_ops_total");
    ok(total && total.value >= 4);
    ok(parsed.samples.some((s) => s.name.startsWith("codis_proxy_backend") && s.labels.addr === f.backends[0].addr));
  } finally {
    await f.stop();
  }
});
