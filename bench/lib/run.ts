/** One redis-benchmark invocation against one target, with the target's CPU time sampled around it. */
import { type BenchLine, parseCsv, parseError } from "./parse.ts";
import { clockTicks, treeTicks } from "./cpu.ts";
import { ClosingError, isClosing, terminate, track, withOpenFiles } from "./procs.ts";

/** A benchmark row: one redis-benchmark built-in test at a fixed concurrency and pipeline depth. */
export interface Workload {
  id: string;
  label: string;
  /** redis-benchmark `-t` test name. */
  test: "set" | "get" | "mset";
  clients: number;
  pipeline: number;
  /** Requests per run in --quick mode. */
  quickN: number;
  /** Requests for the calibration run that sizes the real runs. */
  calibrationN: number;
  /** Value size (-d) and keyspace (-r) of this row, instead of --size and --keyspace. */
  size?: number;
  keyspace?: number;
}

/** The rows of issue 2's benchmark. Built-in `mset` sends MSET with 10 distinct `key:__rand_int__` keys. */
export const WORKLOADS: Workload[] = [
  { id: "p1-set", label: "SET -c50 -P1", test: "set", clients: 50, pipeline: 1, quickN: 20_000, calibrationN: 50_000 },
  { id: "p1-get", label: "GET -c50 -P1", test: "get", clients: 50, pipeline: 1, quickN: 20_000, calibrationN: 50_000 },
  {
    id: "p16-set",
    label: "SET -c50 -P16",
    test: "set",
    clients: 50,
    pipeline: 16,
    quickN: 100_000,
    calibrationN: 300_000,
  },
  {
    id: "p16-get",
    label: "GET -c50 -P16",
    test: "get",
    clients: 50,
    pipeline: 16,
    quickN: 100_000,
    calibrationN: 300_000,
  },
  {
    id: "mset10",
    label: "MSET 10 keys -c50",
    test: "mset",
    clients: 50,
    pipeline: 1,
    quickN: 10_000,
    calibrationN: 30_000,
  },
  { id: "c1-set", label: "SET -c1 -P1", test: "set", clients: 1, pipeline: 1, quickN: 2_000, calibrationN: 5_000 },
  { id: "c1-get", label: "GET -c1 -P1", test: "get", clients: 1, pipeline: 1, quickN: 2_000, calibrationN: 5_000 },
  // A thousand clients, one request each at a time: the p99 shows whether every session is served in turn.
  {
    id: "c1000-set",
    label: "SET -c1000 -P1",
    test: "set",
    clients: 1000,
    pipeline: 1,
    quickN: 50_000,
    calibrationN: 100_000,
  },
  {
    id: "c1000-get",
    label: "GET -c1000 -P1",
    test: "get",
    clients: 1000,
    pipeline: 1,
    quickN: 50_000,
    calibrationN: 100_000,
  },
  // Big values, on a keyspace small enough for the backends' memory; the SET row fills the keys the GET row reads.
  {
    id: "v16k-set",
    label: "SET 16KB -c50",
    test: "set",
    clients: 50,
    pipeline: 1,
    quickN: 5_000,
    calibrationN: 20_000,
    size: 16 << 10,
    keyspace: 5_000,
  },
  {
    id: "v16k-get",
    label: "GET 16KB -c50",
    test: "get",
    clients: 50,
    pipeline: 1,
    quickN: 5_000,
    calibrationN: 20_000,
    size: 16 << 10,
    keyspace: 5_000,
  },
  {
    id: "v1m-set",
    label: "SET 1MB -c10",
    test: "set",
    clients: 10,
    pipeline: 1,
    quickN: 200,
    calibrationN: 500,
    size: 1 << 20,
    keyspace: 20,
  },
  {
    id: "v1m-get",
    label: "GET 1MB -c10",
    test: "get",
    clients: 10,
    pipeline: 1,
    quickN: 200,
    calibrationN: 1_000,
    size: 1 << 20,
    keyspace: 20,
  },
];

/** Rows run when --only is not given: all but the big values, which change what later GET rows read. */
export const DEFAULT_WORKLOADS = WORKLOADS.filter((w) => w.size === undefined).map((w) => w.id);

/** Settings shared by every redis-benchmark run. */
export interface RunSettings {
  keyspace: number;
  valueSize: number;
  /** redis-benchmark --threads; 0 leaves it single-threaded. */
  threads: number;
  timeoutMs: number;
  /** Extra redis-benchmark arguments of the target (`--tls --cacert FILE` for a TLS one). */
  clientArgs?: string[];
}

/** The outcome of one run. Exactly one of `line` and `error` is set. */
export interface RunResult {
  line?: BenchLine;
  error?: string;
  n: number;
  wallMs: number;
  /** CPU ticks the target's process tree used during the run; NaN when not measured. */
  cpuTicks: number;
  /** CPU microseconds per request; NaN when not measured. */
  cpuUsPerReq: number;
  args: string[];
}

/** redis-benchmark arguments for `w` against `port`. */
export function benchArgs(w: Workload, port: number | string, n: number, s: RunSettings): string[] {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-c", String(w.clients), "-n", String(n)];
  const keyspace = w.keyspace ?? s.keyspace;
  const size = w.size ?? s.valueSize;
  args.push("-P", String(w.pipeline), "-r", String(keyspace), "-d", String(size), "-t", w.test, "--csv");
  if (s.threads > 0) args.push("--threads", String(s.threads));
  if (s.clientArgs) args.push(...s.clientArgs);
  return args;
}

/** Runs redis-benchmark once; `cpuPid` is the process tree charged for CPU (null: not measured). */
export async function runOnce(
  w: Workload,
  port: number,
  n: number,
  cpuPid: number | null,
  s: RunSettings,
): Promise<RunResult> {
  const args = benchArgs(w, port, n, s);
  const before = cpuPid === null ? NaN : treeTicks(cpuPid);
  const t0 = performance.now();
  const child = withOpenFiles("redis-benchmark", args).spawn();
  const untrack = track(() => terminate(child, 500));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    terminate(child, 500).catch(() => {});
  }, s.timeoutMs);
  let out: Deno.CommandOutput;
  try {
    out = await child.output();
  } finally {
    clearTimeout(timer);
    untrack();
  }
  if (isClosing()) throw new ClosingError();
  const wallMs = performance.now() - t0;
  const cpuTicks = cpuPid === null ? NaN : treeTicks(cpuPid) - before;
  const cpuUsPerReq = (cpuTicks / clockTicks()) * 1e6 / n;
  const base = { n, wallMs, cpuTicks, cpuUsPerReq, args };
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (timedOut) return { ...base, error: `timed out after ${s.timeoutMs} ms` };
  let lines: BenchLine[] = [];
  try {
    lines = parseCsv(stdout);
  } catch (e) {
    return { ...base, error: (e as Error).message };
  }
  const line = lines.find((l) => l.test.toLowerCase().startsWith(w.test));
  if (!out.success || !line) {
    return { ...base, error: parseError(stderr) ?? `redis-benchmark exit code ${out.code}, no ${w.test} row` };
  }
  return { ...base, line };
}
