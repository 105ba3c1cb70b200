/**
 * Input validation of the HTTP admin APIs with real processes: bad path parameters and bodies answer 4xx (never 5xx),
 * request bodies are bounded, another product's xauth is refused, and the unauthenticated `group/info` cannot be
 * used to send product_auth to an arbitrary address.
 * @module
 */
import assert from "node:assert/strict";
import { bodyDigest, signRequest } from "../store/http.ts";
import { newXAuth, proxyXAuth } from "../util/xauth.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { CLUSTER_SECRET, type DashboardGroup, startDashboards } from "../testing/dashboard.ts";
import { freePort, waitForPort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";

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
      // The store checks the signature first: an unsigned body is refused without being read, a signed one that
      // is too large with 413.
      const unsigned = await raw(`${base}/api/store/propose`, { method: "POST", body: big });
      assert.equal(unsigned.status, 401, unsigned.text);
      const digest = bodyDigest(big);
      const s = await raw(`${base}/api/store/propose`, {
        method: "POST",
        body: big,
        headers: {
          "x-store-auth": signRequest(CLUSTER_SECRET, "POST", "/api/store/propose", digest),
          "x-store-body-sha256": digest,
        },
      });
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

    await t.step("sentinels/info and sentinels/info/monitored connect to the product's sentinels only", async () => {
      const before = fake!.seen().length;
      for (const route of ["sentinels/info", "sentinels/info/monitored"]) {
        const r = await raw(`${base}/api/topom/${route}/127.0.0.1:${fake!.port}`);
        assert.equal(r.status, 404, `${route} of an unknown address: ${r.status} ${r.text}`);
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(fake!.seen().length, before, "no command reached an address outside the product");
    });
  } finally {
    await fake?.close();
    await redis?.stop();
    await g?.stop();
  }
});

