/**
 * Client traffic for bench/cluster_migration_bench.ts: pipelined background load through a proxy, and a latency
 * probe that sends single GET/SET requests and records when each one started and how long it took, so that the
 * requests sent during a slot move can be told apart from those sent with no move running.
 * @module
 */
import { Redis } from "ioredis";

/** Opens an ioredis connection that fails fast instead of queueing or retrying, and waits until it answers. */
export async function connectRedis(addr: string, db = 0): Promise<Redis> {
  const [host, port] = addr.split(":");
  const r = new Redis({ host, port: Number(port), db, maxRetriesPerRequest: 0, lazyConnect: true });
  r.on("error", () => {});
  await r.connect();
  return r;
}

/** One probe request: its start (performance.now() ms) and its latency (ms); `error` when it failed. */
export interface Sample {
  at: number;
  ms: number;
  error?: string;
}

/** Percentiles of the latencies of `samples` (ms), with the count and the error count. */
export interface LatencySummary {
  n: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

/** The `q` quantile (0..1) of sorted values, nearest rank; NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Summarises the samples that started in [from, to). */
export function summarise(samples: Sample[], from = -Infinity, to = Infinity): LatencySummary {
  const inWindow = samples.filter((s) => s.at >= from && s.at < to);
  const ok = inWindow.filter((s) => !s.error).map((s) => s.ms).sort((a, b) => a - b);
  return {
    n: inWindow.length,
    errors: inWindow.length - ok.length,
    p50: quantile(ok, 0.5),
    p99: quantile(ok, 0.99),
    max: ok.length ? ok[ok.length - 1] : NaN,
  };
}

/** A running client loop; `stop()` ends it after its current request and resolves when it has. */
export interface Loop {
  stop(): Promise<void>;
  /** Requests (commands) completed so far. */
  count(): number;
  /** The first few error messages. */
  errors: string[];
}

function runLoop(body: () => Promise<number>, errors: string[]): Loop {
  let stopped = false;
  let count = 0;
  const done = (async () => {
    while (!stopped) {
      try {
        count += await body();
      } catch (e) {
        if (errors.length < 5) errors.push((e as Error).message);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
    },
    count: () => count,
    errors,
  };
}

/**
 * Pipelines of `depth` commands, half SET and half GET, on keys drawn from `key(i)` for random i < `space`,
 * until stopped. Each pipeline waits for the previous one, so the load is steady rather than unbounded.
 */
export function pipelineLoad(r: Redis, key: (i: number) => string, space: number, depth: number): Loop {
  const errors: string[] = [];
  return runLoop(async () => {
    const p = r.pipeline();
    for (let j = 0; j < depth; j++) {
      const k = key(Math.floor(Math.random() * space));
      if (j % 2) p.get(k);
      else p.set(k, "load-val");
    }
    const res = await p.exec();
    for (const [err] of res ?? []) if (err) throw err;
    return depth;
  }, errors);
}

/** One request at a time, alternating GET and SET on `key(i)` for random i < `space`, each timed into `samples`. */
export function latencyProbe(r: Redis, key: (i: number) => string, space: number, samples: Sample[]): Loop {
  const errors: string[] = [];
  let n = 0;
  return runLoop(async () => {
    const k = key(Math.floor(Math.random() * space));
    const at = performance.now();
    try {
      if (n++ % 2) await r.get(k);
      else await r.set(k, "probe-val");
      samples.push({ at, ms: performance.now() - at });
    } catch (e) {
      samples.push({ at, ms: performance.now() - at, error: (e as Error).message });
      throw e;
    }
    return 1;
  }, errors);
}
