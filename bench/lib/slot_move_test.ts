import { deepEqual, equal } from "node:assert/strict";
import { slotOf } from "../../models/hash.ts";
import { quantile, summarise } from "./client_load.ts";
import { parseDashboardLog, slotKey, tagForSlot } from "./slot_move.ts";

Deno.test("cluster bench: tagForSlot puts every key of the scheme into the slot", () => {
  for (const slot of [0, 100, 1023]) {
    const key = slotKey(tagForSlot(slot));
    for (const i of [0, 7, 50100]) equal(slotOf(new TextEncoder().encode(key(i))), slot);
  }
});

Deno.test("cluster bench: parseDashboardLog reads step writes and the executor line of one slot", () => {
  const since = Date.parse("2026-11-25T16:01:10.500Z");
  const log = [
    "2026-11-25T16:01:09.000Z DEBUG [topom] slot-[100] → preparing",
    "2026-11-25T16:01:10.636Z DEBUG [topom] slot-[100] → preparing",
    "2026-11-25T16:01:10.640Z DEBUG [topom] slot-[101] → preparing",
    "2026-11-25T16:01:10.748Z DEBUG [topom] slot-[100] → prepared",
    "2026-11-25T16:01:12.718Z INFO [executor] slot 100 127.0.0.1:1 → 127.0.0.1:2 moved 50101 keys in 1259 ms",
    "2026-11-25T16:01:12.834Z DEBUG [topom] slot-[100] → done",
    "",
  ].join("\n");
  deepEqual(parseDashboardLog(log, 100, since), {
    logged: { preparing: 136, prepared: 248, "executor-done": 2218, done: 2334 },
    executorMoved: 50101,
    executorMs: 1259,
  });
});

Deno.test("cluster bench: latency summaries use nearest-rank quantiles within the window", () => {
  equal(quantile([1, 2, 3, 4], 0.5), 2);
  equal(quantile([], 0.99), NaN);
  const samples = Array.from({ length: 200 }, (_, i) => ({ at: i, ms: i + 1 }));
  samples.push({ at: 50, ms: 1, error: "x" } as never);
  deepEqual(summarise(samples, 0, 100), { n: 101, errors: 1, p50: 50, p99: 99, max: 100 });
});
