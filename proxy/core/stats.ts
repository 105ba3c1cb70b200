/**
 * Proxy statistics: op counters, per-command stats with a cheap latency histogram, sessions and QPS, rendered as
 * Codis's stats JSON (`/api/proxy/stats`) and read by /metrics.
 * @module
 */
import type { OpStatsJSON, RuntimeJSON, RusageRaw, StatsJSON } from "../../models/proxy_stats.ts";
import { drainCounters } from "../forward/drain.ts";

export type { OpStatsJSON, RuntimeJSON, RusageRaw, StatsJSON };

/** toJSON flag: include per-command stats (`ops.cmd`). */
export const STATS_CMDS = 1;
/** toJSON flag: slots (only meaningful for the overview; ignored by toJSON). */
export const STATS_SLOTS = 2;
/** toJSON flag: include runtime stats (`runtime`). */
export const STATS_RUNTIME = 4;

/** Upper bounds (microseconds) of the latency buckets: 2^4 .. 2^23 µs (16 µs .. ~8.4 s), then +Inf. */
export const LATENCY_BUCKETS_USECS: readonly number[] = Array.from({ length: 20 }, (_, i) => 2 ** (i + 4));
const FIRST_EXP = 4;
const NUM_BUCKETS = LATENCY_BUCKETS_USECS.length + 1;

/** Counters for one command. `buckets[i]` counts calls with latency ≤ LATENCY_BUCKETS_USECS[i] (non-cumulative). */
export interface CommandStats {
  readonly name: string;
  calls: number;
  usecs: number;
  fails: number;
  redisErrors: number;
  readonly buckets: Float64Array;
}

/** Plain copy of a {@link ProxyStats}' counters; see {@link ProxyStats.snapshot}. */
export interface StatsSnapshot {
  total: number;
  fails: number;
  redisErrors: number;
  qps: number;
  sessionsTotal: number;
  sessionsAlive: number;
  pubsubLimitClosed: number;
  cpu: number;
  /** Backend connections dropped by a drain, and switched masters' connections abandoned (`../forward/drain.ts`). */
  drainDropped: number;
  switchAbandoned: number;
  cmds: { name: string; calls: number; usecs: number; fails: number; redisErrors: number; buckets: number[] }[];
}

/** State owned by the proxy, not by the counters, that the stats JSON reports. */
export interface StatsExtra {
  online: boolean;
  closed: boolean;
  primaryOnly: boolean;
  /** backend_write_acks: the setting and, when on, its counters. */
  writeAcks?: Record<string, number>;
  sentinels?: { servers?: string[]; masters?: Record<string, string>; switched?: boolean };
}

/** Index of the latency bucket for `usecs`: ceil(log2(usecs)) - 4, clamped to [0, 20] (20 = +Inf). */
export function latencyBucket(usecs: number): number {
  if (usecs <= 16) return 0;
  const u = usecs >= 0x7fffffff ? 0x7fffffff : Math.ceil(usecs);
  const exp = 32 - Math.clz32(u - 1); // ceil(log2(u)) for u >= 2
  const i = exp - FIRST_EXP;
  return i >= NUM_BUCKETS - 1 ? NUM_BUCKETS - 1 : i;
}

const CLK_TCK = 100; // USER_HZ on Linux; /proc/self/stat times are in these ticks
const PAGE_SIZE = 4096;

/** Reads /proc/self/stat; undefined where it is unavailable (non-Linux, no read permission). */
export function readProcStat(): RusageRaw | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/stat");
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name, which may itself contain spaces.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const tick = (i: number) => Number(f[i]) * (1e9 / CLK_TCK);
  // f[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17, num_threads=20, vsize=23, rss=24.
  return {
    utime: tick(11),
    stime: tick(12),
    cutime: tick(13),
    cstime: tick(14),
    num_threads: Number(f[17]),
    vm_size: Number(f[20]),
    vm_rss: Number(f[21]) * PAGE_SIZE,
  };
}

function cpuMicros(): number {
  const raw = readProcStat();
  if (raw) return (raw.utime + raw.stime) / 1000;
  return 0;
}

/** Formats a date like Go's time.Time.String() in UTC: "2006-01-02 15:04:05.999999 +0000 UTC". */
function goTimeString(d: Date): string {
  const iso = d.toISOString(); // 2006-01-02T15:04:05.999Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +0000 UTC`;
}

/**
 * Counters of one proxy process. `record` is on the hot path: a Map lookup and a few additions.
 * The QPS and CPU figures are sampled by a 1 s timer the owner starts with {@link start} and stops with {@link stop}.
 */
