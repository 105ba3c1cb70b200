/**
 * End-to-end slot migration benchmark (issue 5): on a real local cluster (examples/cluster.ts: 2 groups, no
 * replicas, 3 dashboards on Raft, proxies following them), moves one slot of 50,101 small keys from group 1 to
 * group 2 and measures the time from the slot action's creation to the slot being finished, the keys per second
 * with and without client load, and the p99 latency of requests to the migrating slot during the move against the
 * same requests with no move running. Codis 3.2: 1.2 s end to end, 0.29 s of transfer (~170k keys/s).
 *
 *   deno run -A bench/cluster_migration_bench.ts [--quick] [--repeat=3] [--keys=50101] [--help]
 * @module
 */
import { parseArgs } from "node:util";
import type { Redis } from "ioredis";
import { type Cluster, startCluster } from "../examples/cluster.ts";
import { envInfo, loadAvg } from "./lib/env.ts";
import { stopAll, track } from "./lib/procs.ts";
import { median } from "./lib/report.ts";
import { type CeilingRun, migrateCeiling } from "./lib/migrate_ceiling.ts";
import { clockTicks, treeTicks } from "./lib/cpu.ts";
import { connectRedis, latencyProbe, type Loop, pipelineLoad, type Sample, summarise } from "./lib/client_load.ts";
import {
  addLogTimes,
  dbsize,
  fillSlot,
  moveSlot,
  type MoveTimes,
  setDashboardLogLevel,
  slotKey,
  tagForSlot,
} from "./lib/slot_move.ts";

const USAGE = `Usage: deno run -A bench/cluster_migration_bench.ts [options]

  --repeat=R            moves per mode (default 3; --quick: 1); the table shows each run and the median
  --keys=N              keys in the moved slot (default 50101)
  --quick               short run: 1 repeat, 1 s baseline
  --proxies=P           proxies in the cluster (default 2); load and probes spread over them
  --load-conns=C        pipelined load connections per proxy on other slots (default 2)
  --depth=D             commands per load pipeline (default 32)
  --probes=K            latency probe connections on the migrating slot (default 2)
  --baseline-seconds=S  probe time with load and no move, before each loaded move (default 3; --quick: 1)
  --poll-ms=MS          /topom/stats polling period on the leader while a slot moves (default 50). Each poll
                        costs the leader ~2 ms (a 119 KB JSON), in the event loop that also runs the executor:
                        at 10 ms the transfer itself got ~40% slower on a 2-CPU machine
  --ceiling-batch=B     keys per MIGRATE in the ceiling runs (default 1000, the executor's migration_async_numkeys)
  --no-load             skip the loaded moves and the latency comparison
  --no-cli              skip the extra move created through the codis-admin CLI
  --keep-logs           keep the cluster's data dir (dashboard, proxy and redis logs) and print its path
`;

const { values: v } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    repeat: { type: "string" },
    keys: { type: "string", default: "50101" },
    quick: { type: "boolean", default: false },
    proxies: { type: "string", default: "2" },
    "load-conns": { type: "string", default: "2" },
    depth: { type: "string", default: "32" },
    probes: { type: "string", default: "2" },
    "baseline-seconds": { type: "string" },
    "poll-ms": { type: "string", default: "50" },
    "ceiling-batch": { type: "string", default: "1000" },
    "no-load": { type: "boolean", default: false },
    "no-cli": { type: "boolean", default: false },
    "keep-logs": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (v.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const num = (name: string, x: string | undefined, dflt: number) => {
  const n = x === undefined ? dflt : Number(x);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${x}`);
  return n;
};
const REPEAT = Math.max(1, num("repeat", v.repeat, v.quick ? 1 : 3));
const KEYS = num("keys", v.keys, 50101);
const BASELINE_MS = 1000 * num("baseline-seconds", v["baseline-seconds"], v.quick ? 1 : 3);
const POLL_MS = num("poll-ms", v["poll-ms"], 50);
const SOURCE_GID = 1;
const TARGET_GID = 2;

/** A move under load, with the probe's latencies during the move and in the baseline window before it. */
interface Row {
  mode: "idle" | "idle-cli" | "load";
  t: MoveTimes;
  during?: ReturnType<typeof summarise>;
  baseline?: ReturnType<typeof summarise>;
  loadOps?: number;
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const kps = (keys: number, ms: number) => (Number.isFinite(ms) && ms > 0 ? `${(keys / ms).toFixed(1)}k` : "-");

/** Moves one freshly filled slot and checks that every key arrived. */
async function timedMove(c: Cluster, slot: number, via: "http" | "cli", keys: number, during?: () => Promise<void>) {
  const [src, dst] = [c.groups.get(SOURCE_GID)![0], c.groups.get(TARGET_GID)![0]];
  const tag = tagForSlot(slot);
  await fillSlot(src, slot, tag, keys);
  if (during) await during();
  const t = await moveSlot(c, { slot, gid: TARGET_GID, keys, via, pollMs: POLL_MS, timeoutMs: 120_000 });
  const [left, arrived] = [await dbsize(src, slot), await dbsize(dst, slot)];
  // The load on other slots writes random `load:*` keys, a few of which land in this slot too.
  if (left !== 0 || arrived < keys) {
    throw new Error(`slot ${slot}: ${left} keys left on the source, ${arrived} of ${keys} on the target`);
  }
  return { t, tag };
}

/**
 * Starts the cluster, trying again (up to 3 times) when it fails to come up: its ports come from freePort(), which
 * releases each port before the child binds it, so with other tests running on the machine a port is sometimes
 * taken in between (seen here as "Address already in use", or two Redis servers given the same port).
 */
async function startWithRetry(proxies: number): Promise<Cluster> {
  for (let attempt = 1;; attempt++) {
    const dataDir = await Deno.makeTempDir({ prefix: "codis-mig-bench-" });
    try {
      return await startCluster({ groups: 2, replicas: 0, dashboards: 3, proxies, output: "files", dataDir });
    } catch (e) {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      if (attempt >= 3) throw e;
      console.log(`# cluster start failed (attempt ${attempt}), retrying: ${(e as Error).message.split("\n")[0]}`);
    }
  }
}

