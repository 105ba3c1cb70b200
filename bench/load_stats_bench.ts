/**
 * What the load statistics add to one request, in nanoseconds: `LoadStats.sent` where a request leaves for its slot
 * plus `LoadStats.answered` where its reply is written, against the same loop without them (the Request allocated and
 * kept alive either way). Best of 7 rounds of 500k requests over 10k distinct keys, for hot-key sampling off, the
 * default 1 in 32, and every request. Compare with the proxy's CPU µs per request in `bench/proxy_bench.ts`; the
 * end-to-end A/B is `bench/proxy_bench.ts --proxy-b-arg=--load_stats=false`.
 *
 * Usage: `deno run -A bench/load_stats_bench.ts`
 * @module
 */
import { LoadStats } from "../proxy/stats/load.ts";
import { Request, type RequestOwner } from "../proxy/forward/request.ts";
import type { KeyRef } from "../proxy/forward/forward.ts";

const enc = new TextEncoder();
const owner: RequestOwner = { requestDone: () => {} };
const keys = Array.from({ length: 10_000 }, (_, i) => enc.encode(`key:${String(i).padStart(12, "0")}`));
const argv = [enc.encode("GET"), keys[0]];
const ref: KeyRef = { argv, pos: Int32Array.of(1), n: 1 };
const raw = enc.encode("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000000\r\n");
const reply = enc.encode("$3\r\nabc\r\n");
const held: Request[] = new Array(8);
const N = 500_000;

function round(load: LoadStats | null): number {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const req = new Request(owner, "get", 0);
    argv[1] = keys[i % keys.length];
    if (load !== null) {
      load.sent(i & 1023, raw, req, ref);
      load.answered(req, reply, 50);
    }
    held[i & 7] = req;
  }
  return (performance.now() - t) * 1e6 / N;
}

for (const every of [0, 32, 1]) {
  const load = new LoadStats({
    hotkeys_sample_every: every,
    hotkeys_top_k: 32,
    load_stats_window: 10_000,
    bigkeys_threshold: 1 << 20,
  });
  let withStats = Infinity;
  let without = Infinity;
  for (let r = 0; r < 7; r++) {
    withStats = Math.min(withStats, round(load));
    without = Math.min(without, round(null));
  }
  console.log(
    `hotkeys_sample_every=${String(every).padEnd(3)} +${(withStats - without).toFixed(1)} ns per request ` +
      `(${withStats.toFixed(1)} ns with the statistics, ${without.toFixed(1)} ns without)`,
  );
}
