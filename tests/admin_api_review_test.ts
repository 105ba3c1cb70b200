/**
 * Review of the HTTP admin APIs with real processes: bad path parameters and bodies answer 4xx (never 5xx),
 * request bodies are bounded, another product's xauth is refused, and the unauthenticated `group/info` cannot be
 * used to send product_auth to an arbitrary address.
 * @module
 */
import assert from "node:assert/strict";
import { newXAuth, proxyXAuth } from "../util/xauth.ts";
import { type CodisProxyProcess, startCodisProxy } from "./support/codis_proxy.ts";
import { type DashboardGroup, startDashboards } from "./support/dashboard.ts";
import { type RedisProcess, startRedis } from "./support/redis.ts";

const PRODUCT = "review-admin";
const AUTH = "review-product-auth-s3cret";

async function raw(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

function assert4xx(r: { status: number; text: string }, what: string): void {
  assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ${r.text}`);
}

/** A TCP listener that records what clients send and answers every read with "+OK". */
function recordingServer(): { port: number; seen(): string; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const chunks: Uint8Array[] = [];
  const conns = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          for (let i = 0; i < 8; i++) {
            const n = await conn.read(buf);
            if (n === null) break;
            chunks.push(buf.slice(0, n));
            await conn.write(new TextEncoder().encode("+OK\r\n"));
          }
        } catch { /* closed */ }
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    seen: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
    },
  };
}

Deno.test("proxy admin API: malformed path encoding is a 4xx; another product's xauth is refused", async () => {
  let proxy: CodisProxyProcess | undefined;
  let redis: RedisProcess | undefined;
  try {
    redis = await startRedis({ requirepass: AUTH });
    proxy = await startCodisProxy([`--product_name=${PRODUCT}`, `--product_auth=${AUTH}`, `--backend=${redis.addr}`]);
    const base = `http://127.0.0.1:${proxy.adminPort}`;
    const model = JSON.parse((await raw(`${base}/api/proxy/model`)).text);
    const x = proxyXAuth(PRODUCT, AUTH, model.token);
    assert4xx(await raw(`${base}/api/proxy/xping/%zz`), "GET xping/%zz");
    assert4xx(await raw(`${base}/api/proxy/loglevel/${x}/%E0%A4%A`, { method: "PUT" }), "PUT loglevel/x/%E0%A4%A");
    // Same product name, another product_auth: refused (product_auth is inside the hash).
    const other = proxyXAuth(PRODUCT, "another-auth", model.token);
    assert.equal((await raw(`${base}/api/proxy/shutdown/${other}`, { method: "PUT" })).status, 403);
    // The proxy is still fine afterwards (the shutdown above was refused).
    assert.equal((await raw(`${base}/api/proxy/xping/${x}`)).status, 200);
  } finally {
    await proxy?.stop();
    await redis?.stop();
  }
});

Deno.test("dashboard admin API: bad input answers 4xx, bodies are bounded, group/info only reaches the product's servers", async (t) => {
  let g: DashboardGroup | undefined;
  let redis: RedisProcess | undefined;
  let fake: ReturnType<typeof recordingServer> | undefined;
  try {
    g = await startDashboards({ n: 1, product: PRODUCT, auth: AUTH });
    const d = (await g.leader()).admin;
    const base = `http://${d}`;
    const x = g.xauth;

    await t.step("malformed percent-encoding in the raft and watch routes", async () => {
      assert4xx(await raw(`${base}/api/topom/raft/add/%zz/2/127.0.0.1:1`, { method: "PUT" }), "raft/add/%zz");
      assert4xx(await raw(`${base}/api/topom/proxy/watch/%zz/token`), "proxy/watch/%zz");
    });

    await t.step("a request body over the limit is refused with 413, not read and applied", async () => {
      const big = "[" + " ".repeat(40 << 20) + "]";
      const r = await raw(`${base}/api/topom/slots/assign/${x}`, { method: "PUT", body: big });
      assert.equal(r.status, 413, r.text);
      const s = await raw(`${base}/api/store/propose`, { method: "POST", body: big });
      assert.equal(s.status, 413, s.text);
    });

    await t.step("port 0 is not an address", async () => {
      const r = await raw(`${base}/api/topom/proxy/create/${x}/127.0.0.1:0`, { method: "PUT" });
      assert.equal(r.status, 400, r.text);
    });

    await t.step("another product's xauth is refused", async () => {
      const other = newXAuth(PRODUCT, "another-auth");
      const r = await raw(`${base}/api/topom/group/create/${other}/1`, { method: "PUT" });
      assert.equal(r.status, 401, r.text);
    });

    await t.step(
      "group/info answers for the product's servers only, never sending product_auth elsewhere",
      async () => {
        fake = recordingServer();
        const info = await raw(`${base}/api/topom/group/info/127.0.0.1:${fake.port}`);
        assert.ok(!fake.seen().includes(AUTH), "product_auth was sent to an address outside the product");
        assert4xx(info, "group/info of an unknown server");
        redis = await startRedis({ requirepass: AUTH });
        assert.equal((await raw(`${base}/api/topom/group/create/${x}/1`, { method: "PUT" })).status, 200);
        assert.equal((await raw(`${base}/api/topom/group/add/${x}/1/${redis.addr}`, { method: "PUT" })).status, 200);
        const known = await raw(`${base}/api/topom/group/info/${redis.addr}`);
        assert.equal(known.status, 200, known.text);
        assert.equal(JSON.parse(known.text).tcp_port, String(redis.port));
      },
    );
  } finally {
    await fake?.close();
    await redis?.stop();
    await g?.stop();
  }
});
