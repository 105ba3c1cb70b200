import assert from "node:assert/strict";
import { newXAuth } from "../util/xauth.ts";
import { dashboardXAuth, newXAuth as browserXAuth } from "../fe/assets/js/xauth.js";
import { sha256Hex } from "../fe/assets/js/sha256.js";
import { type DashboardGroup, DashboardProc, startDashboards } from "../testing/dashboard.ts";
import { freePort, waitForPort } from "../testing/ports.ts";

const FE_CLI = new URL("../cli/codis-fe.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("fe: the browser's xauth equals util/xauth.ts's newXAuth (Web Crypto and the plain-JS fallback)", async () => {
  const cases: string[][] = [[], ["p", ""], ["demo", "pw"], ["prod-1", "s3cr€t ✓"], ["x".repeat(100), "y".repeat(200)]];
  for (const segs of cases) {
    const want = newXAuth(...segs);
    assert.equal(await browserXAuth(...segs), want, `segs ${JSON.stringify(segs)}`);
    let text = "Codis-XAuth";
    for (const s of segs) text += `-[${s}]`;
    assert.equal(
      sha256Hex(new TextEncoder().encode(text)).slice(0, 32),
      want,
      `fallback, segs ${JSON.stringify(segs)}`,
    );
  }
  assert.equal(await dashboardXAuth("demo", "pw"), newXAuth("demo", "pw"));
});

/** A running codis-fe child; `stop()` kills it and returns what it logged. */
interface Fe {
  addr: string;
  stop(): Promise<string>;
}

async function startFe(args: string[]): Promise<Fe> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", FE_CLI, `--listen=127.0.0.1:${port}`, "--log-level=DEBUG", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = new Response(child.stderr).text();
  let stopped: Promise<string> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      return await log;
    })();
  try {
    await waitForPort(port, 30_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; codis-fe said: ${await stop()}`);
  }
  return { addr: `127.0.0.1:${port}`, stop };
}

async function get(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> };
}

/** Sends a raw request line (no URL normalisation by a client) and returns the status line and the body. */
async function rawGet(addr: string, path: string): Promise<string> {
  const [hostname, port] = addr.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${addr}\r\nConnection: close\r\n\r\n`));
    return await new Response(conn.readable).text();
  } catch (e) {
    return `(connection failed: ${(e as Error).message})`;
  }
}

