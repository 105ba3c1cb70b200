/** Command-line options of bench/proxy_bench.ts. */
import { parseArgs } from "node:util";

/** An expected failure (bad option, nothing to benchmark): reported without a stack trace. */
export class HarnessError extends Error {}

/** True for errors whose message is the whole story: ours, and node:util parseArgs' ERR_PARSE_ARGS_* errors. */
export function isPlainError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return e instanceof HarnessError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
}

/** Parsed harness options. */
export interface BenchOptions {
  repeat: number;
  quick: boolean;
  seconds: number;
  /** Fixed request count per run; 0 calibrates per workload. */
  n: number;
  json: string;
  only: string[];
  targets: string[];
  /** One proxy target per entry; 0 means "do not pass --proxy_workers". */
  proxyWorkers: number[];
  proxyArgs: string[];
  /** When set, a second proxy target, `proxy-b`, runs with these flags added: an A/B in the same run. */
  proxyBArgs: string[];
  /** The proxy entry point, relative to the repository root (default cli/codis-proxy.ts). */
  proxyScript: string;
  /** When set, `proxy-b` runs this entry point instead (another checkout: an A/B between two versions). */
  proxyBScript: string;
  /** When set, `proxy-b` has a MONITOR client attached (reading and discarding the feed) while it is measured. */
  proxyBMonitor: boolean;
  twemHash: string;
  twemDist: string;
  keyspace: number;
  valueSize: number;
  benchThreads: number;
  /** Connections in the burst row (opened at once, then held idle); 0 skips the row. */
  connections: number;
  /**
   * With N > 0: each backend gets one replica, and a second codis-proxy target (`proxy-acksN`) runs with
   * `--backend_write_acks=N` next to the first one (N = 0), so both are measured in the same run.
   */
  writeAcks: number;
  /** Keep the temporary directory (configs, proxy and twemproxy logs) and print its path. */
  keepLogs: boolean;
  help: boolean;
}

/** The --help text. */
export const USAGE = `Usage: deno task bench [options]      (or: deno run -A bench/proxy_bench.ts [options])

  --repeat=N           runs per workload and target, alternating targets (default 3)
  --seconds=S          target length of one run; -n is calibrated on direct Redis (default 4)
  --n=N                fixed requests per run instead of calibrating
  --quick              smoke run: 1 repeat, small fixed -n, short warm-up
  --only=IDS           workloads to run, comma-separated: p1-set,p1-get,p16-set,p16-get,mset10,c1-set,c1-get,
                       c1000-set,c1000-get, conn (the connection burst), and v16k-set,v16k-get,v1m-set,v1m-get
                       (big values: only when named here, since they overwrite keys the other GET rows read)
  --connections=N      connections in the burst row: opened at once with one PING each, then held idle while the
                       target's memory is read (default 5000; 0 skips the row)
  --targets=LIST       comma-separated subset of direct,twemproxy,proxy (default all), plus direct-tls (backend 1
                       on a TLS port), proxy-tls (codis-proxy with TLS for clients) and proxy-mtls (the same with
                       client certificates), run with redis-benchmark --tls
  --proxy-workers=LIST pass --proxy_workers=N to codis-proxy; a list (1,2) makes one proxy target per value
  --proxy-arg=FLAG     extra flag for codis-proxy, repeatable (e.g. --proxy-arg=--backend_max_pipeline=4096)
  --proxy-b-arg=FLAG   also start a second proxy, "proxy-b", with this extra flag (repeatable): an A/B in the
                       same run, e.g. --proxy-b-arg=--session_epoll=false
  --proxy-script=PATH  proxy entry point to benchmark instead of cli/codis-proxy.ts (same flags)
  --proxy-b-script=PATH  also start "proxy-b" from this entry point (e.g. another checkout's cli/codis-proxy.ts):
                       an A/B between two versions in the same run
  --proxy-b-monitor    also start "proxy-b" with a MONITOR client attached (redis-cli monitor, output discarded)
  --twem-hash=H        twemproxy hash: fnv1a_64 (default) or crc32a, ...
  --twem-dist=D        twemproxy distribution: ketama (default) or modula
  --keyspace=K         redis-benchmark -r (default 100000)
  --size=B             redis-benchmark -d value size in bytes (default 3)
  --bench-threads=T    redis-benchmark --threads (default: single-threaded)
  --write-acks=N       one replica per backend, and a second proxy target proxy-acksN with
                       --backend_write_acks=N measured next to the first (e.g. --only=p1-set,p16-set --write-acks=1)
  --json=FILE          write every run and the summaries as JSON
  --keep-logs          keep the temporary directory with the configs and the proxies' logs
`;

function int(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new HarnessError(`--${name} must be an integer >= ${min}, got ${v}`);
  return x;
}

function list(v: string | undefined): string[] {
  return (v ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Parses `argv`; throws with a readable message on bad input. */
export function parseOptions(argv: string[]): BenchOptions {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      repeat: { type: "string" },
      seconds: { type: "string" },
      n: { type: "string" },
      quick: { type: "boolean" },
      only: { type: "string" },
      targets: { type: "string" },
      "proxy-workers": { type: "string" },
      "proxy-arg": { type: "string", multiple: true },
      "proxy-b-arg": { type: "string", multiple: true },
      "proxy-script": { type: "string" },
      "proxy-b-script": { type: "string" },
      "proxy-b-monitor": { type: "boolean" },
      "twem-hash": { type: "string" },
      "twem-dist": { type: "string" },
      keyspace: { type: "string" },
      size: { type: "string" },
      "bench-threads": { type: "string" },
      connections: { type: "string" },
      json: { type: "string" },
      "write-acks": { type: "string" },
      "keep-logs": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const quick = v.quick ?? false;
  const seconds = v.seconds === undefined ? 4 : Number(v.seconds);
  if (!(seconds > 0)) throw new HarnessError(`--seconds must be positive, got ${v.seconds}`);
  const targets = v.targets ? list(v.targets) : ["direct", "twemproxy", "proxy"];
  for (const t of targets) {
    if (!["direct", "twemproxy", "proxy", "direct-tls", "proxy-tls", "proxy-mtls"].includes(t)) {
      throw new HarnessError(`unknown target ${t}`);
    }
  }
  const workers = list(v["proxy-workers"]).map((w) => int("proxy-workers", w, 0, 1));
  return {
    repeat: int("repeat", v.repeat, quick ? 1 : 3, 1),
    quick,
    seconds,
    n: int("n", v.n, 0, 1),
    json: v.json ?? "",
    only: list(v.only),
    targets,
    proxyWorkers: workers.length ? workers : [0],
    proxyArgs: v["proxy-arg"] ?? [],
    proxyBArgs: v["proxy-b-arg"] ?? [],
    proxyScript: v["proxy-script"] ?? "cli/codis-proxy.ts",
    proxyBScript: v["proxy-b-script"] ?? "",
    proxyBMonitor: v["proxy-b-monitor"] ?? false,
    twemHash: v["twem-hash"] ?? "fnv1a_64",
    twemDist: v["twem-dist"] ?? "ketama",
    keyspace: int("keyspace", v.keyspace, 100_000, 1),
    valueSize: int("size", v.size, 3, 1),
    benchThreads: int("bench-threads", v["bench-threads"], 0, 0),
    connections: int("connections", v.connections, quick ? 1000 : 5000, 0),
    writeAcks: int("write-acks", v["write-acks"], 0, 0),
    keepLogs: v["keep-logs"] ?? false,
    help: v.help ?? false,
  };
}