export class ProxyStats {
  /** Ops (requests answered) since start or the last reset. */
  total = 0;
  /** Proxy-side failures. */
  fails = 0;
  /** Error replies from backends. */
  redisErrors = 0;
  /** Ops in the last sampling second. */
  qps = 0;
  /** Sessions opened since start (a reset sets it to `sessionsAlive`). */
  sessionsTotal = 0;
  /** Sessions currently open. */
  sessionsAlive = 0;
  /** Subscribed sessions closed for unsent output over session_pubsub_hard_limit / _soft_limit. */
  pubsubLimitClosed = 0;
  /** CPU use over the last sampling second, as a fraction of one core. */
  cpu = 0;
  /** Called at each sample, after QPS and CPU (the per-slot rates sample with them: `../stats/load.ts`). */
  onSample: ((now: number) => void) | null = null;

  #cmds = new Map<string, CommandStats>();
  #last: CommandStats | null = null;
  /** A sum's drain counters; null: this thread's own, read live (they are counted where connections are drained). */
  #drain: { dropped: number; abandoned: number } | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastTotal = 0;
  #lastAt = 0;
  #lastCpu = 0;

  /** Backend connections dropped for not answering a drain's PING while their slots moved. */
  get drainDropped(): number {
    return this.#drain ? this.#drain.dropped : drainCounters.dropped;
  }

  /** Connections of a master being switched whose requests in flight were abandoned. */
  get switchAbandoned(): number {
    return this.#drain ? this.#drain.abandoned : drainCounters.abandoned;
  }

  /** Records one answered command; `cmd` is the command table's canonical name. */
  record(cmd: string, usecs: number, fail: boolean, redisError: boolean): void {
    this.total++;
    // Traffic comes in runs of one command (a pipeline of GETs...): the last entry saves the map lookup.
    let s = this.#last;
    if (s === null || s.name !== cmd) {
      s = this.#cmds.get(cmd) ?? null;
      if (s === null) {
        s = { name: cmd, calls: 0, usecs: 0, fails: 0, redisErrors: 0, buckets: new Float64Array(NUM_BUCKETS) };
        this.#cmds.set(cmd, s);
      }
      this.#last = s;
    }
    s.calls++;
    s.usecs += usecs;
    s.buckets[latencyBucket(usecs)]++;
    if (fail) {
      s.fails++;
      this.fails++;
    }
    if (redisError) {
      s.redisErrors++;
      this.redisErrors++;
    }
  }

  /** Counts a proxy-side failure not tied to a command (e.g. a protocol error). */
  fail(): void {
    this.fails++;
  }

  /** Counts a new client session. */
  sessionOpened(): void {
    this.sessionsTotal++;
    this.sessionsAlive++;
  }

  /** Counts a closed client session. */
  sessionClosed(): void {
    if (this.sessionsAlive > 0) this.sessionsAlive--;
  }

  /** Per-command counters, in no particular order (read-only view for /metrics). */
  commands(): Iterable<CommandStats> {
    return this.#cmds.values();
  }

  /** Starts the 1 s sampling timer (QPS, CPU). Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#lastAt = performance.now();
    this.#lastTotal = this.total;
    this.#lastCpu = cpuMicros();
    const timer = setInterval(() => this.sample(), 1000);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops the sampling timer. Idempotent. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one QPS/CPU sample now; called by the timer, and directly by tests. */
  sample(now: number = performance.now()): void {
    const elapsed = now - this.#lastAt;
    if (elapsed <= 0) return;
    const total = this.total;
    const delta = total >= this.#lastTotal ? total - this.#lastTotal : total; // a reset in between
    this.qps = Math.round((delta * 1000) / elapsed);
    const cpu = cpuMicros();
    this.cpu = cpu >= this.#lastCpu ? (cpu - this.#lastCpu) / (elapsed * 1000) : 0;
    this.#lastTotal = total;
    this.#lastCpu = cpu;
    this.#lastAt = now;
    this.onSample?.(now);
  }

  /** Clears the op counters; sessions.total restarts from the sessions alive, as Codis does. */
  reset(): void {
    this.total = 0;
    this.fails = 0;
    this.redisErrors = 0;
    this.qps = 0;
    this.#lastTotal = 0;
    this.sessionsTotal = this.sessionsAlive;
    this.#cmds.clear();
    this.#last = null;
  }

