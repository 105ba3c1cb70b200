import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { TopomStats } from "../models/mod.ts";
import { type FakeDashboard, startFakeDashboard } from "../admin/testing/fake_dashboard.ts";
import { admin, type AdminRun } from "../testing/admin_cli.ts";

/** Asserts a failed run: status 1 and exactly one line on stderr matching `re`. */
function failsWith(r: AdminRun, re: RegExp): void {
  equal(r.code, 1, `expected failure, got ${JSON.stringify(r)}`);
  const lines = r.stderr.trimEnd().split("\n");
  equal(lines.length, 1, `one stderr line expected: ${r.stderr}`);
  match(lines[0], /^codis-admin: /);
  match(lines[0], re);
  equal(r.stdout, "");
}

function okRun(r: AdminRun): string {
  equal(r.code, 0, `codis-admin failed: ${r.stderr}`);
  return r.stdout;
}

const server = (addr: string) => ({ server: addr, datacenter: "", action: {}, replica_group: false });
const proxyModel = (id: number, token: string, admin: string, proxy: string) => ({
  id,
  token,
  start_time: "t",
  admin_addr: admin,
  proto_type: "tcp4",
  proxy_addr: proxy,
  product_name: "demo",
  pid: 1,
  pwd: "/",
  sys: "x",
  hostname: "h",
  datacenter: "",
});

const STATS: TopomStats = {
  closed: false,
  slots: [{ id: 0, group_id: 1, action: {} }, { id: 1, group_id: 12, action: {} }],
  group: {
    models: [
      {
        id: 1,
        servers: [server("127.0.0.1:6379"), server("127.0.0.1:6380"), server("127.0.0.1:6381")],
        promoting: {},
        out_of_sync: false,
      },
      { id: 12, servers: [server("127.0.0.1:16381"), server("127.0.0.1:16382")], promoting: {}, out_of_sync: false },
    ],
    stats: {
      "127.0.0.1:6379": { stats: { role: "master" }, unixtime: 1 },
      "127.0.0.1:6380": { stats: { master_addr: "127.0.0.1:6379", master_link_status: "up" }, unixtime: 1 },
      "127.0.0.1:6381": { stats: { master_addr: "127.0.0.1:9999", master_link_status: "down" }, unixtime: 1 },
      "127.0.0.1:16381": { error: { Cause: "connection refused" }, unixtime: 1 },
    },
  },
  proxy: {
    models: [
      proxyModel(1, "tokA", "127.0.0.1:11080", "127.0.0.1:19000"),
      proxyModel(12, "tokB", "127.0.0.1:11081", "10.0.0.1:19001"),
    ],
    stats: { tokA: { stats: { online: true }, unixtime: 1 }, tokB: { timeout: true, unixtime: 1 } },
  },
  slot_action: { interval: 0, disabled: false, progress: { status: "" }, executor: 0 },
  sentinels: { model: { servers: [], out_of_sync: false }, stats: {}, masters: {} },
};

const RAFT_STATUS = {
  id: 1,
  clusterId: "c",
  addr: "127.0.0.1:28080",
  role: "leader",
  term: 3,
  leader: 1,
  leaderAddr: "127.0.0.1:28080",
  leaderApiAddr: "127.0.0.1:18080",
  commit: 42,
  applied: 42,
  firstIndex: 1,
  lastIndex: 42,
  snapshotIndex: 0,
  members: [
    { id: 1, addr: "127.0.0.1:28080", apiAddr: "127.0.0.1:18080", voter: true, match: 42, lag: 0, active: true },
    { id: 2, addr: "127.0.0.1:28081", voter: true, match: 40, lag: 2, active: true },
    { id: 4, addr: "127.0.0.1:28083", voter: false },
  ],
  metrics: {},
};

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function withFake(fn: (d: FakeDashboard) => Promise<void>, extra: { failures?: Record<string, string> } = {}) {
  const d = await startFakeDashboard({
    product: "demo",
    auth: "secret",
    stats: STATS,
    plan: { "0": 2, "1": 2, "2": 2, "5": 3, "6": 3, "7": 2 },
    raftStatus: RAFT_STATUS,
    ...extra,
  });
  try {
    await fn(d);
  } finally {
    await d.close();
  }
}

