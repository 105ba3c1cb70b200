/**
 * The load statistics in `/metrics`: per-group aggregates of the per-slot figures only. Per-slot or per-key labels
 * would give Prometheus 1024 series per metric and per proxy (and unbounded ones for keys).
 * @module
 */
import type { ProxyControl } from "./control.ts";
import type { SlotStatsEntry } from "../../models/load_stats.ts";

const FAMILIES: { name: string; type: "counter" | "gauge"; help: string; of: (e: SlotStatsEntry) => number }[] = [
  {
    name: "codis_proxy_group_requests_total",
    type: "counter",
    help: "Requests sent to the group's slots (split parts count one each).",
    of: (e) => e.requests,
  },
  {
    name: "codis_proxy_group_errors_total",
    type: "counter",
    help: "Error replies to requests sent whole to the group's slots.",
    of: (e) => e.errors,
  },
  {
    name: "codis_proxy_group_received_bytes_total",
    type: "counter",
    help: "Request bytes sent to the group's slots.",
    of: (e) => e.bytes_in,
  },
  {
    name: "codis_proxy_group_sent_bytes_total",
    type: "counter",
    help: "Reply bytes of requests sent whole to the group's slots.",
    of: (e) => e.bytes_out,
  },
  {
    name: "codis_proxy_group_latency_seconds_total",
    type: "counter",
    help: "Total latency of requests sent whole to the group's slots.",
    of: (e) => e.usecs / 1e6,
  },
  {
    name: "codis_proxy_group_ops_per_second",
    type: "gauge",
    help: "Requests per second to the group's slots over load_stats_window.",
    of: (e) => e.ops_per_sec,
  },
];

/** The per-group lines of `/metrics` (none when the proxy keeps no load statistics). */
export function loadMetricLines(ctl: ProxyControl): string[] {
  if (!ctl.loadViews) return [];
  const groupOf = new Map<number, number>();
  for (const s of ctl.slots()) groupOf.set(s.id, s.backend_addr_group_id ?? 0);
  const byGroup = new Map<number, SlotStatsEntry[]>();
  for (const e of ctl.loadViews().slots.slots) {
    const gid = groupOf.get(e.id) ?? 0;
    const list = byGroup.get(gid) ?? [];
    list.push(e);
    byGroup.set(gid, list);
  }
  const gids = [...byGroup.keys()].sort((a, b) => a - b);
  const lines: string[] = [];
  for (const f of FAMILIES) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const gid of gids) {
      let v = 0;
      for (const e of byGroup.get(gid)!) v += f.of(e);
      lines.push(`${f.name}{group_id="${gid}"} ${Math.round(v * 1e6) / 1e6}`);
    }
  }
  return lines;
}
