import { equal, ok } from "node:assert/strict";
import { Redis } from "ioredis";
import { evenSlotRanges, type Slot } from "../models/slots.ts";
import { defaultProxyConfig } from "../proxy/core/config.ts";
import { DashboardClient, type DashboardClientOptions } from "../proxy/dashboard_client.ts";
import { Proxy } from "../proxy/proxy.ts";
import { newXAuth } from "../util/xauth.ts";
import { freePort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";

/** A stand-in dashboard speaking the proxy protocol; the real one has its own tests. */
/** A client of the product "fake" for `proxy` (admin address 127.0.0.1:1), given the dashboards `addrs`. */
function fakeProductClient(proxy: Proxy, addrs: string[], more: Partial<DashboardClientOptions> = {}): DashboardClient {
  return new DashboardClient(proxy, {
    addrs,
    productName: "fake",
    productAuth: "",
    adminAddr: "127.0.0.1:1",
    pollTimeoutMs: 1000,
    ...more,
  });
}

function fakeDashboard(opts: { redirectTo?: () => string }) {
  const xauth = newXAuth("fake", "");
  const seen: { applied: number; since: number }[] = [];
  let registered = "";
  let revision = 0;
  let slots: Slot[] = [];
  let changed: Slot[] = [];
  const waiters: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const parts = url.pathname.split("/");
    if (opts.redirectTo) {
      return Response.json({ Cause: "not leader", leader: opts.redirectTo() }, { status: 421 });
    }
    if (parts[4] === "online" && parts[5] === xauth) {
      registered = parts[6];
      return Response.json("OK");
    }
    if (parts[4] === "watch" && parts[5] === xauth) {
      const since = Number(url.searchParams.get("since"));
      seen.push({ applied: Number(url.searchParams.get("applied")), since });
      if (since === 0) return Response.json({ revision, full: true, slots });
      if (revision === since) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 500);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return Response.json({ revision, full: false, slots: revision > since ? changed : [] });
    }
    return Response.json({ Cause: "not found" }, { status: 404 });
  });
  return {
    addr: `127.0.0.1:${server.addr.port}`,
    seen,
    registered: () => registered,
    publish(all: Slot[], delta: Slot[]) {
      slots = all;
      changed = delta;
      revision++;
      for (const w of waiters.splice(0)) w();
    },
    async close() {
      for (const w of waiters.splice(0)) w();
      await server.shutdown();
    },
  };
}

Deno.test("proxy follows a dashboard: registers, applies the model by long-poll, acks, survives its loss", async () => {
  const backends: RedisProcess[] = [];
  const leader = fakeDashboard({});
  const follower = fakeDashboard({ redirectTo: () => leader.addr });
  const port = freePort();
  const proxy = new Proxy({ ...defaultProxyConfig(), product_name: "fake", proxy_addr: `127.0.0.1:${port}` });
  let client: DashboardClient | null = null;
  let redis: Redis | null = null;
  try {
    backends.push(await startRedis(), await startRedis());
    const all = evenSlotRanges([backends[0].addr]);
    leader.publish(all, all);
    await proxy.listen();
    proxy.setAdminAddr("127.0.0.1:1");
    // Given a follower first: the 421 answer leads the proxy to the leader.
    client = fakeProductClient(proxy, [follower.addr]);
    proxy.dashboard = client;
    await client.start(10_000);
    equal(leader.registered(), "127.0.0.1:1");
    ok(proxy.isOnline());
    redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
    equal(await redis.set("k", "v"), "OK");
    equal(proxy.slots()[5].backend_addr, backends[0].addr);

    // Move slot 5 to the second backend; the next poll reports it applied.
    const moved = { id: 5, backend_addr: backends[1].addr, backend_addr_group_id: 2 };
    leader.publish(all.map((s) => s.id === 5 ? moved : s), [moved]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !leader.seen.some((x) => x.applied >= 2)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    equal(proxy.slots()[5].backend_addr, backends[1].addr);
    ok(leader.seen.some((x) => x.applied === 2), "the applied revision is acknowledged");

    // The dashboard goes away: the proxy keeps serving and says so.
    await leader.close();
    await new Promise((r) => setTimeout(r, 1500));
    equal(await redis.get("k"), "v");
    equal(client.status().connected, false);
  } finally {
    redis?.disconnect();
    await client?.stop();
    await proxy.shutdown();
    await leader.close().catch(() => {});
    await follower.close();
    for (const b of backends) await b.stop();
  }
});

Deno.test("proxy follows a dashboard that moved: after every known address fails, resolveAddrs finds it", async () => {
  const backends: RedisProcess[] = [];
  const dashboard = fakeDashboard({});
  const port = freePort();
  const proxy = new Proxy({ ...defaultProxyConfig(), product_name: "fake", proxy_addr: `127.0.0.1:${port}` });
  let client: DashboardClient | null = null;
  let asked = 0;
  try {
    backends.push(await startRedis());
    const all = evenSlotRanges([backends[0].addr]);
    dashboard.publish(all, all);
    await proxy.listen();
    proxy.setAdminAddr("127.0.0.1:1");
    // The address given at start is dead (the dashboard that was active then); the coordinator knows the new one.
    client = fakeProductClient(proxy, [`127.0.0.1:${freePort()}`], {
      resolveAddrs: () => {
        asked++;
        return Promise.resolve([dashboard.addr]);
      },
    });
    await client.start(10_000);
    ok(asked >= 1);
    ok(proxy.isOnline());
    equal(dashboard.registered(), "127.0.0.1:1");
    equal(client.status().dashboard, dashboard.addr);
  } finally {
    await client?.stop();
    await proxy.shutdown();
    await dashboard.close();
    for (const b of backends) await b.stop();
  }
});

Deno.test("proxy follows a leader hint one hop from a given dashboard, never a hint from one it was not given", async () => {
  const target = fakeDashboard({});
  const relay = fakeDashboard({ redirectTo: () => target.addr });
  const given = fakeDashboard({ redirectTo: () => relay.addr });
  const proxy = new Proxy({ ...defaultProxyConfig(), product_name: "fake", proxy_addr: `127.0.0.1:${freePort()}` });
  let client: DashboardClient | null = null;
  try {
    const all = evenSlotRanges(["127.0.0.1:1"]);
    target.publish(all, all);
    proxy.setAdminAddr("127.0.0.1:1");
    client = fakeProductClient(proxy, [given.addr]);
    proxy.dashboard = client;
    // The given dashboard names `relay` (followed: one hop), which names `target` (not followed): the proxy
    // cycles between the two it may ask and never registers with `target`.
    await client.start(2000).catch(() => {});
    equal(target.registered(), "");
    equal(target.seen.length, 0);
  } finally {
    await client?.stop();
    await proxy.shutdown();
    for (const d of [target, relay, given]) await d.close();
  }
});
