// The seeded simulator under CI: a fixed block of seeds must show no violation, and a seed must replay exactly.
import assert from "node:assert/strict";
import { runSimulation } from "./sim.ts";

const SEEDS = 300;

Deno.test(`sim: ${SEEDS} seeds of faults and workload show no violation`, () => {
  const bad: string[] = [];
  let ops = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSimulation({ seed, durationMs: 4000, quietMs: 2000 });
    ops += r.stats.ops;
    if (r.violation) bad.push(`seed ${seed}: ${r.violation} (replay: deno task sim --seeds 1 --start ${seed} --trace)`);
  }
  assert.deepEqual(bad, []);
  assert.ok(ops > SEEDS * 50, `the workload ran (${ops} operations)`);
});

Deno.test("sim: the same seed gives the same trace", () => {
  for (const seed of [7, 4242]) {
    const lines1: string[] = [], lines2: string[] = [];
    const a = runSimulation({ seed, trace: true, log: (l) => lines1.push(l) });
    const b = runSimulation({ seed, trace: true, log: (l) => lines2.push(l) });
    assert.equal(a.traceHash, b.traceHash);
    assert.deepEqual(a.stats, b.stats);
    assert.equal(lines1.length, lines2.length);
    assert.ok(lines1.every((l, i) => l === lines2[i]));
    assert.ok(lines1.length > 1000);
  }
  const c = runSimulation({ seed: 8 });
  assert.notEqual(c.traceHash, runSimulation({ seed: 7 }).traceHash, "different seeds differ");
});
