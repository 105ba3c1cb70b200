/**
 * The proxy benchmark: redis-benchmark against direct Redis, twemproxy and codis-proxy over the same 2 backends,
 * alternating targets and repeating every row. See bench/README.md for how to run it and read the table.
 */
import { startRedis } from "../testing/redis.ts";
import { HarnessError, isPlainError, parseOptions, USAGE } from "./lib/args.ts";
import { findPidByCmdline } from "./lib/cpu.ts";
import { envInfo, loadAvg } from "./lib/env.ts";
import { ClosingError, type Server, startProxyTarget, startTwemproxy, stopAll, track } from "./lib/procs.ts";
import { renderTable, type RunRecord, summarise } from "./lib/report.ts";
import { replicationRoundTripMs } from "./lib/repl_rtt.ts";
import { benchArgs, DEFAULT_WORKLOADS, runOnce, type RunSettings, type Workload, WORKLOADS } from "./lib/run.ts";
import { type BenchTls, prepareBenchTls, TLS_TARGETS } from "./lib/tls_targets.ts";
import { type BurstResult, connectionBurst, renderBurstTable } from "./lib/conn_burst.ts";
import { idleMemoryRound, type LiveMemoryResult, renderLiveMemory } from "./lib/idle_memory.ts";
import {
  BIG_REQUEST_ARGS,
  bigRequest,
  type BigRequestResult,
  encodeBigRequest,
  renderBigRequestTable,
} from "./lib/big_request.ts";
import { OPEN_FILES } from "./lib/procs.ts";
import { openFilesLimit } from "../util/ulimit.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function log(msg: string) {
  console.error(`[bench] ${msg}`);
}

function fmtK(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}

/** Rounds a request count to two significant digits, so the printed commands stay readable. */
function roundN(x: number): number {
  const mag = 10 ** Math.max(0, Math.floor(Math.log10(x)) - 1);
  return Math.round(x / mag) * mag;
}