/** A CLI child process with its stderr collected (the loggers write there). */
function spawnCli(cli: string, args: string[]): { output(): Promise<string>; stop(): Promise<void> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../cli/${cli}`, import.meta.url).pathname, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()])
    .then(([a, b]) => a + b);
  let stopped = false;
  return {
    output: () => out,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

Deno.test("secrets (product_auth, cluster secret, xauth) appear in no DEBUG log line and no GET answer", async () => {
  const secret = "review-cluster-secret-9f8e";
  const adminPort = freePort();
  const admin = `127.0.0.1:${adminPort}`;
  const root = await Deno.makeTempDir({ prefix: "codis-review-" });
  let redis: RedisProcess | undefined;
  let dash: ReturnType<typeof spawnCli> | undefined;
  let proxy: ReturnType<typeof spawnCli> | undefined;
  try {
    redis = await startRedis({ requirepass: AUTH });
    const raft = `127.0.0.1:${freePort()}`;
    dash = spawnCli("codis-dashboard.ts", [
      `--product_name=${PRODUCT}`,
      `--product_auth=${AUTH}`,
      `--admin_addr=${admin}`,
      "--raft_id=1",
      `--raft_addr=${raft}`,
      `--raft_peers=1=${raft}`,
      `--data_dir=${root}/n1`,
      `--cluster_secret=${secret}`,
      "--log-level=DEBUG",
    ]);
    await waitForPort(adminPort, 30_000);
    const base = `http://${admin}`;
    for (let i = 0; i < 300 && (await raw(`${base}/api/topom/model`).catch(() => undefined))?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const x = newXAuth(PRODUCT, AUTH);
    const put = (path: string, body?: unknown) =>
      raw(`${base}/api/topom/${path}`, { method: "PUT", body: body === undefined ? undefined : JSON.stringify(body) });
    assert.equal((await put(`group/create/${x}/1`)).status, 200);
    assert.equal((await put(`group/add/${x}/1/${redis.addr}`)).status, 200);
    assert.equal((await put(`slots/assign/${x}`, [{ id: 0, group_id: 1 }])).status, 200);
    assert.equal((await put(`group/create/${newXAuth(PRODUCT, "wrong")}/2`)).status, 401);

    const proxyAdmin = freePort();
    proxy = spawnCli("codis-proxy.ts", [
      `--proxy_addr=127.0.0.1:${freePort()}`,
      `--admin_addr=127.0.0.1:${proxyAdmin}`,
      `--dashboard=${admin}`,
      `--product_name=${PRODUCT}`,
      `--product_auth=${AUTH}`,
      "--log-level=DEBUG",
    ]);
    await waitForPort(proxyAdmin, 30_000);
    const pbase = `http://127.0.0.1:${proxyAdmin}`;
    let online = false;
    for (let i = 0; i < 300 && !online; i++) {
      const stats = JSON.parse((await raw(`${base}/topom/stats`)).text);
      online = stats.proxy?.models?.length === 1 && JSON.parse((await raw(`${pbase}/proxy/stats`)).text).online;
      if (!online) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(online, "the proxy registered with the dashboard and went online");
    const token = JSON.parse((await raw(`${pbase}/api/proxy/model`)).text).token;
    const px = proxyXAuth(PRODUCT, AUTH, token);
    assert.equal((await raw(`${pbase}/api/proxy/xping/${px}`)).status, 200);
    assert.equal((await raw(`${pbase}/api/proxy/loglevel/${px}/DEBUG`, { method: "PUT" })).status, 200);
    assert.equal((await raw(`${pbase}/api/proxy/shutdown/${"0".repeat(32)}`, { method: "PUT" })).status, 403);
    // A mistyped route with the right xauth is logged like any admin call: without the xauth.
    for (const path of [`/api/proxy/Fillslots/${px}`, `/api/proxy/fill_slots/${px}`, `/api/proxy//start/${px}`]) {
      assert.equal((await raw(pbase + path, { method: "PUT" })).status, 404, path);
    }

    const answers: string[] = [];
    for (
      const url of [
        `${base}/topom`,
        `${base}/topom/stats`,
        `${base}/topom/model`,
        `${base}/api/topom/stats/${x}`,
        `${base}/api/topom/raft/status`,
        `${base}/api/topom/group/info/${redis.addr}`,
        `${pbase}/proxy`,
        `${pbase}/api/proxy/stats/${px}/65535`,
        `${pbase}/metrics`,
      ]
    ) {
      const r = await raw(url);
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      answers.push(r.text);
    }
    await proxy.stop();
    await dash.stop();
    const logs = (await dash.output()) + (await proxy.output());
    assert.match(logs, /DEBUG|INFO/, "the processes logged something");
    for (const [what, s] of [["product_auth", AUTH], ["cluster secret", secret], ["xauth", x], ["proxy xauth", px]]) {
      assert.ok(!logs.includes(s), `${what} appears in a log line`);
      for (const a of answers) assert.ok(!a.includes(s), `${what} appears in a GET answer`);
    }
  } finally {
    await proxy?.stop();
    await dash?.stop();
    await redis?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("follower dashboard: checks xauth and input itself, forwards valid writes once, refuses oversize bodies", async () => {
  let g: DashboardGroup | undefined;
  try {
    g = await startDashboards({ n: 3, product: PRODUCT, auth: AUTH });
    const leader = await g.leader();
    const f = g.nodes.find((d) => d !== leader)!;
    const base = `http://${f.admin}`;
    const x = g.xauth;
    const put = (path: string, body?: string) => raw(`${base}/api/topom/${path}`, { method: "PUT", body });
    assert.equal((await put(`group/create/${newXAuth(PRODUCT, "wrong")}/7`)).status, 401);
    assert.equal((await put(`group/create/${x}/0`)).status, 400);
    assert.equal((await put(`group/create/${x}/10000`)).status, 400);
    assert.equal((await put(`slots/assign/${x}`, "[" + " ".repeat(5 << 20) + "]")).status, 413);
    assert.equal((await put(`slots/assign/${x}`, `[{"id":"1","group_id":1}]`)).status, 400);
    assert.equal((await put(`slots/assign/${x}`, `{"id":1}`)).status, 400);
    assert.equal((await put(`raft/add/${x}/2/127.0.0.1:0`)).status, 400);
    assert.equal((await put(`raft/add/${x}/0/127.0.0.1:1`)).status, 400);
    const created = await put(`group/create/${x}/7`);
    assert.equal(created.status, 200, created.text);
    assert.equal((await put(`group/create/${x}/7`)).status, 409);
    const model = JSON.parse((await raw(`http://${leader.admin}/topom/stats`)).text);
    assert.deepEqual(model.group.models.map((m: { id: number }) => m.id), [7]);
    assert4xx(await raw(`${base}/api/topom/group/info/127.0.0.1:1`), "group/info of an unknown server on a follower");
    // A server added through this follower is known to it at once: an address it has not seen yet goes to the leader.
    const redis = await startRedis({ requirepass: AUTH });
    try {
      assert.equal((await put(`group/add/${x}/7/${redis.addr}`)).status, 200);
      const info = await raw(`${base}/api/topom/group/info/${redis.addr}`);
      assert.equal(info.status, 200, info.text);
      assert.equal(JSON.parse(info.text).tcp_port, String(redis.port));
    } finally {
      await redis.stop();
    }
  } finally {
    await g?.stop();
  }
});
