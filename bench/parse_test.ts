import assert from "node:assert/strict";
import { parseCsv, parseError, splitCsvLine } from "./lib/parse.ts";
import { parseProcStat } from "./lib/cpu.ts";
import { median } from "./lib/report.ts";

// Captured from redis-benchmark 7.0.15: `-t set,get,mset -n 50000 -r 100000 --csv` against twemproxy, then a custom
// command run (whose test name holds quotes), with a progress line that a terminal run leaves behind.
const SAMPLE = [
  '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
  '"SET","73313.78","0.488","0.088","0.479","0.711","0.879","3.287"',
  '"GET","75528.70","0.490","0.088","0.487","0.695","0.847","1.615"',
  '"MSET (10 keys)","53361.79","0.835","0.312","0.807","1.151","1.343","4.479"',
  "",
  '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
  'SET: rps=0.0 (overall: -nan) avg_msec=-nan\r"SET k ""a,b""","90909.09","0.291","0.088","0.287","0.351","0.447","1.007"',
  "",
].join("\n");

Deno.test("parseCsv reads every test row of redis-benchmark 7.0 --csv output", () => {
  const rows = parseCsv(SAMPLE);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0], {
    test: "SET",
    rps: 73313.78,
    avgMs: 0.488,
    minMs: 0.088,
    p50Ms: 0.479,
    p95Ms: 0.711,
    p99Ms: 0.879,
    maxMs: 3.287,
  });
  assert.equal(rows[1].test, "GET");
  assert.equal(rows[1].p99Ms, 0.847);
  assert.equal(rows[2].test, "MSET (10 keys)");
  assert.equal(rows[2].rps, 53361.79);
  assert.equal(rows[3].test, 'SET k "a,b"');
  assert.equal(rows[3].p50Ms, 0.287);
});

Deno.test("parseCsv locates columns by header and rejects malformed figures", () => {
  const reordered = '"rps","test","p99_latency_ms"\n"SET"\n';
  assert.throws(() => parseCsv(reordered), /bad rps/);
  const ok = parseCsv('"test","p99_latency_ms","rps"\n"GET","1.5","1000"\n');
  assert.equal(ok[0].rps, 1000);
  assert.equal(ok[0].p99Ms, 1.5);
  assert.ok(Number.isNaN(ok[0].p50Ms));
  assert.throws(() => parseCsv('"SET","1","2"\n'), /before header/);
  assert.deepEqual(parseCsv("WARNING: Could not fetch server CONFIG\n"), []);
});

Deno.test("splitCsvLine handles quotes, escaped quotes and empty fields", () => {
  assert.deepEqual(splitCsvLine('"a","b ""c""",,"d,e"'), ["a", 'b "c"', "", "d,e"]);
});

Deno.test("parseError extracts the server error and ignores the CONFIG warning", () => {
  assert.equal(parseError("WARNING: Could not fetch server CONFIG\n"), null);
  assert.equal(
    parseError("WARNING: Could not fetch server CONFIG\nError from server: ERR unknown command 'FOO'\n"),
    "ERR unknown command 'FOO'",
  );
  assert.equal(
    parseError("Could not connect to Redis at 127.0.0.1:1: Connection refused\n"),
    "Could not connect to Redis at 127.0.0.1:1: Connection refused",
  );
});

Deno.test("parseProcStat counts fields after a command name with spaces and parentheses", () => {
  const line = "4242 (deno (worker) x) S 17 4242 17 0 -1 4194560 9000 0 0 0 250 75 3 4 20 0 12 0 99 0 0";
  assert.deepEqual(parseProcStat(line), { pid: 4242, ppid: 17, ticks: 325 });
});

Deno.test("median ignores non-finite values", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, NaN, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});
