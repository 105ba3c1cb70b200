/**
 * The proxy's `GET /api/proxy/stats` JSON (Codis's field names), shared by the proxy that writes it and the dashboard
 * and codis-admin that read it.
 * @module
 */

/** Codis's per-command JSON entry. */
export interface OpStatsJSON {
  opstr: string;
  calls: number;
  usecs: number;
  usecs_percall: number;
  fails: number;
  redis_errtype: number;
}

/** Codis's proxy stats JSON. */
export interface StatsJSON {
  online: boolean;
  closed: boolean;
  sentinels: { servers?: string[]; masters?: Record<string, string>; switched?: boolean };
  ops: { total: number; fails: number; redis: { errors: number }; qps: number; cmd?: OpStatsJSON[] };
  /** `pubsub_limit_closed` is ours, present once a subscribed session was closed over the pub/sub output limits. */
  sessions: { total: number; alive: number; pubsub_limit_closed?: number };
  rusage: { now: string; cpu: number; mem: number; raw?: RusageRaw };
  backend: { primary_only: boolean; write_acks?: Record<string, number> };
  runtime?: RuntimeJSON;
}

/** `/proc/self/stat` figures; times are nanoseconds (Go's time.Duration JSON), sizes bytes. */
export interface RusageRaw {
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  num_threads: number;
  vm_size: number;
  vm_rss: number;
}

/** Codis's Go runtime block, filled with the nearest Deno/V8 figures (0 where V8 has no equivalent). */
export interface RuntimeJSON {
  general: { alloc: number; sys: number; lookups: number; mallocs: number; frees: number };
  heap: { alloc: number; sys: number; idle: number; inuse: number; objects: number };
  gc: { num: number; cpu_fraction: number; total_pausems: number };
  num_procs: number;
  num_goroutines: number;
  num_cgo_call: number;
  mem_offheap: number;
}
