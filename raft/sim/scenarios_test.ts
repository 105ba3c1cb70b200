// Simulator scenarios that need no precise interleaving: a lossy network and a long mixed nemesis run.
import assert from "node:assert/strict";
import { runSimulation } from "./sim.ts";

Deno.test("sim: 20-50% message loss with a concurrent workload stays linearizable and recovers", () => {
  for (let seed = 1; seed <= 8; seed++) {
    const r = runSimulation({ seed, profile: "lossy", durationMs: 6000, quietMs: 2000 });
    assert.equal(
      r.violation,
      undefined,
      `seed ${seed} (replay: deno task sim --seeds 1 --start ${seed} --profile lossy)`,
    );
    assert.equal(r.stats.lincheck, "ok");
  }
});

Deno.test("sim: a long mixed nemesis run (membership, partitions, crashes, pauses) stays safe", () => {
  const r = runSimulation({ seed: 36, durationMs: 120_000, quietMs: 3000 });
  assert.equal(r.violation, undefined);
  assert.equal(r.stats.lincheck, "ok");
  assert.ok(r.stats.acked > 500, `${r.stats.acked} writes acknowledged`);
});
