/**
 * Secure defaults (issue 12) on real processes: every role started with its default config on a non-loopback
 * address (0.0.0.0; traffic only to 127.0.0.1) refuses to start or is protected; with its secrets set, nothing public
 * gives what an admin xauth or a store signature needs; bodies are not read before authentication.
 */
import assert from "node:assert/strict";
import { bodyDigest, signRequest } from "../store/http.ts";
import { newXAuth, proxyXAuth } from "../util/xauth.ts";
import { runCli } from "../testing/cli_start.ts";
import { freePort } from "../testing/ports.ts";
import { rawHttp } from "../testing/raw_http.ts";
import { startRedis } from "../testing/redis.ts";

const PRODUCT = "codis-demo"; // the default product_name

Deno.test("security defaults: dashboard and proxy on 0.0.0.0 with an empty product_auth refuse to start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-secdefaults-" });
  try {
    const dashPort = freePort();
    const dash = await runCli("codis-dashboard.ts", [
      `--admin_addr=0.0.0.0:${dashPort}`,
      `--raft_addr=127.0.0.1:${freePort()}`,
      `--data_dir=${dir}/dash`,
    ], dashPort);
    const dashSaid = await dash.stop();
    assert.deepEqual(dash.started, { exited: true, code: 2 }, `the dashboard started: ${dashSaid}`);
    assert.match(dashSaid, /product_auth is empty while admin_addr 0\.0\.0\.0:\d+ is reachable/);
    assert.match(dashSaid, /--product_auth=.*product_auth_file.*CODIS_PRODUCT_AUTH/);
    assert.equal(await Deno.stat(`${dir}/dash`).catch(() => undefined), undefined, "nothing written");

    const proxyAdmin = freePort();
    const proxy = await runCli("codis-proxy.ts", [
      `--admin_addr=0.0.0.0:${proxyAdmin}`,
      `--proxy_addr=127.0.0.1:${freePort()}`,
      "--backend=127.0.0.1:1",
    ], proxyAdmin);
    const proxySaid = await proxy.stop();
    assert.deepEqual(proxy.started, { exited: true, code: 2 }, `the proxy started: ${proxySaid}`);
    assert.match(proxySaid, /product_auth is empty while admin_addr 0\.0\.0\.0:\d+ is reachable/);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("security defaults: a dashboard whose Raft port is reachable refuses to start without cluster_secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-secdefaults-" });
  try {
    const port = freePort();
    const run = await runCli("codis-dashboard.ts", [
      `--admin_addr=127.0.0.1:${port}`,
      `--raft_addr=0.0.0.0:${freePort()}`,
      `--product_auth=${crypto.randomUUID()}`,
      `--data_dir=${dir}/dash`,
    ], port);
    const said = await run.stop();
    assert.deepEqual(run.started, { exited: true, code: 2 }, `the dashboard started: ${said}`);
    assert.match(said, /cluster_secret is empty while raft_addr 0\.0\.0\.0:\d+ is reachable from other hosts/);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("security defaults: a dashboard on 0.0.0.0 with product_auth set gives nothing public to compute xauth or sign store requests; bodies wait for auth", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-secdefaults-" });
  const auth = crypto.randomUUID();
  const port = freePort();
  const run = await runCli("codis-dashboard.ts", [
    `--admin_addr=0.0.0.0:${port}`,
    `--raft_addr=127.0.0.1:${freePort()}`,
    `--product_auth=${auth}`,
    `--data_dir=${dir}/dash`,
  ], port);
  try {
    assert.deepEqual(run.started, { exited: false });
    const base = `http://127.0.0.1:${port}`;
    // The model is loaded once /topom/model answers.
    let model = "";
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${base}/topom/model`);
      model = await r.text();
      if (r.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // A lone loopback member generated its cluster secret: random, 0600, in a 0700 data directory.
    const secretFile = `${dir}/dash/cluster_secret`;
    const secret = (await Deno.readTextFile(secretFile)).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal((await Deno.stat(secretFile)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/dash`)).mode! & 0o777, 0o700);
    for (const sub of ["wal", "snap"]) {
      assert.equal((await Deno.stat(`${dir}/dash/${sub}`)).mode! & 0o777, 0o700, sub);
      for await (const f of Deno.readDir(`${dir}/dash/${sub}`)) {
        if (f.isFile) assert.equal((await Deno.stat(`${dir}/dash/${sub}/${f.name}`)).mode! & 0o077, 0, f.name);
      }
    }

    const xauth = newXAuth(PRODUCT, auth);
    const publicText = [model];
    for (const path of ["/topom", "/topom/stats", "/topom/slots", "/api/topom/raft/status"]) {
      publicText.push(await (await fetch(`${base}${path}`)).text());
    }
    for (const t of publicText) {
      for (const s of [auth, secret, xauth]) assert.ok(!t.includes(s), "a public route shows a secret");
    }
    // The xauth of an empty product_auth (what an attacker computes from the product name) is refused.
    const guess = await fetch(`${base}/api/topom/xping/${newXAuth(PRODUCT, "")}`);
    assert.equal(guess.status, 401);
    await guess.body?.cancel();
    const good = await fetch(`${base}/api/topom/xping/${xauth}`);
    assert.equal(good.status, 200);
    await good.body?.cancel();

    // The store secret is not derived from product name and product_auth (even knowing product_auth).
    const cmd = JSON.stringify({ op: "create", path: "/codis3/codis-demo/group/group-0042", data: "" });
    for (const derived of [newXAuth("raft", PRODUCT, ""), newXAuth("raft", PRODUCT, auth)]) {
      const digest = bodyDigest(cmd);
      const res = await fetch(`${base}/api/store/propose`, {
        method: "POST",
        body: cmd,
        headers: {
          "x-store-auth": signRequest(derived, "POST", "/api/store/propose", digest),
          "x-store-body-sha256": digest,
        },
      });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    const rev = await fetch(`${base}/api/store/revision`, {
      headers: {
        "x-store-auth": signRequest(secret, "GET", "/api/store/revision", bodyDigest("")),
        "x-store-body-sha256": bodyDigest(""),
      },
    });
    assert.equal(rev.status, 200, "the generated secret is the store's");
    await rev.body?.cancel();

    // Bodies announced but never sent: the answer comes at once, so nothing was read before authentication.
    const slow = { headers: { "content-length": "1000000", "content-type": "application/json" }, timeoutMs: 3000 };
    const api = await rawHttp(port, { method: "PUT", path: `/api/topom/slots/assign/${"0".repeat(32)}`, ...slow });
    assert.equal(api.status, 401, "the API refuses a wrong xauth before reading the body");
    const store = await rawHttp(port, { method: "POST", path: "/api/store/propose", ...slow });
    assert.equal(store.status, 401, "the store refuses an unsigned request before reading the body");
    const noRoute = await rawHttp(port, { method: "PUT", path: "/api/topom/no/such/route", ...slow });
    assert.equal(noRoute.status, 404, "an unknown route is refused before reading the body");
  } finally {
    const said = await run.stop();
    assert.match(said, /cluster_secret is empty: using the random secret kept in/);
    assert.ok(!said.includes(auth), "the log shows product_auth");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("security defaults: a proxy on 0.0.0.0 with product_auth set: its token is public, its xauth is not", async () => {
  const auth = crypto.randomUUID();
  const redis = await startRedis({ requirepass: auth });
  const admin = freePort();
  let run;
  try {
    run = await runCli("codis-proxy.ts", [
      `--admin_addr=0.0.0.0:${admin}`,
      `--proxy_addr=127.0.0.1:${freePort()}`,
      `--product_auth=${auth}`,
      `--backend=${redis.addr}`,
    ], admin);
    assert.deepEqual(run.started, { exited: false });
    const base = `http://127.0.0.1:${admin}`;
    const model = await (await fetch(`${base}/api/proxy/model`)).json();
    const token = model.token as string;
    assert.match(token, /^[0-9a-f]{32}$/);
    const xauth = proxyXAuth(PRODUCT, auth, token);
    for (const path of ["/api/proxy/model", "/proxy", "/proxy/model", "/proxy/stats", "/metrics"]) {
      const text = await (await fetch(`${base}${path}`)).text();
      assert.ok(!text.includes(auth) && !text.includes(xauth), `${path} shows a secret`);
    }
    // What the issue did: with the public token and an empty product_auth, fill slot 0 and shut the proxy down.
    const guessed = proxyXAuth(PRODUCT, "", token);
    const fill = await fetch(`${base}/api/proxy/fillslots/${guessed}`, {
      method: "PUT",
      body: JSON.stringify([{ id: 0, backend_addr: "127.0.0.1:1" }]),
    });
    assert.equal(fill.status, 403);
    await fill.body?.cancel();
    const shutdown = await fetch(`${base}/api/proxy/shutdown/${guessed}`, { method: "PUT" });
    assert.equal(shutdown.status, 403);
    await shutdown.body?.cancel();
    const ping = await fetch(`${base}/api/proxy/xping/${xauth}`);
    assert.equal(ping.status, 200, "the right xauth works");
    await ping.body?.cancel();
  } finally {
    await run?.stop();
    await redis.stop();
  }
});
