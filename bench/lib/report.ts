/** Aggregation of repeated runs into medians, and the plain-text table the harness prints. */
import type { RunResult, Workload } from "./run.ts";

/** One run as stored in the JSON output. */
export interface RunRecord extends RunResult {
  workload: string;
  target: string;
  rep: number;
}

/** Medians of one workload on one target. */
export interface Summary {
  workload: string;
  target: string;
  runs: number;
  errors: string[];
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerReq: number;
}

/** Median of the finite values, NaN when there are none. */
export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Summarises the runs of `workload` on `target`. */
export function summarise(records: RunRecord[], workload: string, target: string): Summary {
  const mine = records.filter((r) => r.workload === workload && r.target === target);
  const ok = mine.filter((r) => r.line);
  const rps = ok.map((r) => r.line!.rps);
  return {
    workload,
    target,
    runs: ok.length,
    errors: [...new Set(mine.filter((r) => r.error).map((r) => r.error!))],
    rps: median(rps),
    rpsMin: rps.length ? Math.min(...rps) : NaN,
    rpsMax: rps.length ? Math.max(...rps) : NaN,
    p50Ms: median(ok.map((r) => r.line!.p50Ms)),
    p99Ms: median(ok.map((r) => r.line!.p99Ms)),
    cpuUsPerReq: median(ok.map((r) => r.cpuUsPerReq)),
  };
}

function kilo(x: number): string {
  if (!Number.isFinite(x)) return "-";
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "-";
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : "-";
}

const HEAD = ["workload", "target", "ops/s", "(min-max)", "p50 ms", "p99 ms", "CPU us/req"];
const RIGHT = [false, false, true, false, true, true, true];

/** Pads the table's columns; an eighth cell, if any, is a free-form note appended unpadded. */
function render(rows: string[][]): string {
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => {
    const cells = HEAD.map((_, i) => (RIGHT[i] ? (r[i] ?? "").padStart(widths[i]) : (r[i] ?? "").padEnd(widths[i])));
    return [...cells, r[HEAD.length] ?? ""].join("  ").trimEnd();
  }).join("\n");
}

/**
 * Renders the table: per workload, one line per target with medians over the repeats, then for every proxy target one
 * line per peer with proxy/peer ratios (ops/s: higher is better; p50, p99, CPU: lower is better).
 */
export function renderTable(
  workloads: Workload[],
  targets: string[],
  proxies: string[],
  peers: string[],
  records: RunRecord[],
): string {
  const rows: string[][] = [HEAD];
  for (const w of workloads) {
    const sums = new Map(targets.map((t) => [t, summarise(records, w.id, t)]));
    let first = true;
    for (const t of targets) {
      const s = sums.get(t)!;
      const label = first ? w.label : "";
      first = false;
      if (s.runs === 0) {
        rows.push([label, t, "error", "", "", "", "", s.errors.join("; ") || "no runs"]);
        continue;
      }
      const spread = s.runs > 1 ? `(${kilo(s.rpsMin)}-${kilo(s.rpsMax)})` : "";
      const errs = s.errors.length ? `[some runs failed: ${s.errors.join("; ")}]` : "";
      rows.push([label, t, kilo(s.rps), spread, fixed(s.p50Ms, 3), fixed(s.p99Ms, 3), fixed(s.cpuUsPerReq, 1), errs]);
    }
    for (const p of proxies) {
      const a = sums.get(p)!;
      if (a.runs === 0) continue;
      for (const peer of peers) {
        const b = sums.get(peer)!;
        if (b.runs === 0) continue;
        rows.push([
          "",
          `${p}/${peer}`,
          ratio(a.rps, b.rps),
          "",
          ratio(a.p50Ms, b.p50Ms),
          ratio(a.p99Ms, b.p99Ms),
          ratio(a.cpuUsPerReq, b.cpuUsPerReq),
        ]);
      }
    }
  }
  return render(rows);
}

/**
 * One row per proxy/peer pair with both medians known: an empty first cell, `proxy/peer`, then what `cells` makes of
 * the two (ratios, blanks).
 */
export function ratioRows<T>(
  med: Map<string, T>,
  proxies: string[],
  peers: string[],
  cells: (proxy: T, peer: T) => string[],
): string[][] {
  const rows: string[][] = [];
  for (const p of proxies) {
    const a = med.get(p);
    if (!a) continue;
    for (const peer of peers) {
      const b = med.get(peer);
      if (b) rows.push(["", `${p}/${peer}`, ...cells(a, b)]);
    }
  }
  return rows;
}

/** Rows as text columns two spaces apart; `right[i]` aligns column i to the right. */
export function alignColumns(rows: string[][], right: boolean[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd())
    .join("\n");
}
