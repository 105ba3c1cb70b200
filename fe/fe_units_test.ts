import assert from "node:assert/strict";
import { parseFeArgs, UsageError } from "./args.ts";
import { ProductDirectory } from "./directory.ts";
import { redactPath } from "./forward.ts";
import { parseDashboardList } from "./sources.ts";
import { safeRelativePath } from "./static.ts";
import { describePlan, infoKeys, overview, proxyStatus, ranges, replication } from "./assets/js/format.js";

Deno.test("fe args: discovery flags, defaults and clear errors", () => {
  const a = parseFeArgs(["--dashboard=127.0.0.1:1,127.0.0.1:2"]);
  assert.notEqual(a, "help");
  if (a === "help") return;
  assert.equal(a.listen, "127.0.0.1:9090");
  assert.deepEqual(a.discovery, { kind: "dashboard", addrs: ["127.0.0.1:1", "127.0.0.1:2"] });
  assert.deepEqual((parseFeArgs(["--etcd", "h:2379", "--etcd-auth=u:p"]) as { discovery: unknown }).discovery, {
    kind: "store",
    name: "etcd",
    addr: "h:2379",
    auth: "u:p",
  });
  assert.equal(parseFeArgs(["--help"]), "help");
  // Codis's codis-fe-admin.sh passes --ncpu and --log.
  const codis = parseFeArgs([
    "--ncpu=4",
    "--log=/tmp/fe.log",
    "--log-level=WARN",
    "--zookeeper=h:2181",
    "--listen=:9090",
  ]);
  assert.notEqual(codis, "help");
  if (codis !== "help") assert.equal(codis.logFile, "/tmp/fe.log");
  const bad: [string[], RegExp][] = [
    [[], /give one of/],
    [["--dashboard-list=f", "--etcd=h:1"], /cannot be used together/],
    [["--dashboard=nohost"], /invalid --dashboard address/],
    [["--listen=x", "--dashboard=h:1"], /invalid --listen/],
    [["--filesystem=/x", "--etcd-auth=u:p"], /--etcd-auth needs --etcd/],
    [["--bogus=1"], /unknown option --bogus/],
    [["--dashboard=h:1", "--log-level=LOUD"], /invalid --log-level/],
    [["--dashboard=h:1", "--ncpu=many"], /invalid --ncpu/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseFeArgs(argv), (e) => e instanceof UsageError && re.test(e.message));
  }
});

Deno.test("fe static: paths that could leave the assets directory are refused", () => {
  assert.equal(safeRelativePath("/"), "index.html");
  assert.equal(safeRelativePath("/js/app.js"), "js/app.js");
  assert.equal(safeRelativePath("/js//views/slots.js"), "js/views/slots.js");
  for (const p of ["/../x", "/js/../../x", "/%2e%2e/x", "/js/..%2fx", "/a%5c..%5cx", "/.env", "/x%00", "/%zz"]) {
    assert.equal(safeRelativePath(p), undefined, p);
  }
});

Deno.test("fe: dashboard list parsing, xauth redaction, directory keeps the last good list", async () => {
  const m = parseDashboardList(
    '[{"name":"a","dashboard":"h:1, h:2"},{"name":"b","dashboard":""},{"name":"a","dashboard":"h:3"}]',
  );
  assert.deepEqual([...m.entries()], [["a", ["h:1", "h:2", "h:3"]]]);
  assert.throws(() => parseDashboardList('{"name":"a"}'), /expected a JSON array/);
  assert.throws(() => parseDashboardList('[{"name":"../x","dashboard":"h:1"}]'), /invalid product name/);
  assert.throws(() => parseDashboardList('[{"name":"a","dashboard":"nope"}]'), /invalid dashboard address/);

  const x = "0123456789abcdef0123456789abcdef";
  assert.equal(redactPath(`/api/topom/group/add/${x}/1/h:1`), "/api/topom/group/add/***/1/h:1");
  assert.equal(redactPath(`/api/topom/xping/${x}`), "/api/topom/xping/***");

  let calls = 0;
  const dir = new ProductDirectory(() => {
    calls++;
    if (calls === 2) return Promise.reject(new Error("store down"));
    return Promise.resolve(new Map([[`p${calls}`, ["h:1"]]]));
  }, { maxAgeMs: 0 });
  assert.deepEqual(await dir.names(), ["p1"]);
  assert.deepEqual(await dir.names(), ["p1"]); // the failed reload keeps p1
  assert.equal(dir.lastError, "store down");
  assert.deepEqual(await dir.names(), ["p3"]);
  assert.equal(await dir.lookup("p1"), undefined);
});

