/**
 * The run's report: per-fault counts, latency percentiles per phase (no fault in force, or which nemesis was), the
 * checker's findings, the replay command, an HTML timeline (one self-contained file: inline SVG, no external
 * assets) and, last, the summary line.
 * @module
 */
import type { Verdict } from "./checker.ts";
import type { Fault, History, Op } from "./history.ts";

/** Everything the report shows. */
export interface ReportInput {
  history: History;
  verdict: Verdict;
  seed: number;
  replay: string;
  htmlPath: string;
  notes: string[];
}

/** The exact last line of a run. */
export function summaryLine(
  ops: number,
  errors: number,
  lost: number,
  violations: number,
  faults: number,
  seed: number,
) {
  return `chaos: ${ops} ops (${errors} errors), ${lost} lost acknowledged writes, ${violations} linearizability ` +
    `violations, ${faults} faults, seed ${seed}`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** The phase an operation ran in: the disruptive fault in force when it started, or "quiet". */
function phaseOf(op: Op, faults: Fault[]): string {
  for (const f of faults) {
    if (f.nemesis !== "migrate" && op.start >= f.start && op.start < f.end) return f.nemesis;
  }
  for (const f of faults) if (op.start >= f.start && op.start < f.end) return "migrate";
  return "quiet";
}

/** The text part of the report (every line but the summary). */
export function textReport(input: ReportInput): string[] {
  const { history: h, verdict } = input;
  const lines: string[] = [];
  const byNemesis = new Map<string, number>();
  for (const f of h.faults) byNemesis.set(f.nemesis, (byNemesis.get(f.nemesis) ?? 0) + 1);
  lines.push(`faults: ${[...byNemesis].map(([n, c]) => `${n} ${c}`).join(", ") || "none"}`);
  const phases = new Map<string, Op[]>();
  for (const op of h.ops) {
    if (op.final) continue;
    const p = phaseOf(op, h.faults);
    const list = phases.get(p);
    if (list) list.push(op);
    else phases.set(p, [op]);
  }
  lines.push("latency per phase (ms, acknowledged ops):");
  for (const [phase, ops] of [...phases].sort()) {
    const lat = ops.filter((o) => o.outcome === "ok").map((o) => o.end - o.start).sort((a, b) => a - b);
    const errs = ops.filter((o) => o.outcome !== "ok").length;
    const f = (x: number) => Number.isNaN(x) ? "-" : x.toFixed(1);
    lines.push(
      `  ${phase.padEnd(10)} ${String(ops.length).padStart(6)} ops ${String(errs).padStart(5)} errors  p50 ${
        f(percentile(lat, 0.5))
      }  p95 ${f(percentile(lat, 0.95))}  p99 ${f(percentile(lat, 0.99))}  max ${f(lat[lat.length - 1] ?? NaN)}`,
    );
  }
  const errorKinds = new Map<string, number>();
  for (const op of h.ops) {
    if (op.outcome === "ok" || !op.error) continue;
    const kind = op.error.replace(/[0-9.:]+/g, "#").slice(0, 60);
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
  }
  const topErrors = [...errorKinds].sort((a, b) => b[1] - a[1]).slice(0, 6);
  if (topErrors.length > 0) lines.push(`errors: ${topErrors.map(([k, n]) => `${n}× ${k}`).join("; ")}`);
  for (const n of input.notes) lines.push(`note: ${n}`);
  for (const d of verdict.details) lines.push(`check: ${d}`);
  lines.push(`timeline: ${input.htmlPath}`);
  lines.push(`replay: ${input.replay}`);
  return lines;
}

const COLORS: Record<string, string> = {
  kill: "#e15759",
  pause: "#f28e2b",
  partition: "#4e79a7",
  net: "#76b7b2",
  migrate: "#59a14f",
  raft: "#b07aa1",
  operator: "#edc948",
};

/** A strip with one red tick per lost acknowledged set element, at the time it was acknowledged. */
function lostTicks(at: number[], x: (sec: number) => number, width: number): string {
  if (at.length === 0) return "";
  const ticks = at.map((ms) =>
    `<line x1="${x(ms / 1000).toFixed(1)}" y1="2" x2="${x(ms / 1000).toFixed(1)}" y2="18" ` +
    `stroke="#d62728" stroke-width="1"/>`
  ).join("");
  return `<h3>lost acknowledged writes (set elements, by acknowledgement time): ${at.length}</h3>` +
    `<svg width="${width}" height="20" xmlns="http://www.w3.org/2000/svg">${ticks}</svg>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** The HTML timeline: throughput, latency and errors per second, with each fault drawn as a band. */
export function htmlReport(input: ReportInput, summary: string): string {
  const h = input.history;
  const ops = h.ops.filter((o) => !o.final);
  // A loop, not Math.max(...): a long run records more operations than a call may take arguments.
  let lastEnd = 0;
  for (const o of ops) if (o.end > lastEnd) lastEnd = o.end;
  for (const f of h.faults) if (f.end > lastEnd) lastEnd = f.end;
  const seconds = Math.max(1, Math.ceil(lastEnd / 1000));
  const okPerSec = new Array(seconds).fill(0);
  const errPerSec = new Array(seconds).fill(0);
  const lat: number[][] = Array.from({ length: seconds }, () => []);
  for (const o of ops) {
    const s = Math.min(seconds - 1, Math.floor(o.end / 1000));
    if (o.outcome === "ok") {
      okPerSec[s]++;
      lat[s].push(o.end - o.start);
    } else errPerSec[s]++;
  }
  const p99 = lat.map((l) => percentile(l.sort((a, b) => a - b), 0.99) || 0);
  const p50 = lat.map((l) => percentile(l, 0.5) || 0);
  const W = 1000, H = 140, L = 50;
  const x = (sec: number) => L + (sec / seconds) * (W - L - 10);
  const faultsSvg = (height: number) =>
    h.faults.map((f, i) => {
      const x0 = x(f.start / 1000), x1 = Math.max(x0 + 1, x(f.end / 1000));
      const lane = f.nemesis === "migrate" ? height - 8 : 0;
      const bh = f.nemesis === "migrate" ? 8 : height;
      return `<rect x="${x0.toFixed(1)}" y="${lane}" width="${(x1 - x0).toFixed(1)}" height="${bh}" fill="${
        COLORS[f.nemesis] ?? "#999"
      }" opacity="0.25"><title>#${i + 1} ${esc(f.nemesis)}: ${esc(f.detail)} (${(f.start / 1000).toFixed(1)}-${
        (f.end / 1000).toFixed(1)
      } s)</title></rect>`;
    }).join("");
  const chart = (title: string, series: { data: number[]; color: string; label: string }[]) => {
    const max = Math.max(1, ...series.flatMap((s) => s.data));
    const y = (v: number) => H - 5 - (v / max) * (H - 20);
    const lines = series.map((s) =>
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${
        s.data.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(" ")
      }"/>`
    ).join("");
    const legend = series.map((s, i) =>
      `<text x="${L + 10 + i * 160}" y="12" font-size="11" fill="${s.color}">${esc(s.label)}</text>`
    ).join("");
    return `<h3>${esc(title)}</h3><svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${
      faultsSvg(H)
    }<line x1="${L}" y1="${H - 5}" x2="${W - 10}" y2="${H - 5}" stroke="#333"/><text x="0" y="${
      y(max) + 4
    }" font-size="10">${max.toFixed(0)}</text><text x="0" y="${H - 5}" font-size="10">0</text>${lines}${legend}</svg>`;
  };
  const ticks = Array.from({ length: Math.floor(seconds / 10) + 1 }, (_, i) => i * 10)
    .map((s) => `<text x="${x(s).toFixed(1)}" y="12" font-size="10" text-anchor="middle">${s}s</text>`).join("");
  const legend = Object.entries(COLORS).map(([n, c]) =>
    `<span style="background:${c};opacity:.6;padding:1px 6px;margin-right:6px">${n}</span>`
  ).join("");
  const faultRows = h.faults.map((f, i) =>
    `<tr><td>${i + 1}</td><td>${esc(f.nemesis)}</td><td>${(f.start / 1000).toFixed(1)}</td><td>${
      (f.end / 1000).toFixed(1)
    }</td><td>${esc(f.detail)}</td></tr>`
  ).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>codis-deno chaos, seed ${input.seed}</title>
<style>body{font-family:sans-serif;margin:20px}pre{background:#f4f4f4;padding:8px}td{padding:1px 8px;font-size:12px}</style>
</head><body><h2>codis-deno chaos run, seed ${input.seed}</h2><pre>${esc(summary)}</pre><div>${legend}</div>
${chart("throughput (acknowledged ops/s)", [{ data: okPerSec, color: "#1f77b4", label: "ok ops/s" }])}
${
    chart("latency (ms)", [{ data: p50, color: "#2ca02c", label: "p50" }, {
      data: p99,
      color: "#d62728",
      label: "p99",
    }])
  }
${chart("errors and unknown outcomes per second", [{ data: errPerSec, color: "#d62728", label: "errors/s" }])}
${lostTicks(input.verdict.lostAckedAt, x, W)}
<svg width="${W}" height="16" xmlns="http://www.w3.org/2000/svg">${ticks}</svg>
<h3>report</h3><pre>${esc(textReport(input).join("\n"))}</pre>
<h3>faults</h3><table><tr><th>#</th><th>nemesis</th><th>from (s)</th><th>to (s)</th><th>what</th></tr>${faultRows}</table>
</body></html>
`;
}
