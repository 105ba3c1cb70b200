import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { evenSlotRanges, type ProxyModel, type SentinelModel, type Slot } from "../models/mod.ts";
import { ProxyAdminClient, ProxyApiError } from "../topom/server/proxy_client.ts";
import type { BackendInfo, ProxyControl } from "../proxy/admin/control.ts";
import { expectedXAuth, redactPath, startAdminServer } from "../proxy/admin/server.ts";
import { defaultProxyConfig, type ProxyConfig } from "../proxy/config.ts";
import { parseMetricsText } from "../proxy/metrics.ts";
import { ProxyStats } from "../proxy/stats.ts";
import { logLevel, setLogLevel } from "../util/log.ts";
import { freePort } from "../testing/ports.ts";
import { macAddresses, newToken, newXAuth, proxyToken, proxyXAuth } from "../util/xauth.ts";

const PRODUCT_AUTH = "s3cret-product-auth";

/** A stand-in for the real Proxy: records what the admin API asks of it. */
class FakeProxy implements ProxyControl {
  readonly config: ProxyConfig = { ...defaultProxyConfig(), product_name: "demo", product_auth: PRODUCT_AUTH };
  readonly stats = new ProxyStats();
  online = false;
  closed = false;
  table: Slot[] = evenSlotRanges(["127.0.0.1:6379", "127.0.0.1:6380"]);
  filled: Slot[][] = [];
  sentinels: SentinelModel[] = [];
  rewatched = 0;
  #shutdownCalled = Promise.withResolvers<void>();
  shutdownCalled = this.#shutdownCalled.promise;

  model(): ProxyModel {
    return {
      token: proxyToken(this.config.product_name, "0.0.0.0:19000", "0.0.0.0:11080"),
      start_time: "2026-11-25 15:00:00.000 +0000 UTC",
      admin_addr: "127.0.0.1:11080",
      proto_type: "tcp4",
      proxy_addr: "127.0.0.1:19000",
      product_name: this.config.product_name,
      pid: Deno.pid,
      pwd: Deno.cwd(),
      sys: "linux",
      hostname: "test",
      datacenter: "",
    };
  }
  slots(): Slot[] {
    return this.table;
  }
  fillSlots(slots: Slot[]): void {
    this.filled.push(slots);
    for (const s of slots) this.table[s.id] = s;
  }
  start(): void {
    this.online = true;
  }
  isOnline(): boolean {
    return this.online;
  }
  isClosed(): boolean {
    return this.closed;
  }
  shutdown(): Promise<void> {
    this.closed = true;
    this.online = false;
    this.#shutdownCalled.resolve();
    return Promise.resolve();
  }
  backends(): BackendInfo[] {
    return [{ addr: "127.0.0.1:6379", state: "connected", conns: 1, pending: 0 }, {
      addr: "127.0.0.1:6380",
      state: "connecting",
      conns: 0,
      pending: 0,
    }];
  }
  setSentinels(s: SentinelModel): void {
    this.sentinels.push(s);
  }
  rewatchSentinels(): void {
    this.rewatched++;
  }
}

Deno.test("xauth and token follow Codis's formulas", () => {
  const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);
  assert.equal(newXAuth("p", "a", "t"), sha("Codis-XAuth-[p]-[a]-[t]"));
  assert.equal(proxyXAuth("p", "a", "t"), sha("Codis-XAuth-[p]-[a]-[t]"));
  assert.equal(newXAuth("p"), sha("Codis-XAuth-[p]"));
  assert.notEqual(proxyXAuth("p", "a", "t"), proxyXAuth("p", "b", "t"));
  const md5 = (s: string) => createHash("md5").update(s).digest("hex");
  assert.equal(
    proxyToken("demo", "0.0.0.0:19000", "0.0.0.0:11080", ["02:42:ac:11:00:02", "0a:00:00:00:00:01"]),
    md5("Codis-Token@[02:42:ac:11:00:02 0a:00:00:00:00:01]-{demo}-{0.0.0.0:19000}-{0.0.0.0:11080}"),
  );
  assert.equal(newToken(["x"], []), md5("Codis-Token@[]-{x}"));
  const macs = macAddresses();
  assert.deepEqual(macs, [...macs].sort());
  assert.ok(!macs.includes("00:00:00:00:00:00"));
  assert.equal(redactPath("/api/proxy/loglevel/abcdef/INFO"), "/api/proxy/loglevel/***/INFO");
  assert.equal(redactPath("/api/proxy/stats/reset/abcdef"), "/api/proxy/stats/reset/***");
  assert.equal(redactPath("/api/proxy/fillslots/abcdef"), "/api/proxy/fillslots/***");
});