async function main(): Promise<void> {
  const env = envInfo(new URL("..", import.meta.url).pathname);
  console.log(`# deno run -A bench/cluster_migration_bench.ts ${Deno.args.join(" ")}`.trimEnd());
  console.log(
    `# ${env.date}  ${env.cpus} CPUs (${env.cpuModel})  deno ${env.deno}  redis ${env.redis}  git ${env.gitCommit}`,
  );
  const load0 = loadAvg();
  const c = await startWithRetry(num("proxies", v.proxies, 2));
  const untrack = track(() => c.stop(v["keep-logs"]));
  const clients: Redis[] = [];
  const loops: Loop[] = [];
  const rows: Row[] = [];
  const ceiling: (CeilingRun & { srcCpuMs: number })[] = [];
  try {
    // A proxy may close connections until it has registered and loaded the model: retry for a while.
    const deadline = Date.now() + 30_000;
    for (const addr of c.proxyAddrs) {
      for (;;) {
        try {
          const r = await connectRedis(addr);
          clients.push(r);
          if (await r.ping() === "PONG") break;
        } catch (e) {
          if (Date.now() > deadline) throw new Error(`proxy ${addr} not serving: ${(e as Error).message}`);
        }
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    // The step writes are logged at debug level; their timestamps give the breakdown.
    await setDashboardLogLevel(c, "debug");
    console.log(`# cluster up in ${c.dataDir}: proxies ${c.proxyAddrs.join(",")}, dashboards ${c.dashboardList}`);

    // Warm-up (not reported): JIT, connections, and every proxy having acknowledged the current model.
    await timedMove(c, 500, "http", 2000);

    let slot = 100;
    // Each idle move is followed by its ceiling: the same number of keys moved by pipelined MIGRATE KEYS straight
    // from the bench, in a slot no move uses (the target's copies are deleted afterwards), so that the two are
    // measured under the same machine load.
    const [src, dst] = [c.groups.get(SOURCE_GID)![0], c.groups.get(TARGET_GID)![0]];
    const ceilingBatch = num("ceiling-batch", v["ceiling-batch"], 1000);
    for (let i = 0; i < REPEAT; i++) {
      rows.push({ mode: "idle", t: (await timedMove(c, slot++, "http", KEYS)).t });
      const s = 700 + i;
      const tag = tagForSlot(s);
      await fillSlot(src, s, tag, KEYS);
      const srcPid = c.redis.find((r) => r.addr === src)?.proc?.pid;
      const ticks0 = srcPid ? treeTicks(srcPid) : NaN;
      const run = await migrateCeiling(src, dst, s, slotKey(tag), KEYS, ceilingBatch, c.productAuth);
      ceiling.push({ ...run, srcCpuMs: srcPid ? ((treeTicks(srcPid) - ticks0) * 1000) / clockTicks() : NaN });
      const left = await dbsize(src, s);
      if (left !== 0) throw new Error(`ceiling run: ${left} keys left in db ${s} of ${src}`);
      const r = await connectRedis(dst, s);
      await r.flushdb().finally(() => r.disconnect());
    }
    if (!v["no-cli"]) rows.push({ mode: "idle-cli", t: (await timedMove(c, slot++, "cli", KEYS)).t });

    if (!v["no-load"]) {
      const conns = num("load-conns", v["load-conns"], 2);
      const depth = num("depth", v.depth, 32);
      const probes = num("probes", v.probes, 2);
      for (let i = 0; i < REPEAT; i++) {
        const samples: Sample[] = [];
        let baseline: [number, number] = [0, 0];
        let opsAt0 = 0;
        const s = slot++;
        const tag = tagForSlot(s);
        const extra: Redis[] = [];
        const { t } = await timedMove(c, s, "http", KEYS, async () => {
          // Load on other slots through every proxy, pipelined load on the migrating slot, and the probes.
          for (const addr of c.proxyAddrs) {
            for (let j = 0; j < conns; j++) {
              const r = await connectRedis(addr);
              extra.push(r);
              loops.push(pipelineLoad(r, (k) => `load:${k}`, 100_000, depth));
            }
          }
          const onSlot = await connectRedis(c.proxyAddrs[0]);
          extra.push(onSlot);
          loops.push(pipelineLoad(onSlot, slotKey(tag), KEYS, depth));
          for (let j = 0; j < probes; j++) {
            const r = await connectRedis(c.proxyAddrs[j % c.proxyAddrs.length]);
            extra.push(r);
            loops.push(latencyProbe(r, slotKey(tag), KEYS, samples));
          }
          await new Promise((r) => setTimeout(r, 300));
          baseline = [performance.now(), performance.now() + BASELINE_MS];
          opsAt0 = loops.reduce((a, l) => a + l.count(), 0);
          await new Promise((r) => setTimeout(r, BASELINE_MS));
        });
        // Commands per second over the baseline window and the move.
        const ops = (loops.reduce((a, l) => a + l.count(), 0) - opsAt0) / ((performance.now() - baseline[0]) / 1000);
        const errors = loops.flatMap((l) => l.errors);
        await Promise.all(loops.splice(0).map((l) => l.stop()));
        for (const r of extra) r.disconnect();
        if (errors.length) console.log(`# client errors in load run ${i + 1}: ${errors.slice(0, 3).join("; ")}`);
        rows.push({
          mode: "load",
          t,
          during: summarise(samples, t.perfStart, t.perfEnd),
          baseline: summarise(samples, baseline[0], baseline[1]),
          loadOps: ops,
        });
      }
    }
  } finally {
    await Promise.all(loops.splice(0).map((l) => l.stop()));
    for (const r of clients) r.disconnect();
    untrack();
    await c.stop(true);
    await addLogTimes(rows.map((r) => r.t), c.dataDir, c.dashboards.map((d) => d.name));
    if (v["keep-logs"]) console.log(`# logs kept in ${c.dataDir}`);
    else await Deno.remove(c.dataDir, { recursive: true }).catch(() => {});
  }
  report(rows, ceiling, load0);
}

function report(rows: Row[], ceiling: (CeilingRun & { srcCpuMs: number })[], load0: number): void {
  // "executor-done" is the executor's `moved K keys in X ms` line: the data transfer's end.
  const steps = ["pending", "preparing", "prepared", "migrating", "executor-done", "finished", "done"];
  console.log(`# load average ${load0} at start, ${loadAvg()} at end (2 CPUs shared by every process: noisy)`);
  console.log(`# slot of ${KEYS} keys, group ${SOURCE_GID} → ${TARGET_GID}; times in ms from the create request`);
  console.log(
    "# →step: when the leader logged that step's write (debug log, just before the Raft write); 'seen done': first" +
      ` /topom/stats poll (every ${POLL_MS} ms) showing the slot on group ${TARGET_GID} with no action`,
  );
  const head = [
    "mode",
    "slot",
    "create",
    ...steps.slice(1).map((s) => (s === "executor-done" ? "xfer end" : `→${s}`)),
    "seen done",
    "xfer ms",
    "moved",
    "xfer keys/s",
    "CPU ms: dash",
    "src",
    "dst",
    "proxies",
  ];
  const table: string[][] = [head];
  for (const r of rows) {
    table.push([
      r.mode,
      String(r.t.slot),
      fmt(r.t.acceptedMs),
      ...steps.slice(1).map((s) => fmt(r.t.logged[s])),
      fmt(r.t.totalMs),
      fmt(r.t.executorMs),
      fmt(r.t.executorMoved),
      kps(r.t.keys, r.t.executorMs),
      ...["leader", "src", "dst", "proxies"].map((k) => fmt(r.t.cpuMs[k])),
    ]);
  }
  for (const mode of ["idle", "load"] as const) {
    const rs = rows.filter((r) => r.mode === mode);
    if (rs.length === 0) continue;
    const med = (f: (r: Row) => number) => median(rs.map(f));
    table.push([
      `${mode} median`,
      "",
      fmt(med((r) => r.t.acceptedMs)),
      ...steps.slice(1).map((s) => fmt(med((r) => r.t.logged[s]))),
      fmt(med((r) => r.t.totalMs)),
      fmt(med((r) => r.t.executorMs)),
      "",
      kps(KEYS, med((r) => r.t.executorMs)),
      ...["leader", "src", "dst", "proxies"].map((k) => fmt(med((r) => r.t.cpuMs[k]))),
    ]);
  }
  printTable(table);

  const lat = rows.filter((r) => r.mode === "load");
  if (lat.length) {
    console.log("\n# probe GET/SET on the migrating slot's keys through the proxies, under load; latencies in ms");
    const t2: string[][] = [["run", "window", "requests", "errors", "p50", "p99", "max", "load cmds/s"]];
    for (const [i, r] of lat.entries()) {
      for (const [name, s] of [["no move", r.baseline!], ["moving", r.during!]] as const) {
        t2.push([
          String(i + 1),
          name,
          String(s.n),
          String(s.errors),
          fmt(s.p50, 3),
          fmt(s.p99, 3),
          fmt(s.max, 3),
          name === "moving" ? fmt(r.loadOps ?? NaN) : "",
        ]);
      }
    }
    t2.push([
      "median",
      "no move",
      "",
      "",
      fmt(median(lat.map((r) => r.baseline!.p50)), 3),
      fmt(median(lat.map((r) => r.baseline!.p99)), 3),
      "",
      "",
    ]);
    t2.push([
      "median",
      "moving",
      "",
      "",
      fmt(median(lat.map((r) => r.during!.p50)), 3),
      fmt(median(lat.map((r) => r.during!.p99)), 3),
      "",
      "",
    ]);
    printTable(t2);
  }
  const med = (mode: string, f: (t: MoveTimes) => number) =>
    median(rows.filter((r) => r.mode === mode).map((r) => f(r.t)));
  if (ceiling.length) {
    const cms = median(ceiling.map((r) => r.ms));
    const idle = rows.filter((r) => r.mode === "idle");
    const runs = ceiling.map((r, i) =>
      `${fmt(r.ms)} ms ${kps(r.keys, r.ms)} src CPU ${fmt(r.srcCpuMs)} ms (idle move ${i + 1}: ${
        (r.ms / idle[i].t.executorMs).toFixed(2)
      }x, src CPU ${fmt(idle[i].t.cpuMs.src)} ms)`
    ).join(", ");
    console.log(
      `\n# ceiling: pipelined MIGRATE ... KEYS of ${KEYS} keys (${
        v["ceiling-batch"]
      } per MIGRATE, all written at once, no` +
        ` SCAN): ${runs}; median ${fmt(cms)} ms, ${kps(KEYS, cms)} keys/s`,
    );
    for (const mode of ["idle", "load"]) {
      const xfer = med(mode, (t) => t.executorMs);
      if (Number.isFinite(xfer)) {
        console.log(`# executor ${mode} / ceiling: ${(cms / xfer).toFixed(2)}x (keys/s ratio)`);
      }
    }
  }
  console.log(
    `\n# end to end, idle median: ${fmt(med("idle", (t) => t.logged.done))} ms to the done write` +
      ` (${fmt(med("idle", (t) => t.totalMs))} ms until a stats poll saw it); goal ≤ 500 ms; Codis 3.2: 1200 ms` +
      ` (0.29 s transfer, ~170k keys/s)`,
  );
  for (const mode of ["idle", "load"]) {
    if (!rows.some((r) => r.mode === mode)) continue;
    console.log(
      `# ${mode === "idle" ? "without" : "with"} client load: transfer ${kps(KEYS, med(mode, (t) => t.executorMs))}` +
        ` keys/s (slot keys / executor time), end to end ${kps(KEYS, med(mode, (t) => t.totalMs))} keys/s`,
    );
  }
}

function printTable(rows: string[][]): void {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    console.error(`\n${sig}: stopping the cluster`);
    stopAll().finally(() => Deno.exit(130));
  });
}
try {
  await main();
} catch (e) {
  console.error(`cluster_migration_bench: ${(e as Error).stack ?? e}`);
  await stopAll();
  Deno.exit(1);
}
Deno.exit(0);
