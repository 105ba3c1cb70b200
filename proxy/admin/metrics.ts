/**
 * GET /metrics: the proxy's counters in Prometheus text exposition format (version 0.0.4).
 * @module
 */
import type { ProxyControl } from "./control.ts";
import { LATENCY_BUCKETS_USECS } from "../core/stats.ts";
import { loadMetricLines } from "./load_metrics.ts";

/** Content-Type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const BACKEND_STATES = ["connected", "connecting", "down"] as const;

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Accumulates metric families; each family's HELP/TYPE is written once, before its samples. */
class Writer {
  lines: string[] = [];
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, l: Record<string, string>, v: number): void {
    this.lines.push(`${name}${labels(l)} ${num(v)}`);
  }
  one(name: string, type: "counter" | "gauge", help: string, v: number): void {
    this.family(name, type, help);
    this.sample(name, {}, v);
  }
}

const LE = LATENCY_BUCKETS_USECS.map((u) => String(u / 1e6));

/** Renders the proxy's metrics. Label values come from the model and command names and are escaped. */
export function renderMetrics(ctl: ProxyControl): string {
  const s = ctl.stats;
  const m = ctl.model();
  const w = new Writer();
  w.family("codis_proxy_info", "gauge", "Proxy identity; the value is always 1.");
  w.sample("codis_proxy_info", {
    product_name: m.product_name,
    token: m.token,
    proxy_addr: m.proxy_addr,
    admin_addr: m.admin_addr,
  }, 1);
  w.one("codis_proxy_online", "gauge", "1 when the proxy accepts sessions (online), else 0.", ctl.isOnline() ? 1 : 0);
  w.one("codis_proxy_closed", "gauge", "1 when the proxy is closed, else 0.", ctl.isClosed() ? 1 : 0);
  w.one("codis_proxy_ops_total", "counter", "Commands answered since start or the last stats reset.", s.total);
  w.one("codis_proxy_ops_fails_total", "counter", "Proxy-side failures.", s.fails);
  w.one("codis_proxy_ops_redis_errors_total", "counter", "Error replies from backends.", s.redisErrors);
  w.one("codis_proxy_ops_qps", "gauge", "Commands answered in the last second.", s.qps);
  w.one("codis_proxy_sessions_total", "counter", "Client sessions opened.", s.sessionsTotal);
  w.one("codis_proxy_sessions_alive", "gauge", "Client sessions open now.", s.sessionsAlive);
  w.one(
    "codis_proxy_sessions_max",
    "gauge",
    "proxy_max_clients: sessions beyond it are refused.",
    ctl.config.proxy_max_clients,
  );
  w.one(
    "codis_proxy_sessions_pubsub_limit_closed_total",
    "counter",
    "Subscribed sessions closed for unsent output over session_pubsub_hard_limit or _soft_limit.",
    s.pubsubLimitClosed,
  );
  w.one("codis_proxy_cpu_ratio", "gauge", "CPU used in the last second, as a fraction of one core.", s.cpu);
  w.one("codis_proxy_memory_rss_bytes", "gauge", "Resident memory of the proxy process.", Deno.memoryUsage().rss);

  const cmds = [...s.commands()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  w.family("codis_proxy_command_calls_total", "counter", "Calls per command.");
  for (const c of cmds) w.sample("codis_proxy_command_calls_total", { cmd: c.name.toUpperCase() }, c.calls);
  w.family("codis_proxy_command_fails_total", "counter", "Proxy-side failures per command.");
  for (const c of cmds) w.sample("codis_proxy_command_fails_total", { cmd: c.name.toUpperCase() }, c.fails);
  w.family("codis_proxy_command_redis_errors_total", "counter", "Backend error replies per command.");
  for (const c of cmds) {
    w.sample("codis_proxy_command_redis_errors_total", { cmd: c.name.toUpperCase() }, c.redisErrors);
  }
  const h = "codis_proxy_command_duration_seconds";
  w.family(h, "histogram", "Command latency as seen by the proxy, from request parsed to reply queued.");
  for (const c of cmds) {
    const cmd = c.name.toUpperCase();
    let cum = 0;
    for (let i = 0; i < LE.length; i++) {
      cum += c.buckets[i];
      w.sample(`${h}_bucket`, { cmd, le: LE[i] }, cum);
    }
    w.sample(`${h}_bucket`, { cmd, le: "+Inf" }, c.calls);
    w.sample(`${h}_sum`, { cmd }, c.usecs / 1e6);
    w.sample(`${h}_count`, { cmd }, c.calls);
  }

  w.one(
    "codis_proxy_drain_dropped_total",
    "counter",
    "Backend connections dropped for not answering within the drain's bound while their slots moved.",
    s.drainDropped,
  );
  w.one(
    "codis_proxy_switch_abandoned_total",
    "counter",
    "Backend connections of a master being switched whose requests in flight were abandoned (outcome unknown).",
    s.switchAbandoned,
  );

  const acks = ctl.writeAckStats?.();
  w.one(
    "codis_proxy_write_acks",
    "gauge",
    "backend_write_acks: replicas a write waits for (0: off).",
    acks?.replicas ?? 0,
  );
  if (acks) {
    w.one("codis_proxy_write_ack_waits_total", "counter", "WAITs sent for batches of writes.", acks.waits);
    w.one(
      "codis_proxy_write_ack_timeouts_total",
      "counter",
      "WAITs that answered fewer replicas than needed.",
      acks.timeouts,
    );
    w.one(
      "codis_proxy_write_ack_fast_fails_total",
      "counter",
      "Writes refused: too few replicas connected.",
      acks.fast_fails,
    );
    w.one(
      "codis_proxy_write_ack_wait_seconds_total",
      "counter",
      "Time spent waiting for replicas.",
      acks.wait_usecs / 1e6,
    );
  }

  const backends = ctl.backends();
  w.family("codis_proxy_backend_up", "gauge", "1 when the backend is connected, else 0.");
  for (const b of backends) w.sample("codis_proxy_backend_up", { addr: b.addr }, b.state === "connected" ? 1 : 0);
  w.family("codis_proxy_backend_state", "gauge", "Backend connection state: 1 for the current state.");
  for (const b of backends) {
    for (const st of BACKEND_STATES) {
      w.sample("codis_proxy_backend_state", { addr: b.addr, state: st }, +(b.state === st));
    }
  }
  w.family("codis_proxy_backend_connections", "gauge", "Open connections per backend.");
  for (const b of backends) w.sample("codis_proxy_backend_connections", { addr: b.addr }, b.conns);
  w.family("codis_proxy_backend_pending_requests", "gauge", "Requests sent to the backend and not yet answered.");
  for (const b of backends) w.sample("codis_proxy_backend_pending_requests", { addr: b.addr }, b.pending);
  w.lines.push(...loadMetricLines(ctl));
  return w.lines.join("\n") + "\n";
}

/** One parsed sample of the text format. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL_RE = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * A strict parser of the Prometheus text format, for tests and tools: checks that every sample belongs to a
 * family declared by # TYPE before it and that histograms are cumulative with +Inf equal to _count.
 * Throws an Error naming the offending line.
 */
export function parseMetricsText(text: string): { types: Map<string, string>; samples: MetricSample[] } {
  const types = new Map<string, string>();
  const samples: MetricSample[] = [];
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new Error("metrics text must end with a newline");
  for (const [n, line] of lines.entries()) {
    const where = `line ${n + 1} "${line}"`;
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!m) continue; // a plain comment
      if (m[1] === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3])) {
          throw new Error(`bad TYPE: ${where}`);
        }
        if (types.has(m[2])) throw new Error(`duplicate TYPE: ${where}`);
        types.set(m[2], m[3]);
      }
      continue;
    }
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`bad sample: ${where}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      LABEL_RE.lastIndex = 0;
      let pos = 0;
      while (pos < m[3].length) {
        LABEL_RE.lastIndex = pos;
        const l = LABEL_RE.exec(m[3]);
        if (!l) throw new Error(`bad labels: ${where}`);
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
        pos = LABEL_RE.lastIndex;
      }
    }
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    if (Number.isNaN(value) && m[4] !== "NaN") throw new Error(`bad value: ${where}`);
    const family = types.has(m[1]) ? m[1] : m[1].replace(/_(bucket|sum|count)$/, "");
    if (!types.has(family)) throw new Error(`sample without TYPE: ${where}`);
    samples.push({ name: m[1], labels, value });
  }
  checkHistograms(types, samples);
  return { types, samples };
}

function checkHistograms(types: Map<string, string>, samples: MetricSample[]): void {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, { les: [number, number][]; count?: number }>();
    for (const s of samples) {
      if (!s.name.startsWith(family + "_")) continue;
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      const e = series.get(key) ?? { les: [] };
      series.set(key, e);
      if (s.name === `${family}_bucket`) e.les.push([le === "+Inf" ? Infinity : Number(le), s.value]);
      if (s.name === `${family}_count`) e.count = s.value;
    }
    for (const [key, e] of series) {
      for (let i = 1; i < e.les.length; i++) {
        if (e.les[i][0] <= e.les[i - 1][0] || e.les[i][1] < e.les[i - 1][1]) {
          throw new Error(`${family}${key}: buckets not cumulative`);
        }
      }
      const inf = e.les.at(-1);
      if (!inf || inf[0] !== Infinity || inf[1] !== e.count) throw new Error(`${family}${key}: +Inf != _count`);
    }
  }
}