/** --proxy-b-monitor: a redis-cli MONITOR on `port` for the rest of the run, its output discarded. */
function attachMonitor(port: number): void {
  const child = new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), "monitor"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  track(async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Server processes of the run, by target name, plus the pid charged for each target's CPU. */
interface Target {
  name: string;
  port: number;
  cpuPid: number | null;
  command: string;
  /** redis-benchmark arguments this target needs (TLS). */
  clientArgs?: string[];
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const cmdline = `deno run -A bench/proxy_bench.ts${argv.length ? " " + argv.join(" ") : ""}`;
  const workloads = WORKLOADS.filter((w) => (opts.only.length ? opts.only : DEFAULT_WORKLOADS).includes(w.id));
  const burst = opts.connections > 0 && (opts.only.length === 0 || opts.only.includes("conn"));
  const bigReq = opts.only.length === 0 || opts.only.includes("args400k");
  if (workloads.length === 0 && !burst && !bigReq) {
    throw new HarnessError(`--only matched no workload: ${opts.only.join(",")}`);
  }
  const settings: RunSettings = {
    keyspace: opts.keyspace,
    valueSize: opts.valueSize,
    threads: opts.benchThreads,
    timeoutMs: 0,
  };
  const env = envInfo(ROOT);
  const dir = await Deno.makeTempDir({ prefix: "codis-bench-" });
  if (opts.keepLogs) log(`keeping configs and logs in ${dir}`);
  else track(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  const notes: string[] = [];

  const tls: BenchTls | null = opts.targets.some((t) => TLS_TARGETS.includes(t)) ? await prepareBenchTls() : null;
  log(`starting 2 redis-server backends (databases 1024, hz 100)${tls ? ", the first with a TLS port too" : ""}`);
  const backends = [];
  for (let i = 0; i < 2; i++) {
    const b = await startRedis(i === 0 && tls ? { extraArgs: tls.redisArgs } : {});
    track(() => b.stop());
    backends.push(b);
  }
  const addrs = backends.map((b) => b.addr);
  if (opts.writeAcks > 0) await startReplicas(backends, opts.writeAcks);

  const targets: Target[] = [];
  if (opts.targets.includes("direct")) {
    const b = backends[0];
    const pid = findPidByCmdline("redis-server", b.addr);
    targets.push({ name: "direct", port: b.port, cpuPid: pid, command: `redis-server on ${b.addr} (backend 1 of 2)` });
  }
  if (tls && opts.targets.includes("direct-tls")) {
    const b = backends[0];
    targets.push({
      name: "direct-tls",
      port: tls.redisTlsPort,
      cpuPid: findPidByCmdline("redis-server", b.addr),
      command: `redis-server backend 1, its TLS port ${tls.redisTlsPort}`,
      clientArgs: tls.clientArgs,
    });
  }
  const servers: Server[] = [];
  if (opts.targets.includes("twemproxy")) {
    log("starting twemproxy");
    const s = await startTwemproxy({ backends: addrs, hash: opts.twemHash, distribution: opts.twemDist, dir });
    servers.push(s);
  }
  const proxyNames: string[] = [];
  const memoryTargets = new Map<string, { script: string; extraArgs: string[] }>();
  if (opts.targets.includes("proxy")) {
    const script = opts.proxyScript.startsWith("/") ? opts.proxyScript : `${ROOT}/${opts.proxyScript}`;
    if (!(await exists(script))) {
      notes.push(`codis-proxy skipped: ${opts.proxyScript} does not exist yet`);
      log(notes[notes.length - 1]);
    } else {
      const variants = opts.proxyWorkers.map((workers) => ({ workers, acks: 0, b: false }));
      if (opts.writeAcks > 0) variants.push({ workers: opts.proxyWorkers[0], acks: opts.writeAcks, b: false });
      // --proxy-b-arg: the same proxies again as "<name>-b" with the extra flags, for an A/B in one run.
      const withB = opts.proxyBArgs.length > 0 || opts.proxyBScript !== "" || opts.proxyBMonitor;
      if (withB) variants.push(...variants.map((v) => ({ ...v, b: true })));
      for (const { workers, acks, b } of variants) {
        const base = opts.proxyWorkers.length > 1 ? `proxy-w${workers}` : "proxy";
        const name = (acks > 0 ? `${base}-acks${acks}` : base) + (b ? "-b" : "");
        const extra = [...(acks > 0 ? [`--backend_write_acks=${acks}`] : []), ...(b ? opts.proxyBArgs : [])];
        log(`starting ${name}${workers ? ` (--proxy_workers=${workers})` : ""}`);
        try {
          const s = await startProxyTarget({
            name,
            backends: addrs,
            workers: workers || undefined,
            extraArgs: [...opts.proxyArgs, ...extra],
            dir,
            deno: Deno.execPath(),
            cwd: ROOT,
            script: b && opts.proxyBScript !== "" ? opts.proxyBScript : opts.proxyScript,
          });
          servers.push(s);
          proxyNames.push(name);
          if (b && opts.proxyBMonitor) attachMonitor(s.port);
          // The idle-memory measurement starts fresh copies of the single-threaded proxies (idle_memory.ts).
          if (!workers || workers === 1) {
            memoryTargets.set(name, {
              script: b && opts.proxyBScript !== "" ? opts.proxyBScript : opts.proxyScript,
              extraArgs: [...opts.proxyArgs, ...extra],
            });
          }
        } catch (e) {
          notes.push(`${name} failed to start: ${(e as Error).message}`);
          log(notes[notes.length - 1]);
        }
      }
    }
  }
  for (const name of ["proxy-tls", "proxy-mtls"]) {
    if (!tls || !opts.targets.includes(name)) continue;
    log(`starting ${name} (TLS on the client side${name === "proxy-mtls" ? " with client certificates" : ""})`);
    try {
      const s = await startProxyTarget({
        name,
        backends: addrs,
        extraArgs: [...opts.proxyArgs, ...(name === "proxy-mtls" ? tls.mtlsProxyArgs : tls.proxyArgs)],
        dir,
        deno: Deno.execPath(),
        cwd: ROOT,
        script: opts.proxyScript,
      });
      servers.push(s);
      proxyNames.push(s.name);
    } catch (e) {
      notes.push(`${name} failed to start: ${(e as Error).message}`);
      log(notes[notes.length - 1]);
    }
  }
  for (const s of servers) {
    const clientArgs = s.name === "proxy-tls"
      ? tls?.clientArgs
      : s.name === "proxy-mtls"
      ? tls?.mtlsClientArgs
      : undefined;
    targets.push({ name: s.name, port: s.port, cpuPid: s.pid, command: s.command, clientArgs });
  }
  if (targets.length === 0) throw new HarnessError("no target could be started");
  const names = targets.map((t) => t.name);
  const peers = names.filter((n) => n === "direct" || n === "twemproxy" || n === "direct-tls");

  // Warm-up: fills the keyspace (so GETs hit) and lets the proxy's JIT settle before anything is measured.
  const warm = opts.quick ? 0.2 : 1;
  for (const t of targets) {
    for (const w of WORKLOADS.filter((x) => ["p1-set", "p16-get", "mset10"].includes(x.id))) {
      const n = Math.round(w.calibrationN * 2 * warm);
      const r = await runOnce(w, t.port, n, null, { ...settings, timeoutMs: 120_000, clientArgs: t.clientArgs });
      if (r.error) log(`warm-up ${w.label} on ${t.name} failed: ${r.error}`);
    }
  }

  // Request counts: fixed, quick, or calibrated so a run on direct Redis lasts about --seconds.
  const counts = new Map<string, number>();
  for (const w of workloads) {
    if (opts.n) counts.set(w.id, opts.n);
    else if (opts.quick) counts.set(w.id, w.quickN);
    else {
      const t = targets[0];
      const r = await runOnce(w, t.port, w.calibrationN, null, {
        ...settings,
        timeoutMs: 120_000,
        clientArgs: t.clientArgs,
      });
      const n = r.line ? Math.max(w.calibrationN, roundN(r.line.rps * opts.seconds)) : w.calibrationN * 4;
      counts.set(w.id, n);
      log(`calibrated ${w.label} on ${t.name}: -n ${n}`);
    }
  }

  const loadStart = loadAvg();
  const records: RunRecord[] = [];
  const bursts: BurstResult[] = [];
  const memory: LiveMemoryResult[] = [];
  const bigRequests: BigRequestResult[] = [];
  let bigRequestBytes: Uint8Array | undefined;
  for (let rep = 0; rep < opts.repeat; rep++) {
    for (const w of workloads) {
      // Rotating the order each repeat keeps any drift (thermal, page cache, key count) from favouring one target.
      const order = targets.map((_, i) => targets[(i + rep) % targets.length]);
      for (const t of order) {
        const n = counts.get(w.id)!;
        const timeoutMs = Math.max(60_000, (opts.seconds * 30 + 30) * 1000);
        const r = await runOnce(w, t.port, n, t.cpuPid, { ...settings, timeoutMs, clientArgs: t.clientArgs });
        records.push({ workload: w.id, target: t.name, rep, ...r });
        const l = r.line;
        log(
          `[${rep + 1}/${opts.repeat}] ${w.label.padEnd(17)} ${t.name.padEnd(10)} ` +
            (l
              ? `${fmtK(l.rps).padStart(7)} ops/s  p50 ${l.p50Ms.toFixed(3)}  p99 ${l.p99Ms.toFixed(3)}  ` +
                `cpu ${Number.isFinite(r.cpuUsPerReq) ? r.cpuUsPerReq.toFixed(1) : "-"} us/req`
              : `ERROR ${r.error}`),
        );
      }
    }
    if (bigReq) {
      bigRequestBytes ??= encodeBigRequest(BIG_REQUEST_ARGS);
      const plain = targets.filter((t) => !t.clientArgs?.length);
      for (let i = 0; i < plain.length; i++) {
        const t = plain[(i + rep) % plain.length];
        const r = await bigRequest(t.name, rep, t.port, bigRequestBytes, t.cpuPid);
        bigRequests.push(r);
        log(
          `[${rep + 1}/${opts.repeat}] ${"400k-arg request".padEnd(17)} ${t.name.padEnd(10)} ` +
            (r.error
              ? `ERROR ${r.error}`
              : `${r.ms.toFixed(0)} ms  others stalled ${r.stallMs.toFixed(1)} ms  cpu ${r.cpuMs.toFixed(1)} ms`),
        );
      }
    }
    if (!burst) continue;
    // Plain connections only: the TLS targets are left out of the burst.
    const plain = targets.filter((t) => !t.clientArgs?.length);
    for (let i = 0; i < plain.length; i++) {
      const t = plain[(i + rep) % plain.length];
      const b = await connectionBurst(t.name, rep, t.port, t.cpuPid, opts.connections);
      bursts.push(b);
      log(
        `[${rep + 1}/${opts.repeat}] ${`${opts.connections} connections`.padEnd(17)} ${t.name.padEnd(10)} ` +
          `burst ${b.burstMs.toFixed(0)} ms  slowest ${b.slowestMs.toFixed(0)} ms  ` +
          `RSS ${b.rssPerConnKB.toFixed(2)} KB/conn` +
          (b.failed ? `  ${b.failed} failed: ${b.error}` : ""),
      );
    }
    if (burst) {
      const common = { cwd: ROOT, dir, backends: addrs, n: opts.connections };
      memory.push(
        ...await idleMemoryRound(memoryTargets, common, (what) => log(`[${rep + 1}/${opts.repeat}] ${what}`), rep),
      );
    }
  }

  const load = { start: loadStart, end: loadAvg() };
  const out: string[] = [];
  out.push(`# ${cmdline}`);
  out.push(
    `# ${env.date}  ${env.cpus} CPUs (${env.cpuModel})  deno ${env.deno}  redis ${env.redis}  ${env.nutcracker}  ` +
      `git ${env.gitCommit}`,
  );
  const busy = Math.max(load.start, load.end) > env.cpus / 2 ? "  (busy machine: figures are noisy)" : "";
  out.push(`# load average ${load.start} at start, ${load.end} at end${busy}`);
  out.push(`# medians of ${opts.repeat} run(s) per cell; ratios are ${proxyNames.join(",") || "proxy"}/peer`);
  out.push("");
  if (workloads.length > 0) out.push(renderTable(workloads, names, proxyNames, peers, records), "");
  if (bursts.length > 0) out.push(renderBurstTable(bursts, names, proxyNames, peers), "");
  if (memory.length > 0) out.push(renderLiveMemory(memory, [...memoryTargets.keys()]), "");
  if (bigRequests.length > 0) out.push(renderBigRequestTable(bigRequests, names, proxyNames, peers), "");
  out.push("Targets (2 backends: " + addrs.join(", ") + "):");
  for (const t of targets) out.push(`  ${t.name.padEnd(10)} ${t.command}`);
  out.push("redis-benchmark commands (PORT = the target's port):");
  for (const w of workloads) {
    out.push(`  ${w.id.padEnd(9)} redis-benchmark ${benchArgs(w, "PORT", counts.get(w.id)!, settings).join(" ")}`);
  }
  if (burst) {
    out.push(
      `  conn      redis-benchmark -h 127.0.0.1 -p PORT -c ${opts.connections} -n ${opts.connections} -t ping_mbulk ` +
        "--csv (burst ms = n / rps: from the first connect to the last PONG; slowest = max latency); then the " +
        `harness holds ${opts.connections} connections open, one PING each, and RSS KB/conn is the target's ` +
        "VmRSS growth per connection after 1 s idle",
    );
  }
  if (tls) {
    out.push(`  TLS targets add: ${tls.clientArgs.join(" ")} (a CA made for the run); proxy-mtls also --cert, --key`);
  }
  if (opts.writeAcks > 0) out.push(...await writeAckLines(records, workloads, proxyNames, backends[0].port));
  for (const n of notes) out.push(`NOTE: ${n}`);
  console.log(out.join("\n"));

  if (opts.json) {
    const summaries = workloads.flatMap((w: Workload) => names.map((t) => summarise(records, w.id, t)));
    const doc = {
      command: cmdline,
      env,
      options: opts,
      targets,
      notes,
      counts: Object.fromEntries(counts),
      summaries,
      runs: records,
      bursts,
    };
    await Deno.writeTextFile(opts.json, JSON.stringify(doc, (_k, v) => (Number.isNaN(v) ? null : v), 2) + "\n");
    log(`wrote ${opts.json}`);
  }
  const failed = records.filter((r) => r.error).length + bursts.filter((b) => b.failed === b.connections).length;
  return failed === records.length + bursts.length ? 1 : 0;
}

/**
 * The thousand-client rows and the connection burst need more open files than the usual soft limit of 1024, and Deno
 * cannot raise its own: below OPEN_FILES, the harness runs itself again through a shell that raises it (up to the
 * hard limit). Returns the child's exit code, or null to go on in this process.
 */
async function rerunWithOpenFiles(): Promise<number | null> {
  const have = openFilesLimit() ?? Infinity;
  if (have >= OPEN_FILES || Deno.env.get("CODIS_BENCH_NOFILE_RAISED") === "1") return null;
  const script = `ulimit -n ${OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const self = new URL(import.meta.url).pathname;
  const child = new Deno.Command("sh", {
    args: ["-c", script, "sh", Deno.execPath(), "run", "-A", self, ...Deno.args],
    env: { CODIS_BENCH_NOFILE_RAISED: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (sig: Deno.Signal) => () => {
    try {
      child.kill(sig);
    } catch { /* exited */ }
  };
  Deno.addSignalListener("SIGINT", forward("SIGINT"));
  Deno.addSignalListener("SIGTERM", forward("SIGTERM"));
  return (await child.status).code;
}

/** Gives each backend `n` replicas (started with --replicaof) and waits until they are online. */
async function startReplicas(backends: { port: number; addr: string }[], n: number): Promise<void> {
  log(`starting ${n} replica(s) per backend`);
  for (const b of backends) {
    const replicas = [];
    for (let i = 0; i < n; i++) {
      const r = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(b.port)] });
      track(() => r.stop());
      replicas.push(r);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const out = await new Deno.Command("redis-cli", { args: ["-p", String(b.port), "INFO", "replication"] }).output();
      const online = (new TextDecoder().decode(out.stdout).match(/state=online/g) ?? []).length;
      if (online >= n) break;
      if (Date.now() > deadline) throw new HarnessError(`replicas of ${b.addr} not online after 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** For each proxy-acksN target: its SET throughput and p50 against the same proxy without, and the replication RTT. */
async function writeAckLines(
  records: RunRecord[],
  workloads: Workload[],
  proxyNames: string[],
  masterPort: number,
): Promise<string[]> {
  const rtt = await replicationRoundTripMs(masterPort);
  const out = ["", `backend_write_acks (medians; replication round trip on a backend: ${rtt.toFixed(3)} ms)`];
  for (const acked of proxyNames.filter((n) => /-acks\d+$/.test(n))) {
    const plain = acked.replace(/-acks\d+$/, "");
    for (const w of workloads) {
      const a = summarise(records, w.id, acked);
      const p = summarise(records, w.id, plain);
      out.push(
        `  ${w.label.padEnd(17)} ${acked} ${fmtK(a.rps)} ops/s = ${(a.rps / p.rps).toFixed(2)}x of ${plain} ` +
          `(${fmtK(p.rps)});  p50 ${a.p50Ms.toFixed(3)} ms vs ${p.p50Ms.toFixed(3)} ms ` +
          `(+${(a.p50Ms - p.p50Ms).toFixed(3)} ms)`,
      );
    }
  }
  return out;
}

if (import.meta.main) {
  const rerun = await rerunWithOpenFiles();
  if (rerun !== null) Deno.exit(rerun);
  let signalCode = 0;
  const onSignal = (sig: Deno.Signal, code: number) => () => {
    if (signalCode) return;
    signalCode = code;
    log(`${sig}: stopping all processes`);
    stopAll().finally(() => Deno.exit(code));
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT", 130));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM", 143));
  let code = 1;
  try {
    code = await main(Deno.args);
  } catch (e) {
    if (!(e instanceof ClosingError)) {
      console.error(`bench: ${(e as Error).message}`);
      if (!isPlainError(e)) console.error((e as Error).stack);
    }
  } finally {
    await stopAll();
  }
  Deno.exit(signalCode || code);
}