Deno.test("admin API: every route over real HTTP against a fake proxy", async () => {
  const fake = new FakeProxy();
  const ac = new AbortController();
  const srv = startAdminServer(fake, { hostname: "127.0.0.1", port: 0, signal: ac.signal });
  const base = `http://127.0.0.1:${srv.addr.port}`;
  const xauth = expectedXAuth(fake);
  const bodies: string[] = [];
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      redirect: "manual",
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    bodies.push(text);
    let json: unknown = undefined;
    if (res.headers.get("content-type")?.startsWith("application/json")) json = JSON.parse(text);
    return { status: res.status, json, text, headers: res.headers };
  };
  // deno-lint-ignore no-explicit-any
  const j = (r: { json: unknown }) => r.json as any;
  const expectError = async (method: string, path: string, status: number, cause: RegExp, body?: unknown) => {
    const r = await call(method, path, body);
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.match(j(r).Cause, cause, `${method} ${path}`);
    assert.deepEqual(j(r).Stack, []);
  };
  try {
    assert.equal(xauth, proxyXAuth("demo", PRODUCT_AUTH, fake.model().token));
    const root = await call("GET", "/");
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "/proxy");

    fake.stats.record("get", 12, false, false);
    fake.stats.record("set", 40, false, true);
    const ov = j(await call("GET", "/proxy"));
    assert.deepEqual(Object.keys(ov), ["version", "compile", "config", "model", "stats", "slots"]);
    assert.equal(ov.config.product_name, "demo");
    assert.equal(ov.config.backend_ping_period, "5s");
    assert.equal(ov.config.session_recv_bufsize, "128kb");
    assert.ok(!("product_auth" in ov.config) && !("session_auth" in ov.config));
    assert.equal(ov.model.token, fake.model().token);
    assert.equal(ov.stats.ops.cmd.length, 2);
    assert.ok(ov.stats.runtime);
    assert.equal(ov.slots.length, 1024);

    assert.deepEqual(j(await call("GET", "/proxy/model")), fake.model());
    assert.deepEqual(j(await call("GET", "/api/proxy/model")), fake.model());
    assert.equal(j(await call("GET", "/proxy/slots")).length, 1024);
    assert.equal(j(await call("GET", "/proxy/stats")).ops.total, 2);

    // xauth: right, wrong, and computed with a wrong product_auth
    assert.equal(j(await call("GET", `/api/proxy/xping/${xauth}`)), "OK");
    await expectError("GET", "/api/proxy/xping/0123456789abcdef0123456789abcdef", 403, /invalid xauth/);
    const wrongAuth = proxyXAuth("demo", "not-the-secret", fake.model().token);
    await expectError("GET", `/api/proxy/xping/${wrongAuth}`, 403, /invalid xauth/);
    await expectError("GET", `/api/proxy/stats/${wrongAuth}`, 403, /invalid xauth/);
    await expectError("PUT", `/api/proxy/start/${wrongAuth}`, 403, /invalid xauth/);
    await expectError("PUT", `/api/proxy/fillslots/${wrongAuth}`, 403, /invalid xauth/, []);
    await expectError("PUT", `/api/proxy/shutdown/${wrongAuth}`, 403, /invalid xauth/);
    assert.equal(fake.online, false);

    const st0 = j(await call("GET", `/api/proxy/stats/${xauth}`));
    assert.deepEqual(Object.keys(st0), ["online", "closed", "sentinels", "ops", "sessions", "rusage", "backend"]);
    assert.equal(st0.online, false);
    assert.deepEqual(st0.ops, { total: 2, fails: 0, redis: { errors: 1 }, qps: 0 });
    assert.deepEqual(st0.backend, { primary_only: false });
    const st1 = j(await call("GET", `/api/proxy/stats/${xauth}/1`));
    assert.deepEqual(st1.ops.cmd.map((c: { opstr: string }) => c.opstr), ["GET", "SET"]);
    assert.equal(st1.runtime, undefined);
    const st5 = j(await call("GET", `/api/proxy/stats/${xauth}/5`));
    assert.ok(st5.ops.cmd && st5.runtime.heap.alloc > 0);
    await expectError("GET", `/api/proxy/stats/${xauth}/abc`, 400, /invalid stats flags/);
    assert.equal(j(await call("GET", `/api/proxy/slots/${xauth}`)).length, 1024);

    assert.equal(j(await call("PUT", `/api/proxy/start/${xauth}`)), "OK");
    assert.equal(fake.online, true);
    assert.equal(j(await call("GET", `/api/proxy/stats/${xauth}`)).online, true);

    assert.equal(j(await call("PUT", `/api/proxy/stats/reset/${xauth}`)), "OK");
    assert.equal(j(await call("GET", `/api/proxy/stats/${xauth}`)).ops.total, 0);
    assert.equal(j(await call("PUT", `/api/proxy/forcegc/${xauth}`)), "OK");

    const level = logLevel();
    try {
      assert.equal(j(await call("PUT", `/api/proxy/loglevel/${xauth}/debug`)), "OK");
      assert.equal(logLevel(), "DEBUG");
      await expectError("PUT", `/api/proxy/loglevel/${xauth}/LOUD`, 400, /invalid log level "LOUD"/);
    } finally {
      setLogLevel(level);
    }

    // fillslots: valid bodies reach the proxy; bad ones are 400 with zod's message and never reach it
    const good: Slot[] = [
      { id: 0, backend_addr: "127.0.0.1:6390", backend_addr_group_id: 3, locked: false, forward_method: 1 },
      { id: 1023, backend_addr: "", migrate_from: "", replica_groups: [["127.0.0.1:6391"]] },
    ];
    assert.equal(j(await call("PUT", `/api/proxy/fillslots/${xauth}`, good)), "OK");
    assert.deepEqual(fake.filled, [good]);
    assert.equal(j(await call("GET", "/proxy/slots"))[0].backend_addr, "127.0.0.1:6390");
    // Go's null slices are accepted and dropped
    assert.equal(j(await call("PUT", `/api/proxy/fillslots/${xauth}`, [{ id: 5, replica_groups: null }])), "OK");
    assert.deepEqual(fake.filled[1], [{ id: 5 }]);
    const fills = fake.filled.length;
    await expectError("PUT", `/api/proxy/fillslots/${xauth}`, 400, /^invalid slots: \[0\]\.id: .*1023/, [{
      id: 1024,
    }]);
    await expectError("PUT", `/api/proxy/fillslots/${xauth}`, 400, /\[0\]\.id/, [{ id: -1 }]);
    await expectError("PUT", `/api/proxy/fillslots/${xauth}`, 400, /\[1\]\.backend_addr: must be a HOST:PORT/, [
      { id: 1 },
      { id: 2, backend_addr: "nohost" },
    ]);
    await expectError("PUT", `/api/proxy/fillslots/${xauth}`, 400, /replica_groups\[0\]\[0\]/, [{
      id: 1,
      replica_groups: [["x:99999"]],
    }]);
    await expectError("PUT", `/api/proxy/fillslots/${xauth}`, 400, /^invalid slots: /, { id: 1 });
    await expectError("PUT", `/api/proxy/fillslots/${xauth}`, 400, /invalid JSON body/, "[{");
    await expectError("PUT", `/api/proxy/fillslots/${xauth}`, 400, /missing JSON request body/);
    assert.equal(fake.filled.length, fills);

    assert.equal(
      j(await call("PUT", `/api/proxy/sentinels/${xauth}`, { servers: ["127.0.0.1:26379"], out_of_sync: false })),
      "OK",
    );
    assert.deepEqual(fake.sentinels, [{ servers: ["127.0.0.1:26379"], out_of_sync: false }]);
    assert.deepEqual(j(await call("GET", `/api/proxy/stats/${xauth}`)).sentinels, { servers: ["127.0.0.1:26379"] });
    await expectError("PUT", `/api/proxy/sentinels/${xauth}`, 400, /servers\[0\]/, { servers: ["bad"] });
    assert.equal(j(await call("PUT", `/api/proxy/sentinels/${xauth}/rewatch`)), "OK");
    assert.equal(fake.rewatched, 1);

    await expectError("GET", "/no/such/route", 404, /no route/);
    await expectError("POST", `/api/proxy/xping/${xauth}`, 405, /not allowed/);
    await expectError("GET", `/api/proxy/start/${xauth}`, 405, /not allowed/);

    const metrics = await call("GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const { samples } = parseMetricsText(metrics.text);
    assert.ok(samples.some((s) => s.name === "codis_proxy_online" && s.value === 1));
    assert.ok(samples.some((s) => s.name === "codis_proxy_backend_state" && s.labels.state === "connecting"));

    assert.equal(j(await call("PUT", `/api/proxy/shutdown/${xauth}`)), "OK");
    await fake.shutdownCalled;
    assert.equal(fake.closed, true);
    await expectError("PUT", `/api/proxy/start/${xauth}`, 409, /closed/);

    for (const b of bodies) assert.ok(!b.includes(PRODUCT_AUTH), "product_auth leaked in a response");
  } finally {
    ac.abort();
    await srv.finished;
  }
});