Deno.test("fe page helpers: overview sums, statuses, replication, plans", () => {
  const topom = {
    model: { product_name: "demo", admin_addr: "h:18080" },
    config: { coordinator_name: "raft", raft_peers: "1=h:28080" },
    stats: {
      proxy: {
        models: [{ token: "t1" }, { token: "t2" }, { token: "t3" }],
        stats: {
          t1: { stats: { online: true, ops: { qps: 10 }, sessions: { alive: 2 } } },
          t2: { stats: { online: true, ops: { qps: 5 }, sessions: { alive: 1 } } },
          t3: { error: { Cause: "x" }, timeout: true },
        },
      },
      group: {
        models: [{ id: 1, servers: [{ server: "m1" }, { server: "s1" }] }],
        stats: {
          m1: { stats: { used_memory: "1024", db0: "keys=3,expires=0", db5: "keys=4,expires=1" } },
          s1: { stats: { used_memory: "999999", db0: "keys=100" } },
        },
      },
    },
  };
  const o = overview(topom);
  assert.equal(o.qps, 15);
  assert.equal(o.sessions, 3);
  assert.equal(o.healthy, 2);
  assert.equal(o.memory, 1024);
  assert.equal(o.keys, 7);
  assert.equal(o.coordinator, "raft @ 1=h:28080");
  assert.equal(proxyStatus(undefined), "PENDING");
  assert.equal(proxyStatus(topom.stats.proxy.stats.t3), "TIMEOUT");
  assert.deepEqual(infoKeys({ db1: "keys=2,expires=0", role: "master" }), { keys: 2, dbs: 1 });
  assert.deepEqual(replication({}, "m1", 0), { text: "NO:ONE", ok: true });
  assert.deepEqual(replication({ master_addr: "m1", master_link_status: "up" }, "m1", 1), { text: "m1:up", ok: true });
  assert.equal(replication({ master_addr: "m2", master_link_status: "up" }, "m1", 1).ok, false);
  assert.equal(ranges([5, 1, 2, 3, 9]), "1-3, 5, 9");
  assert.deepEqual(describePlan({ "0": 2, "1": 2, "7": 1 }), ["group 1 ← 1 slot (7)", "group 2 ← 2 slots (0-1)"]);
});

Deno.test("fe forward: skips dead, loading and not-leader dashboards; never replays a write that may have run", async () => {
  const hits: string[] = [];
  const serve = (name: string, answer: (req: Request) => Response) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      hits.push(`${name} ${req.method} ${new URL(req.url).pathname}${new URL(req.url).search}`);
      return answer(req);
    });
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const good = serve("good", (req) => json(req.method === "PUT" ? "OK" : { ok: 1 }));
  const loading = serve("loading", () => json({ Cause: "dashboard is loading the model", Stack: [] }, 503));
  const lost = serve("lost", () => json({ Cause: "forwarding to leader h:1: timed out", Stack: [] }, 503));
  const follower = serve("follower", () => json({ Cause: "not leader", Stack: [], leader: addr(good) }, 421));
  const dead = `127.0.0.1:${
    (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const p = (l.addr as Deno.NetAddr).port;
      l.close();
      return p;
    })()
  }`;
  function addr(s: Deno.HttpServer<Deno.NetAddr>): string {
    return `127.0.0.1:${s.addr.port}`;
  }
  try {
    const { Forwarder } = await import("./forward.ts");
    const f = new Forwarder();
    const put = (dashboards: string[]) =>
      f.forward(new Request("http://fe/api/topom/x/y?forward=p", { method: "PUT", body: "{}" }), "p", dashboards);
    let r = await put([dead, addr(loading), addr(good)]);
    assert.equal(r.status, 200);
    assert.equal(await r.json(), "OK");
    assert.deepEqual(hits.splice(0), ["loading PUT /api/topom/x/y", "good PUT /api/topom/x/y"]);

    r = await new Forwarder().forward(new Request("http://fe/topom?forward=p&x=1"), "p", [addr(follower), addr(good)]);
    assert.deepEqual(await r.json(), { ok: 1 });
    assert.deepEqual(hits.splice(0), ["follower GET /topom?x=1", "good GET /topom?x=1"]);

    // A leader that is not one of the product's known dashboards is never sent the request.
    r = await new Forwarder().forward(new Request("http://fe/topom?forward=p&x=1"), "p", [addr(follower)]);
    assert.equal(r.status, 421);
    await r.body?.cancel();
    assert.deepEqual(hits.splice(0), ["follower GET /topom?x=1"]);

    r = await new Forwarder().forward(
      new Request("http://fe/api/topom/x/y?forward=p", { method: "PUT", body: "{}" }),
      "p",
      [addr(lost), addr(good)],
    );
    assert.equal(r.status, 503);
    assert.match((await r.json()).Cause, /timed out/);
    assert.deepEqual(hits.splice(0), ["lost PUT /api/topom/x/y"]);

    r = await new Forwarder().forward(new Request("http://fe/topom?forward=p"), "p", [dead]);
    assert.equal(r.status, 502);
    assert.match((await r.json()).Cause, /no dashboard reachable/);
  } finally {
    for (const s of [good, loading, lost, follower]) await s.shutdown();
  }
});

Deno.test("fe host check: the console's names, foreign Hosts and cross-site writes", async () => {
  const { checkHostAndOrigin, consoleHostNames } = await import("./host_check.ts");
  assert.deepEqual([...consoleHostNames("0.0.0.0", ["a.example"], "box")].sort(), [
    "127.0.0.1",
    "::1",
    "a.example",
    "box",
    "localhost",
  ]);
  const names = consoleHostNames("10.1.2.3");
  assert.ok(names.has("10.1.2.3"));
  const status = (url: string, init?: RequestInit) => checkHostAndOrigin(new Request(url, init), names)?.status;
  assert.equal(status("http://10.1.2.3:9090/list"), undefined);
  assert.equal(status("http://LOCALHOST./list"), undefined);
  assert.equal(status("http://attacker.example:9090/list"), 403);
  const put = (headers: Record<string, string>) => status("http://localhost:9090/x", { method: "PUT", headers });
  assert.equal(put({}), undefined);
  assert.equal(put({ origin: "http://localhost:9090" }), undefined);
  assert.equal(put({ origin: "http://localhost:9091" }), 403);
  assert.equal(put({ origin: "null" }), 403);
  assert.equal(put({ "sec-fetch-site": "same-site" }), 403);
});