Deno.test("codis-admin dashboard commands send Codis's routes with xauth(product, auth)", async () => {
  await withFake(async (d) => {
    const D = [`--dashboard=${d.addr}`, "--auth=secret"];
    const cases: [string[], string[], string?][] = [
      [["--create-group", "--gid=3"], ["/api/topom/group/create/X/3"]],
      [["--remove-group", "-g", "3"], ["/api/topom/group/remove/X/3"]],
      [["--resync-group", "--gid=3"], ["/api/topom/group/resync/X/3"]],
      [["--resync-group", "--all"], ["/api/topom/group/resync/X/1", "/api/topom/group/resync/X/12"]],
      [["--group-add", "--gid=1", "--addr=127.0.0.1:6379", "--datacenter=dc1"], [
        "/api/topom/group/add/X/1/127.0.0.1:6379/dc1",
      ]],
      [["--group-add", "--gid=1", "-x", "127.0.0.1:6379"], ["/api/topom/group/add/X/1/127.0.0.1:6379"]],
      [["--group-del", "--gid=1", "--addr=127.0.0.1:6380"], ["/api/topom/group/del/X/1/127.0.0.1:6380"]],
      [["--replica-groups", "--gid=1", "--addr=127.0.0.1:6380", "--enable"], [
        "/api/topom/group/replica-groups/X/1/127.0.0.1:6380/1",
      ]],
      [["--replica-groups", "--gid=1", "--addr=127.0.0.1:6380", "--disable"], [
        "/api/topom/group/replica-groups/X/1/127.0.0.1:6380/0",
      ]],
      [["--promote-server", "--gid=1", "--addr=127.0.0.1:6380"], ["/api/topom/group/promote/X/1/127.0.0.1:6380"]],
      [["--sync-action", "--create", "--addr=127.0.0.1:6380"], ["/api/topom/group/action/create/X/127.0.0.1:6380"]],
      [["--sync-action", "--remove", "--addr=127.0.0.1:6380"], ["/api/topom/group/action/remove/X/127.0.0.1:6380"]],
      [["--slot-action", "--create", "--sid=7", "--gid=2"], ["/api/topom/slots/action/create/X/7/2"]],
      [["--slot-action", "--remove", "--sid=7"], ["/api/topom/slots/action/remove/X/7"]],
      [["--slot-action", "--create-some", "--gid-from=1", "--gid-to=2", "--num-slots=10"], [
        "/api/topom/slots/action/create-some/X/1/2/10",
      ]],
      [["--slot-action", "--create-range", "--beg=10", "--end=20", "--gid=2"], [
        "/api/topom/slots/action/create-range/X/10/20/2",
      ]],
      [["--slot-action", "--interval=1000"], ["/api/topom/slots/action/interval/X/1000"]],
      [["--slot-action", "--disabled=1"], ["/api/topom/slots/action/disabled/X/1"]],
      [["--slots-assign", "--beg=0", "--end=2", "--gid=1", "--confirm"], ["/api/topom/slots/assign/X"]],
      [["--slots-assign", "--beg=5", "--end=5", "--offline", "--confirm"], ["/api/topom/slots/assign/X/offline"]],
      [["--rebalance", "--confirm"], ["/api/topom/slots/rebalance/X/1"]],
      [["--create-proxy", "--addr=127.0.0.1:11080"], ["/api/topom/proxy/create/X/127.0.0.1:11080"]],
      [["--online-proxy", "--addr=127.0.0.1:11080"], ["/api/topom/proxy/online/X/127.0.0.1:11080"]],
      [["--remove-proxy", "--token=abc", "--force"], ["/api/topom/proxy/remove/X/abc/1"]],
      [["--remove-proxy", "--pid=12"], ["/api/topom/proxy/remove/X/tokB/0"]],
      [["--remove-proxy", "--addr=127.0.0.1:11080"], ["/api/topom/proxy/remove/X/tokA/0"]],
      [["--reinit-proxy", "-t", "tokA"], ["/api/topom/proxy/reinit/X/tokA"]],
      [["--reinit-proxy", "--all"], ["/api/topom/proxy/reinit/X/tokA", "/api/topom/proxy/reinit/X/tokB"]],
      [["--sentinel-add", "--addr=127.0.0.1:26379"], ["/api/topom/sentinels/add/X/127.0.0.1:26379"]],
      [["--sentinel-del", "--addr=127.0.0.1:26379", "--force"], ["/api/topom/sentinels/del/X/127.0.0.1:26379/1"]],
      [["--sentinel-resync"], ["/api/topom/sentinels/resync-all/X"]],
      [["--reload"], ["/api/topom/reload/X"]],
      [["--shutdown"], ["/api/topom/shutdown/X"]],
      [["--log-level=warning"], ["/api/topom/loglevel/X/WARN"]],
      [["--raft-add", "--id=4", "--addr=127.0.0.1:28083", "--learner"], [
        "/api/topom/raft/add/X/4/127.0.0.1:28083?learner=1",
      ]],
      [["--raft-add", "--id=4", "--addr=127.0.0.1:28083"], ["/api/topom/raft/add/X/4/127.0.0.1:28083"]],
      [["--raft-promote", "--id=4"], ["/api/topom/raft/promote/X/4"]],
      [["--raft-remove", "--id=2"], ["/api/topom/raft/remove/X/2"]],
      [["--raft-transfer", "--id=2"], ["/api/topom/raft/transfer/X/2"]],
    ];
    // Each command gets its own fake dashboard, so that its requests can be told apart while all run at once.
    const bodies = new Map<string, string>();
    await pool(cases, 8, async ([args, puts]) => {
      await withFake(async (d) => {
        okRun(await admin(`--dashboard=${d.addr}`, "--auth=secret", ...args));
        const paths = d.requests.map((q) => q.path.replace(d.xauth, "X"));
        equal(paths[0], "/api/topom/model", args.join(" "));
        equal(paths[1], "/api/topom/xping/X", args.join(" "));
        deepEqual(d.paths("PUT"), puts, args.join(" "));
        for (const q of d.requests) if (q.body) bodies.set(q.path.replace(d.xauth, "X"), q.body);
      });
    });
    deepEqual(
      JSON.parse(bodies.get("/api/topom/slots/assign/X")!),
      [0, 1, 2].map((id) => ({ id, group_id: 1, action: {} })),
    );
    deepEqual(JSON.parse(bodies.get("/api/topom/slots/assign/X/offline")!), [{ id: 5, group_id: 0, action: {} }]);
    // With --product_name the model is not asked for.
    okRun(await admin(...D, "--product_name=demo", "--reload"));
    deepEqual(d.paths(), ["/api/topom/xping/X", "/api/topom/reload/X"]);
  });
});