  /** A plain, structured-clone/JSON-safe copy of the counters, e.g. to send from a worker to the primary. */
  snapshot(): StatsSnapshot {
    return {
      total: this.total,
      fails: this.fails,
      redisErrors: this.redisErrors,
      qps: this.qps,
      sessionsTotal: this.sessionsTotal,
      sessionsAlive: this.sessionsAlive,
      pubsubLimitClosed: this.pubsubLimitClosed,
      cpu: this.cpu,
      drainDropped: this.drainDropped,
      switchAbandoned: this.switchAbandoned,
      cmds: [...this.#cmds.values()].map((c) => ({
        name: c.name,
        calls: c.calls,
        usecs: c.usecs,
        fails: c.fails,
        redisErrors: c.redisErrors,
        buckets: [...c.buckets],
      })),
    };
  }

  /**
   * A stats object summing several snapshots (worker mode: the primary reports the sum of its workers). Its
   * sampling timer is not started; QPS and CPU are the sums of the snapshots' own figures.
   */
  static sum(snapshots: Iterable<StatsSnapshot>): ProxyStats {
    const out = new ProxyStats();
    const drain = out.#drain = { dropped: 0, abandoned: 0 };
    for (const s of snapshots) {
      drain.dropped += s.drainDropped;
      drain.abandoned += s.switchAbandoned;
      out.total += s.total;
      out.fails += s.fails;
      out.redisErrors += s.redisErrors;
      out.qps += s.qps;
      out.sessionsTotal += s.sessionsTotal;
      out.sessionsAlive += s.sessionsAlive;
      out.pubsubLimitClosed += s.pubsubLimitClosed;
      out.cpu += s.cpu;
      for (const c of s.cmds) {
        let t = out.#cmds.get(c.name);
        if (t === undefined) {
          t = { name: c.name, calls: 0, usecs: 0, fails: 0, redisErrors: 0, buckets: new Float64Array(NUM_BUCKETS) };
          out.#cmds.set(c.name, t);
        }
        t.calls += c.calls;
        t.usecs += c.usecs;
        t.fails += c.fails;
        t.redisErrors += c.redisErrors;
        for (let i = 0; i < NUM_BUCKETS && i < c.buckets.length; i++) t.buckets[i] += c.buckets[i];
      }
    }
    return out;
  }

  /** Codis's stats JSON. `flags`: {@link STATS_CMDS} adds `ops.cmd`, {@link STATS_RUNTIME} adds `runtime`. */
  toJSON(flags = 0, extra: StatsExtra = { online: false, closed: false, primaryOnly: false }): StatsJSON {
    const sentinels: StatsJSON["sentinels"] = {};
    if (extra.sentinels?.servers?.length) sentinels.servers = extra.sentinels.servers;
    if (extra.sentinels?.masters && Object.keys(extra.sentinels.masters).length) {
      sentinels.masters = extra.sentinels.masters;
    }
    if (extra.sentinels?.switched) sentinels.switched = true;
    const ops: StatsJSON["ops"] = {
      total: this.total,
      fails: this.fails,
      redis: { errors: this.redisErrors },
      qps: this.qps,
    };
    if (flags & STATS_CMDS) ops.cmd = this.#opStats();
    const mem = Deno.memoryUsage();
    const rusage: StatsJSON["rusage"] = { now: goTimeString(new Date()), cpu: this.cpu, mem: mem.rss };
    const raw = readProcStat();
    if (raw) rusage.raw = raw;
    const out: StatsJSON = {
      online: extra.online,
      closed: extra.closed,
      sentinels,
      ops,
      sessions: { total: this.sessionsTotal, alive: this.sessionsAlive },
      rusage,
      backend: extra.writeAcks
        ? { primary_only: extra.primaryOnly, write_acks: extra.writeAcks }
        : { primary_only: extra.primaryOnly },
    };
    // Ours, so only when there is something to say: Codis's shape otherwise.
    if (this.pubsubLimitClosed > 0) out.sessions.pubsub_limit_closed = this.pubsubLimitClosed;
    if (flags & STATS_RUNTIME) out.runtime = runtimeJSON(mem, this.sessionsAlive);
    return out;
  }

  #opStats(): OpStatsJSON[] {
    const byName = new Map<string, OpStatsJSON>();
    for (const s of this.#cmds.values()) {
      const opstr = s.name.toUpperCase();
      let o = byName.get(opstr);
      if (!o) {
        o = { opstr, calls: 0, usecs: 0, usecs_percall: 0, fails: 0, redis_errtype: 0 };
        byName.set(opstr, o);
      }
      o.calls += s.calls;
      o.usecs += Math.round(s.usecs);
      o.fails += s.fails;
      o.redis_errtype += s.redisErrors;
    }
    const list = [...byName.values()].sort((a, b) => a.opstr < b.opstr ? -1 : a.opstr > b.opstr ? 1 : 0);
    for (const o of list) o.usecs_percall = o.calls > 0 ? Math.floor(o.usecs / o.calls) : 0;
    return list;
  }
}

function runtimeJSON(mem: Deno.MemoryUsage, sessions: number): RuntimeJSON {
  return {
    general: { alloc: mem.heapUsed, sys: mem.rss, lookups: 0, mallocs: 0, frees: 0 },
    heap: {
      alloc: mem.heapUsed,
      sys: mem.heapTotal,
      idle: Math.max(0, mem.heapTotal - mem.heapUsed),
      inuse: mem.heapUsed,
      objects: 0,
    },
    gc: { num: 0, cpu_fraction: 0, total_pausems: 0 },
    num_procs: navigator.hardwareConcurrency ?? 1,
    // No goroutines in Deno: report the live sessions, the closest measure of concurrent work.
    num_goroutines: sessions,
    num_cgo_call: 0,
    mem_offheap: mem.external,
  };
}
