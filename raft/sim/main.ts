/**
 * CLI: `deno task sim --seeds N --start S` runs seeds S … S+N-1 and prints one line
 * `sim: N seeds, V violations`, preceded by each violating seed and the command that replays it.
 *
 * Flags: `--trace` prints every message, fault and leader change (and, on a linearizability failure, the
 * offending history); `--verbose` prints one line of figures per seed; `--profile mixed|churn|network|membership|
 * lossy` forces a fault profile; `--duration MS` sets the faulty phase's virtual length (default 6000).
 * @module
 */

import { parseArgs } from "node:util";
import { runSimulation } from "./sim.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seeds: { type: "string", default: "100" },
    start: { type: "string", default: "1" },
    trace: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    duration: { type: "string" },
    profile: { type: "string" },
  },
});
const n = Number(values.seeds), start = Number(values.start);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(start)) {
  console.error("usage: deno task sim --seeds N --start S [--trace] [--verbose]");
  Deno.exit(2);
}
const t0 = performance.now();
const bad: { seed: number; violation: string }[] = [];
let unknown = 0;
for (let seed = start; seed < start + n; seed++) {
  const r = runSimulation({
    seed,
    trace: values.trace,
    ...(values.duration ? { durationMs: Number(values.duration) } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
  });
  if (r.stats.lincheck === "unknown") unknown++;
  if (values.verbose || values.trace) {
    console.log(
      `seed ${seed}: ${r.violation ? "VIOLATION" : "ok"} hash=${r.traceHash} nodes=${r.config.nodes} ` +
        `events=${r.stats.events} msgs=${r.stats.messages} ops=${r.stats.ops} acked=${r.stats.acked} ` +
        `commit=${r.stats.commit} lincheck=${r.stats.lincheck}`,
    );
  }
  if (r.violation) {
    bad.push({ seed, violation: r.violation });
    console.log(`violation seed ${seed}: ${r.violation}`);
    console.log(`  replay: deno task sim --seeds 1 --start ${seed} --trace`);
  }
}
const secs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(`(${secs} s` + (unknown ? `, ${unknown} linearizability checks inconclusive (search budget)` : "") + ")");
console.log(`sim: ${n} seeds, ${bad.length} violations`);
Deno.exit(bad.length ? 1 : 0);
