/**
 * Periodic metrics reports, as Codis's proxy sends them: the JSON overview POSTed to `metrics_report_server`,
 * an InfluxDB point `codis_usage`, and StatsD gauges. Failures are logged and back off 1 s → 15 s.
 * @module
 */
import dgram from "node:dgram";
import { logger } from "../../util/log.ts";
import { STATS_RUNTIME, type StatsJSON } from "../core/stats.ts";
import type { ProxyControl } from "./control.ts";
import { overview, statsJSON } from "./server.ts";

const log = logger("proxy-report");

/** Running reporters; {@link stop} ends them and waits for in-flight reports. */
export interface MetricsReporters {
  /** Names of the reporters started ("json", "influxdb", "statsd"). */
  readonly started: string[];
  /** Reports sent and reports failed, per reporter. */
  readonly counts: Record<string, { sent: number; failed: number }>;
  stop(): Promise<void>;
}

/** Options of {@link startMetricsReporters}. */
export interface ReporterOptions {
  /** Shortest period allowed (Codis: 1 s); lowered only by tests. */
  minPeriodMs?: number;
  /** Timeout of one report. */
  timeoutMs?: number;
}

/** The flat fields Codis reports to InfluxDB and StatsD. */
export function usageFields(s: StatsJSON): Record<string, number> {
  const rt = s.runtime;
  return {
    ops_total: s.ops.total,
    ops_fails: s.ops.fails,
    ops_redis_errors: s.ops.redis.errors,
    ops_qps: s.ops.qps,
    sessions_total: s.sessions.total,
    sessions_alive: s.sessions.alive,
    rusage_mem: s.rusage.mem,
    rusage_cpu: s.rusage.cpu,
    runtime_gc_num: rt?.gc.num ?? 0,
    runtime_gc_total_pausems: rt?.gc.total_pausems ?? 0,
    runtime_num_procs: rt?.num_procs ?? 0,
    runtime_num_goroutines: rt?.num_goroutines ?? 0,
    runtime_num_cgo_call: rt?.num_cgo_call ?? 0,
    runtime_num_mem_offheap: rt?.mem_offheap ?? 0,
  };
}

/** InfluxDB line-protocol escaping of a tag key or value. */
function influxTag(v: string): string {
  return v.replace(/[,= \\]/g, (c) => `\\${c}`);
}

/** One InfluxDB line `codis_usage,<tags> <fields> <ns>`; integers get the `i` suffix as Go's client writes them. */
export function influxLine(ctl: ProxyControl, s: StatsJSON, nowMs = Date.now()): string {
  const m = ctl.model();
  const tags = {
    admin_addr: m.admin_addr,
    hostname: m.hostname,
    product_name: m.product_name,
    proxy_addr: m.proxy_addr,
    token: m.token,
  };
  const tagText = Object.entries(tags).map(([k, v]) => `${k}=${influxTag(v || "-")}`).join(",");
  const fields = Object.entries(usageFields(s))
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? `${v}i` : String(v)}`)
    .join(",");
  return `codis_usage,${tagText} ${fields} ${BigInt(Math.round(nowMs)) * 1_000_000n}`;
}

/** StatsD gauge lines `{prefix}.{product}.{admin_addr}.{proxy_addr}.{field}:{value}|g` ('.' and ':' in addresses → '_'). */
export function statsdLines(ctl: ProxyControl, s: StatsJSON): string[] {
  const m = ctl.model();
  const safe = (v: string) => v.replace(/[.:]/g, "_");
  const segs = [ctl.config.metrics_report_statsd_prefix, m.product_name, safe(m.admin_addr), safe(m.proxy_addr)]
    .filter((x) => x !== "");
  return Object.entries(usageFields(s)).map(([k, v]) => `${[...segs, k].join(".")}:${v}|g`);
}

function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, "") || "127.0.0.1", port: Number(addr.slice(i + 1)) };
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, stop: AbortSignal) {
  const ac = new AbortController();
  const onStop = () => ac.abort();
  stop.addEventListener("abort", onStop, { once: true });
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, { method: "POST", body, headers, signal: ac.signal });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", onStop);
  }
}

/** Starts the reporters enabled in `ctl.config` (a non-empty server address enables each). */
export function startMetricsReporters(ctl: ProxyControl, opts: ReporterOptions = {}): MetricsReporters {
  const cfg = ctl.config;
  const minPeriod = opts.minPeriodMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const ac = new AbortController();
  const loops: Promise<void>[] = [];
  const started: string[] = [];
  const counts: Record<string, { sent: number; failed: number }> = {};
  let udp: dgram.Socket | undefined;

  const run = (name: string, periodMs: number, report: () => Promise<void>) => {
    started.push(name);
    const c = counts[name] = { sent: 0, failed: 0 };
    const period = Math.max(minPeriod, periodMs);
    loops.push((async () => {
      let backoff = 0;
      while (!ac.signal.aborted && !ctl.isClosed()) {
        if (!(await sleep(period + backoff, ac.signal))) break;
        try {
          await report();
          c.sent++;
          backoff = 0;
        } catch (e) {
          if (ac.signal.aborted) break;
          c.failed++;
          backoff = backoff === 0 ? 1000 : Math.min(backoff * 2, 15_000);
          log.warn(`${name} metrics report failed (next in ${period + backoff} ms): ${(e as Error).message}`);
        }
      }
    })());
  };

  if (cfg.metrics_report_server !== "") {
    const url = cfg.metrics_report_server;
    run("json", cfg.metrics_report_period, () => {
      const body = JSON.stringify(overview(ctl, STATS_RUNTIME, statsJSON(ctl, STATS_RUNTIME)));
      return post(url, body, { "content-type": "application/json" }, timeoutMs, ac.signal);
    });
  }
  if (cfg.metrics_report_influxdb_server !== "") {
    const q = new URLSearchParams({ db: cfg.metrics_report_influxdb_database, precision: "ns" });
    const url = `${cfg.metrics_report_influxdb_server.replace(/\/+$/, "")}/write?${q}`;
    const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
    if (cfg.metrics_report_influxdb_username !== "") {
      const cred = `${cfg.metrics_report_influxdb_username}:${cfg.metrics_report_influxdb_password}`;
      headers.authorization = `Basic ${btoa(cred)}`;
    }
    run("influxdb", cfg.metrics_report_influxdb_period, () => {
      return post(url, influxLine(ctl, statsJSON(ctl, STATS_RUNTIME)) + "\n", headers, timeoutMs, ac.signal);
    });
  }
  if (cfg.metrics_report_statsd_server !== "") {
    const { host, port } = splitHostPort(cfg.metrics_report_statsd_server);
    const sock = udp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    sock.on("error", (e) => log.warn(`statsd socket: ${e.message}`));
    run("statsd", cfg.metrics_report_statsd_period, () =>
      new Promise<void>((resolve, reject) => {
        const msg = statsdLines(ctl, statsJSON(ctl, STATS_RUNTIME)).join("\n");
        sock.send(msg, port, host, (err) => err ? reject(err) : resolve());
      }));
  }

  return {
    started,
    counts,
    async stop() {
      ac.abort();
      await Promise.all(loops);
      if (udp) await new Promise<void>((r) => udp!.close(() => r()));
    },
  };
}

/** Waits `ms` unless `signal` aborts first; returns false when aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
