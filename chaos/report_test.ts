import assert from "node:assert/strict";
import { History } from "./history.ts";
import { htmlReport } from "./report.ts";

Deno.test("the HTML timeline of a long run: more operations than a call may take arguments", () => {
  const history = new History();
  // A 300 s run at ~500 ops/s records this many; spreading them into Math.max overflowed the stack.
  for (let i = 0; i < 200_000; i++) {
    const start = i * 1.5;
    history.ops.push({
      client: i % 8,
      workload: "register",
      f: "put",
      key: `r${i % 16}`,
      value: String(i),
      start,
      end: start + 1,
      outcome: i % 100 === 0 ? "unknown" : "ok",
      proxy: "p1",
    });
  }
  history.faults.push({ nemesis: "pause", detail: "proxy 1 for 3 s", start: 10_000, end: 13_000 });
  const verdict = { lost: 0, violations: 0, undecided: 0, details: [], lostAckedAt: [] };
  const html = htmlReport(
    { history, verdict, seed: 1, replay: "deno task chaos --seed=1", htmlPath: "/tmp/x.html", notes: [] },
    "chaos: 200000 ops",
  );
  assert.ok(html.includes("<svg"));
});