Deno.test("fe: codis-fe with a real dashboard: list, forward with failover, 403, static files, no traversal, a write", async () => {
  const product = "fe-e2e";
  let g: DashboardGroup | undefined;
  let fe: Fe | undefined;
  const dir = await Deno.makeTempDir({ prefix: "codis-fe-test-" });
  try {
    g = await startDashboards({ n: 1, product, auth: "pw" });
    const dash = g.nodes[0].admin;
    // A dead dashboard listed first: the FE must go on to the live one.
    const dead = `127.0.0.1:${freePort()}`;
    const listFile = `${dir}/dashboards.json`;
    await Deno.writeTextFile(listFile, JSON.stringify([{ name: product, dashboard: `${dead},${dash}` }]));
    fe = await startFe([`--dashboard-list=${listFile}`]);
    const base = `http://${fe.addr}`;

    const list = await get(`${base}/list`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json, [product]);

    const topom = await get(`${base}/topom?forward=${product}`);
    assert.equal(topom.status, 200, topom.text);
    assert.equal((topom.json.model as { product_name: string }).product_name, product);
    assert.equal((topom.json.model as { admin_addr: string }).admin_addr, dash);

    const unknown = await get(`${base}/topom?forward=nope`);
    assert.equal(unknown.status, 403);
    assert.match(String(unknown.json.Cause), /nope.*not found/);

    const index = await get(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(index.text, /<script type="module" src="js\/app.js"><\/script>/);
    assert.match(index.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const js = await get(`${base}/js/xauth.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);

    // Nothing outside the assets directory, however the path is spelled.
    for (
      const path of ["/../args.ts", "/js/../../args.ts", "/%2e%2e/args.ts", "/js/..%2f..%2fargs.ts", "/.%2e/server.ts"]
    ) {
      const raw = await rawGet(fe.addr, path);
      assert.doesNotMatch(raw, /parseFeArgs|feHandler/, `path ${path} leaked a file`);
      assert.match(raw, /^HTTP\/1\.1 (400|403|404)/, `path ${path}: ${raw.slice(0, 80)}`);
    }
    const enc = await get(`${base}/js/..%2f..%2fargs.ts`);
    assert.equal(enc.status, 403);

    // A write through the FE, with the xauth computed as the page does; then the dashboard shows it.
    const x = await browserXAuth(product, "pw");
    const bad = await get(
      `${base}/api/topom/group/create/${await browserXAuth(product, "wrong")}/7?forward=${product}`,
      {
        method: "PUT",
      },
    );
    assert.equal(bad.status, 401);
    const created = await get(`${base}/api/topom/group/create/${x}/7?forward=${product}`, { method: "PUT" });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json, "OK" as unknown);
    const stats = await get(`http://${dash}/topom/stats`);
    const ids = (stats.json.group as { models: { id: number }[] }).models.map((m) => m.id);
    assert.deepEqual(ids, [7]);

    // The list file is re-read (at most every 5 s): a second product shows up.
    await Deno.writeTextFile(
      listFile,
      JSON.stringify([{ name: product, dashboard: `${dead},${dash}` }, { name: "other", dashboard: dead }]),
    );
    let names: unknown = [];
    for (let i = 0; i < 40 && (names as string[]).length !== 2; i++) {
      await sleep(250);
      names = (await get(`${base}/list`)).json;
    }
    assert.deepEqual(names, ["fe-e2e", "other"]);
    const down = await get(`${base}/topom?forward=other`);
    assert.equal(down.status, 502);
    assert.match(String(down.json.Cause), /no dashboard reachable/);

    const log = await fe.stop();
    assert.ok(!log.includes(x), "the xauth must not appear in codis-fe's log");
    assert.match(log, /\/api\/topom\/group\/create\/\*\*\*\/7/);
  } finally {
    await fe?.stop();
    await g?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("fe: --dashboard asks the product name; --filesystem lists the products of a store", async () => {
  let g: DashboardGroup | undefined;
  const fes: Fe[] = [];
  const root = await Deno.makeTempDir({ prefix: "codis-fe-fs-" });
  let fsDash: { kill(): Promise<void> } | undefined;
  try {
    g = await startDashboards({ n: 1, product: "fe-raft", auth: "" });
    const byDashboard = await startFe([`--dashboard=${g.nodes[0].admin}`]);
    fes.push(byDashboard);
    assert.deepEqual((await get(`http://${byDashboard.addr}/list`)).json, ["fe-raft"]);
    const model = await get(`http://${byDashboard.addr}/topom/model?forward=fe-raft`);
    assert.equal(model.status, 200, model.text);

    const spec = { id: 1, admin: `127.0.0.1:${freePort()}`, raft: `127.0.0.1:${freePort()}` };
    await Deno.mkdir(`${root}/fs`);
    fsDash = DashboardProc.spawn({
      ...spec,
      product: "fe-fs",
      dataDir: `${root}/n1`,
      peers: "",
      bootstrap: true,
      extra: ["--coordinator_name=filesystem", `--coordinator_addr=${root}/fs`],
    });
    await waitForPort(Number(spec.admin.split(":")[1]), 30_000);
    const byStore = await startFe([`--filesystem=${root}/fs`]);
    fes.push(byStore);
    let names: unknown;
    for (let i = 0; i < 40; i++) {
      names = (await get(`http://${byStore.addr}/list`)).json;
      if (Array.isArray(names) && names.length === 1) break;
      await sleep(250);
    }
    assert.deepEqual(names, ["fe-fs"]);
    const topom = await get(`http://${byStore.addr}/topom?forward=fe-fs`);
    assert.equal(topom.status, 200, topom.text);
    assert.equal((topom.json.model as { admin_addr: string }).admin_addr, spec.admin);
  } finally {
    for (const f of fes) await f.stop();
    await fsDash?.kill();
    await g?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
