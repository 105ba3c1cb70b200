/**
 * The console checks Host and Origin (issue 12): a page on another site that re-points its name at the console
 * (DNS rebinding) or posts to it across sites reaches neither the product list nor the dashboards behind it.
 */
import assert from "node:assert/strict";
import { runCli } from "../testing/cli_start.ts";
import { type DashboardGroup, startDashboards } from "../testing/dashboard.ts";
import { freePort } from "../testing/ports.ts";
import { rawHttp } from "../testing/raw_http.ts";

Deno.test("fe host check: foreign Host refused (DNS rebinding), cross-site writes refused, own page and curl served", async () => {
  let g: DashboardGroup | undefined;
  let fe;
  try {
    g = await startDashboards({ n: 1, product: "fe-host", auth: crypto.randomUUID() });
    const dash = g.nodes[0].admin;
    const port = freePort();
    fe = await runCli("codis-fe.ts", [
      `--listen=127.0.0.1:${port}`,
      `--dashboard=${dash}`,
      "--allowed-hosts=console.example",
    ], port);
    assert.deepEqual(fe.started, { exited: false });
    const self = `127.0.0.1:${port}`;
    const groups = async () => (await g!.call(dash, "GET", "/topom/stats")).json.group.models.length as number;
    const create = (gid: number) => `/api/topom/group/create/${g!.xauth}/${gid}?forward=fe-host`;

    // DNS rebinding: the browser sends the attacker's name as Host.
    const list = await rawHttp(port, { method: "GET", path: "/list", headers: { host: "attacker.example" } });
    assert.equal(list.status, 403);
    assert.match(list.text, /not a name of this console/);
    const rebound = await rawHttp(port, {
      method: "PUT",
      path: create(1),
      headers: { host: `attacker.example:${port}`, origin: `http://attacker.example:${port}` },
      body: "",
    });
    assert.equal(rebound.status, 403);
    assert.equal(await groups(), 0, "the forwarded PUT did not reach the dashboard");

    // The console's own names are served.
    for (const host of [self, `localhost:${port}`, "console.example"]) {
      const r = await rawHttp(port, { method: "GET", path: "/list", headers: { host } });
      assert.equal(r.status, 200, host);
      assert.match(r.text, /fe-host/);
    }

    // A cross-site write with the right Host: another origin, an opaque origin, or a browser's cross-site fetch.
    const crossSite: Record<string, string>[] = [
      { origin: "http://attacker.example" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of crossSite) {
      const r = await rawHttp(port, { method: "PUT", path: create(2), headers: { host: self, ...headers }, body: "" });
      assert.equal(r.status, 403, JSON.stringify(headers));
    }
    assert.equal(await groups(), 0, "no cross-site write reached the dashboard");

    // The console's own page (same origin) and a client that is not a browser (no Origin) reach the dashboard.
    const own = await rawHttp(port, {
      method: "PUT",
      path: create(3),
      headers: { host: self, origin: `http://${self}`, "sec-fetch-site": "same-origin" },
      body: "",
    });
    assert.equal(own.status, 200, own.text);
    const curl = await rawHttp(port, { method: "PUT", path: create(4), headers: { host: self }, body: "" });
    assert.equal(curl.status, 200, curl.text);
    assert.equal(await groups(), 2);
  } finally {
    await fe?.stop();
    await g?.stop();
  }
});

Deno.test("fe host check: on every interface the console answers to its machine name, not to any name", async () => {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "codis-fe-host-" });
  let fe;
  try {
    await Deno.writeTextFile(`${dir}/list.json`, "[]");
    fe = await runCli("codis-fe.ts", [`--listen=0.0.0.0:${port}`, `--dashboard-list=${dir}/list.json`], port);
    assert.deepEqual(fe.started, { exited: false });
    const ask = (host: string) => rawHttp(port, { method: "GET", path: "/list", headers: { host } });
    assert.equal((await ask(`${Deno.hostname()}:${port}`)).status, 200);
    assert.equal((await ask(`127.0.0.1:${port}`)).status, 200);
    assert.equal((await ask("attacker.example")).status, 403);
  } finally {
    await fe?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
