/**
 * `deno task chaos`: the whole cluster on hosts of its own (network namespaces, or loopback addresses behind
 * fault-injecting forwarders with `--loopback` or without root), clients working through the
 * proxies, nemeses injecting faults, then a check of the recorded history and a report whose last line is
 *
 *   chaos: N ops (E errors), L lost acknowledged writes, V linearizability violations, F faults, seed S
 *
 * Usage: deno task chaos [--seconds=60] [--seed=S] [--nemesis=kill,pause,...] [--proxy-arg=--key=value ...]
 *                        [--redis-arg='--key value' ...]
 *                        [--clients=6] [--max-pause=20] [--report-dir=DIR] [--keep] [--loopback]
 * Exit code 1 when L or V is not 0, 2 when the run could not be made.
 * @module
 */
import { parseArgs } from "node:util";
import { boundAddressLeak } from "./address_check.ts";
import { check } from "./checker.ts";
import { Cluster, hostNames, listeningPorts, sleep } from "./cluster.ts";
import { History } from "./history.ts";
import { type Hosts, netnsProblem, Network, removeLeftovers } from "./hosts.ts";
import { LoopbackHosts } from "./loopback.ts";
import {
  DEFAULT_NEMESES,
  healEverything,
  NEMESES,
  type NemesisContext,
  type NemesisName,
  runNemeses,
} from "./nemesis.ts";
import { htmlReport, summaryLine, textReport } from "./report.ts";
import { Rng } from "./rng.ts";
import { finalReads, liveKeys, runClients, WORKLOAD_DEFAULTS } from "./workloads.ts";

const USAGE = "usage: deno task chaos [--seconds=N] [--seed=S] [--nemesis=LIST] [--proxy-arg=--key=value ...] " +
  "[--redis-arg='--key value' ...] " +
  "[--clients=N] [--max-pause=SECONDS] [--report-dir=DIR] [--keep] [--loopback]\n" +
  `  nemeses: ${NEMESES.join(",")} (default: all but failover)`;

/** Parsed command line. */
export interface ChaosOptions {
  seconds: number;
  seed: number;
  nemeses: NemesisName[];
  proxyArgs: string[];
  /** redis-server arguments, each `--redis-arg` split at spaces ("--appendonly yes"). */
  redisArgs: string[];
  clients: number;
  maxPauseSeconds: number;
  reportDir: string;
  keep: boolean;
  /** Run on loopback addresses behind user-space forwarders even where namespaces work (chaos/loopback.ts). */
  loopback: boolean;
}

/** Parses the command line; throws with a usage message on bad input. */
export function parseChaosArgs(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string", default: "60" },
      seed: { type: "string" },
      nemesis: { type: "string" },
      "proxy-arg": { type: "string", multiple: true, default: [] },
      "redis-arg": { type: "string", multiple: true, default: [] },
      clients: { type: "string", default: String(WORKLOAD_DEFAULTS.clients) },
      "max-pause": { type: "string", default: "20" },
      "report-dir": { type: "string", default: "/tmp" },
      keep: { type: "boolean", default: false },
      loopback: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    return n;
  };
  const nemeses = (values.nemesis ?? DEFAULT_NEMESES.join(",")).split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const n of nemeses) {
    if (n !== "none" && !(NEMESES as readonly string[]).includes(n)) {
      throw new Error(`unknown nemesis "${n}"\n${USAGE}`);
    }
  }
  for (const a of values["proxy-arg"]) {
    if (!a.startsWith("--")) throw new Error(`--proxy-arg takes a flag such as --key=value, not "${a}"`);
  }
  return {
    seconds: int("seconds", values.seconds, 5, 86_400),
    seed: values.seed !== undefined
      ? int("seed", values.seed, 0, 2 ** 32 - 1)
      : crypto.getRandomValues(new Uint32Array(1))[0],
    nemeses: nemeses.filter((n) => n !== "none") as NemesisName[],
    proxyArgs: values["proxy-arg"],
    redisArgs: values["redis-arg"].flatMap((a) => a.split(" ").filter((w) => w !== "")),
    clients: int("clients", values.clients, 1, 64),
    maxPauseSeconds: int("max-pause", values["max-pause"], 1, 600),
    reportDir: values["report-dir"],
    keep: values.keep,
    loopback: values.loopback,
  };
}

function replayCommand(o: ChaosOptions): string {
  return [
    "deno task chaos",
    `--seconds=${o.seconds}`,
    `--seed=${o.seed}`,
    `--nemesis=${o.nemeses.join(",") || "none"}`,
    ...(o.clients !== WORKLOAD_DEFAULTS.clients ? [`--clients=${o.clients}`] : []),
    ...(o.maxPauseSeconds !== 20 ? [`--max-pause=${o.maxPauseSeconds}`] : []),
    ...(o.loopback ? ["--loopback"] : []),
    ...o.proxyArgs.map((a) => `--proxy-arg=${a}`),
    ...(o.redisArgs.length > 0 ? [`--redis-arg='${o.redisArgs.join(" ")}'`] : []),
  ].join(" ");
}