Deno.test("codis-admin prints Codis's tables, plans and JSON", async () => {
  await withFake(async (d) => {
    const D = [`--dashboard=${d.addr}`, "--auth=secret"];
    const [groups, proxies, plan, preview, model, listGroup, overview, raft, raftJson, promote] = await Promise.all([
      admin(...D, "--group-status"),
      admin(...D, "--proxy-status"),
      admin(...D, "--rebalance"),
      admin(...D, "--slots-assign", "--beg=1", "--end=2", "--gid=3"),
      admin(...D, "model"),
      admin(...D, "--list-group"),
      admin(...D),
      admin(...D, "--raft-status"),
      admin(...D, "--raft-status", "--json"),
      admin(...D, "--promote-server", "--gid=1", "--addr=127.0.0.1:6380"),
    ]);
    const groupTable = [
      "[ ] group-01 [0] 127.0.0.1:6379       ==> NO:ONE",
      "[ ] group-01 [1] 127.0.0.1:6380       ==> 127.0.0.1:6379:up",
      "[X] group-01 [2] 127.0.0.1:6381       ==> 127.0.0.1:9999:down",
      "[E] group-12 [0] 127.0.0.1:16381",
      "[?] group-12 [1] 127.0.0.1:16382",
      "",
    ].join("\n");
    equal(okRun(groups), groupTable);
    equal(okRun(promote), groupTable);
    equal(
      okRun(proxies),
      "[ ] proxy-01 [T] tokA [A] 127.0.0.1:11080 [P] 127.0.0.1:19000\n" +
        "[T] proxy-12 [T] tokB [A] 127.0.0.1:11081 [P] 10.0.0.1:19001 \n",
    );
    equal(okRun(plan), "[0000,0002] => 2\n[0005,0006] => 3\n[0007,0007] => 2\ndone\n");
    ok(d.paths("PUT").includes("/api/topom/slots/rebalance/X/0"));
    equal(
      okRun(preview),
      JSON.stringify([{ id: 1, group_id: 3, action: {} }, { id: 2, group_id: 3, action: {} }], null, "    ") + "\n",
    );
    ok(!d.paths("PUT").some((p) => p.includes("slots/assign")), "no assign without --confirm");
    equal(JSON.parse(okRun(model)).product_name, "demo");
    match(okRun(model), /^\{\n {4}"token": "t0",\n/);
    deepEqual(JSON.parse(okRun(listGroup)), STATS.group.models);
    deepEqual(Object.keys(JSON.parse(okRun(overview))), ["version", "compile", "config", "model", "stats"]);
    equal(
      okRun(raft),
      [
        "node 1: leader, term 3, leader 1 (127.0.0.1:18080), commit 42, applied 42, last 42",
        "id  role      raft addr        api addr         match  lag  active",
        "1   leader    127.0.0.1:28080  127.0.0.1:18080  42     0    yes",
        "2   follower  127.0.0.1:28081  -                40     2    yes",
        "4   learner   127.0.0.1:28083  -                -      -    -",
        "",
      ].join("\n"),
    );
    deepEqual(JSON.parse(okRun(raftJson)), RAFT_STATUS);
  });
});

Deno.test("codis-admin reports every error on one line with status 1", async () => {
  await withFake(async (d) => {
    const D = [`--dashboard=${d.addr}`, "--auth=secret"];
    const runs = await Promise.all([
      admin("--bogus"),
      admin(...D, "--create-group"),
      admin(...D, "--create-group", "--gid=10000"),
      admin(...D, "--create-group", "--gid=5"),
      admin(`--dashboard=${d.addr}`, "--auth=wrong", "--group-status"),
      admin(...D, "--create-group", "--gid=1", "--remove-group"),
      admin(...D, "--slots-assign", "--beg=9", "--end=3", "--gid=1"),
      admin(...D, "--log-level=loud"),
      admin(...D, "--remove-proxy", "--pid=99"),
      admin(...D, "whatever"),
      admin("--dashboard=127.0.0.1:9", "--reload"),
      admin("--proxy=127.0.0.1:9", "--dashboard=127.0.0.1:9"),
      admin(),
    ]);
    failsWith(runs[0], /Unknown option '--bogus'$/);
    failsWith(runs[1], /option --gid is required/);
    failsWith(runs[2], /--gid = 10000: expected an integer in 1\.\.9999/);
    failsWith(runs[3], /group-0005 already exists \(HTTP 400\)/);
    failsWith(runs[4], /invalid xauth.*\(HTTP 403\)/);
    failsWith(runs[5], /options --create-group and --remove-group cannot be used together/);
    failsWith(runs[6], /--beg = 9 is greater than --end = 3/);
    failsWith(runs[7], /--log-level = loud/);
    failsWith(runs[8], /can't find specific proxy with id = 99/);
    failsWith(runs[9], /unknown argument "whatever"/);
    failsWith(runs[10], /127\.0\.0\.1:9/);
    failsWith(runs[11], /cannot be used together/);
    failsWith(runs[12], /nothing to do/);
    ok(!d.paths("PUT").some((p) => p.includes("group/create/X/1") || p.includes("loglevel")));
    ok(!runs.some((r) => r.stderr.includes("    at ")), "no stack traces");
  }, { failures: { "/api/topom/group/create/X/5": "group-0005 already exists" } });
});

Deno.test("codis-admin follows a follower's 421 to the leader and skips an unreachable dashboard", async () => {
  await withFake(async (leader) => {
    const follower = await startFakeDashboard({ product: "demo", auth: "secret", followerOf: leader.addr });
    const deadEnd = await startFakeDashboard({ product: "demo", auth: "secret", followerOf: "" });
    try {
      okRun(await admin(`--dashboard=${follower.addr}`, "--auth=secret", "--create-group", "--gid=9"));
      ok(leader.paths("PUT").includes("/api/topom/group/create/X/9"));
      equal(follower.requests[0].path, "/api/topom/model");

      okRun(await admin("--dashboard=127.0.0.1:9," + leader.addr, "--auth=secret", "--create-group", "--gid=10"));
      ok(leader.paths("PUT").includes("/api/topom/group/create/X/10"));

      failsWith(await admin(`--dashboard=${deadEnd.addr}`, "--reload"), /no leader known/);
    } finally {
      await follower.close();
      await deadEnd.close();
    }
  });
});