Deno.test("admin API: close() stops the server", async () => {
  const srv = startAdminServer(new FakeProxy(), { hostname: "127.0.0.1", port: 0 });
  const res = await fetch(`http://127.0.0.1:${srv.addr.port}/api/proxy/model`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await srv.close();
  await assert.rejects(fetch(`http://127.0.0.1:${srv.addr.port}/api/proxy/model`));
});

Deno.test("admin client: drives every route and reports errors with their cause", async () => {
  const fake = new FakeProxy();
  const srv = startAdminServer(fake, { hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${srv.addr.port}`;
  try {
    const c = new ProxyAdminClient(addr, { productName: "demo", productAuth: PRODUCT_AUTH });
    assert.equal((await c.model()).token, fake.model().token);
    await c.xping();
    await c.start();
    assert.equal(fake.online, true);
    fake.stats.record("get", 5, false, false);
    assert.equal((await c.stats()).ops.total, 1);
    assert.equal((await c.stats(1)).ops.cmd!.length, 1);
    await c.resetStats();
    assert.equal((await c.stats()).ops.total, 0);
    await c.forceGC();
    const level = logLevel();
    try {
      await c.logLevel("WARN");
      assert.equal(logLevel(), "WARN");
    } finally {
      setLogLevel(level);
    }
    await c.fillSlots([{ id: 7, backend_addr: "127.0.0.1:7000" }]);
    assert.equal((await c.slots())[7].backend_addr, "127.0.0.1:7000");
    await c.setSentinels({ servers: ["127.0.0.1:26379"], out_of_sync: false });
    await c.rewatchSentinels();
    assert.equal(fake.rewatched, 1);
    await assert.rejects(c.fillSlots([{ id: 9999 }]), (e) => {
      assert.ok(e instanceof ProxyApiError);
      assert.equal(e.status, 400);
      assert.match(e.reason, /\[0\]\.id/);
      assert.ok(!e.message.includes(expectedXAuth(fake)), "xauth redacted from the message");
      return true;
    });

    const wrong = new ProxyAdminClient(addr, { productName: "demo", productAuth: "wrong" });
    await assert.rejects(wrong.xping(), (e) => e instanceof ProxyApiError && e.status === 403);
    const nobody = new ProxyAdminClient(`127.0.0.1:${freePort()}`, { productName: "demo", productAuth: "" });
    await assert.rejects(nobody.model(), (e) => e instanceof ProxyApiError && e.status === 0);

    await c.shutdown();
    await fake.shutdownCalled;
  } finally {
    await srv.close();
  }
});