function log(msg: string): void {
  console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Waits (bounded) until a leader answers, every proxy is in the model and no slot is moving. */
async function waitSettled(cluster: Cluster, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const st = await cluster.stats().catch(() => undefined);
    if (st) {
      const online = new Set(st.proxy.models.map((m) => m.proxy_addr));
      const moving = st.slots.some((s) => s.action?.state);
      if (!moving && cluster.proxyAddrs.every((a) => online.has(a))) return true;
    }
    await sleep(500);
  }
  return false;
}

async function main(argv: string[]): Promise<number> {
  let opts: ChaosOptions;
  try {
    opts = parseChaosArgs(argv);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const problem = opts.loopback ? "--loopback given" : await netnsProblem();
  const runNotes: string[] = [];
  if (problem) {
    const msg = `network namespaces are not used (${problem}): running on loopback addresses, ` +
      `network faults injected by user-space forwarders`;
    log(msg);
    runNotes.push(msg);
  } else {
    const removed = await removeLeftovers();
    if (removed > 0) log(`removed ${removed} namespaces left by earlier runs`);
  }
  const shape = {
    groups: 2,
    dashboards: 3,
    spareDashboards: 1,
    proxies: 2,
    proxyArgs: opts.proxyArgs,
    redisArgs: opts.redisArgs,
    sentinels: opts.nemeses.includes("failover") ? 3 : 0,
  };
  const workload = { ...WORKLOAD_DEFAULTS, clients: opts.clients };
  const dataDir = await Deno.makeTempDir({ prefix: "codis-chaos-" });
  let net: Hosts | undefined;
  let cluster: Cluster | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    cleaned ??= (async () => {
      await cluster?.stop().catch(() => {});
      await net?.close().catch(() => {});
      if (!opts.keep) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      else log(`kept logs and data in ${dataDir}`);
    })();
  const onSignal = () => {
    log("interrupted: removing processes and namespaces");
    cleanup().finally(() => Deno.exit(130));
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, onSignal);
  // A bug in the tool must not leave namespaces and processes behind: clean up, then fail.
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    console.error(`chaos: unhandled error: ${(e.reason as Error)?.stack ?? e.reason}`);
    cleanup().finally(() => Deno.exit(2));
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    log(`seed ${opts.seed}, ${opts.seconds} s, nemeses ${opts.nemeses.join(",") || "none"}`);
    // Jitter and loss draws of the loopback forwarders: seeded, though their order follows the traffic's timing.
    const forwarderRng = new Rng(opts.seed ^ 0x10b4c);
    net = problem
      ? LoopbackHosts.create(hostNames(shape), listeningPorts, () => forwarderRng.next())
      : await Network.create(hostNames(shape), listeningPorts);
    log(`${net.hosts.size} hosts in ${net.subnet}.0/24${net instanceof Network ? ` (namespaces ${net.prefix}*)` : ""}`);
    cluster = new Cluster(net, shape, dataDir);
    await cluster.start(log);
    const leaked = await boundAddressLeak(cluster);
    if (leaked) throw new Error(leaked);

    const rng = new Rng(opts.seed);
    const clientAddrs = cluster.proxyAddrs.map((a) => net!.direct(a));
    const history = new History();
    const ctx: NemesisContext = {
      cluster,
      net,
      history,
      rng: rng.fork(),
      log,
      liveKeys: () => liveKeys(workload, history.now()),
      maxPauseSeconds: opts.maxPauseSeconds,
    };
    let endRun!: () => void;
    const stop = new Promise<void>((r) => endRun = r);
    const timer = setTimeout(endRun, opts.seconds * 1000);
    log("clients and nemeses running");
    await Promise.all([
      runClients(history, clientAddrs, rng.fork(), workload, stop),
      runNemeses(ctx, opts.nemeses, stop),
    ]);
    clearTimeout(timer);
    history.closeFaults();
    log("healing and waiting for the cluster to settle");
    await healEverything(ctx);
    const settled = await waitSettled(cluster, 90_000);
    await finalReads(history, clientAddrs, workload);
    const consoleProblem = await cluster.consoleProblem();
    const verdict = check(history.ops);
    const notes = [...runNotes];
    if (net instanceof LoopbackHosts) notes.push(net.summary());
    if (!settled) notes.push("the cluster had not settled 90 s after healing (final reads went ahead)");
    if (consoleProblem) notes.push(`web console after the run: ${consoleProblem}`);
    if (verdict.undecided > 0) notes.push(`${verdict.undecided} register keys undecided (search budget)`);
    const workOps = history.ops.filter((o) => !o.final);
    const errors = workOps.filter((o) => o.outcome !== "ok").length;
    const summary = summaryLine(
      workOps.length,
      errors,
      verdict.lost,
      verdict.violations,
      history.faults.length,
      opts.seed,
    );
    const htmlPath = `${opts.reportDir}/codis-chaos-${opts.seed}-${Deno.pid}.html`;
    const input = { history, verdict, seed: opts.seed, replay: replayCommand(opts), htmlPath, notes };
    // The verdict first: a failure while drawing the timeline must not hide it.
    for (const line of textReport(input)) console.log(line);
    console.log(summary);
    await Deno.mkdir(opts.reportDir, { recursive: true });
    await Deno.writeTextFile(htmlPath, htmlReport(input, summary));
    return verdict.lost > 0 || verdict.violations > 0 ? 1 : 0;
  } catch (e) {
    console.error(`chaos: the run failed: ${(e as Error).stack ?? e}`);
    return 2;
  } finally {
    await cleanup();
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, onSignal);
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
