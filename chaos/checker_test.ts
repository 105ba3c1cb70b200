import assert from "node:assert/strict";
import { check } from "./checker.ts";
import type { Op } from "./history.ts";
import { parseChaosArgs } from "./main.ts";
import { Rng } from "./rng.ts";
import { summaryLine } from "./report.ts";

let clock = 0;
function op(fields: Partial<Op> & Pick<Op, "workload" | "f" | "key">, outcome: Op["outcome"] = "ok"): Op {
  const start = clock++;
  return { client: 0, start, end: clock++, outcome, proxy: "p", ...fields };
}
const finalRead = (workload: "counter" | "set", key: string, result: number | string[]) =>
  op({ workload, f: "read", key, result, final: true, client: -1 });

Deno.test("checker: a set missing an acknowledged element is a lost write; an unknown one may be missing", () => {
  const ops = [
    op({ workload: "set", f: "sadd", key: "s", value: "a", result: true }),
    op({ workload: "set", f: "sadd", key: "s", value: "b", result: true }),
    op({ workload: "set", f: "sadd", key: "s", value: "c" }, "unknown"),
    finalRead("set", "s", ["a"]),
  ];
  const v = check(ops);
  assert.equal(v.lost, 1);
  assert.equal(v.violations, 0);
});

Deno.test("checker: a set element nobody added is a violation", () => {
  const v = check([
    op({ workload: "set", f: "sadd", key: "s", value: "a", result: true }),
    finalRead("set", "s", ["a", "z"]),
  ]);
  assert.equal(v.violations, 1);
  assert.equal(v.lost, 0);
});

Deno.test("checker: counters — lost increments, values returned twice, and unknown increments as either", () => {
  const incr = (result: number, outcome: Op["outcome"] = "ok") =>
    op({ workload: "counter", f: "incr", key: "c", result }, outcome);
  assert.deepEqual(
    [check([incr(1), incr(2), incr(0, "unknown"), finalRead("counter", "c", 3)])].map((v) => [v.lost, v.violations]),
    [[0, 0]],
  );
  assert.equal(check([incr(1), incr(2), incr(3), finalRead("counter", "c", 2)]).lost, 1);
  assert.equal(check([incr(1), incr(1), finalRead("counter", "c", 2)]).violations, 1);
  assert.equal(check([incr(1), finalRead("counter", "c", 2)]).violations, 1);
});

Deno.test("checker: registers — a stale read after an acknowledged write is a violation, an unknown write is either", () => {
  const put = (value: string, outcome: Op["outcome"] = "ok") =>
    op({ workload: "register", f: "put", key: "r", value, result: true }, outcome);
  const get = (result: string | null) => op({ workload: "register", f: "get", key: "r", result });
  assert.equal(check([put("1"), put("2"), get("1")]).violations, 1);
  assert.equal(check([put("1"), put("2", "unknown"), get("1"), get("2")]).violations, 0);
  assert.equal(check([put("1"), put("2", "fail"), get("2")]).violations, 0);
  assert.equal(check([get("9")]).violations, 1);
});

Deno.test("rng: one seed, one sequence; forks are independent but replayable", () => {
  const a = new Rng(42), b = new Rng(42);
  const seq = (r: Rng) => Array.from({ length: 20 }, () => r.int(0, 1000));
  assert.deepEqual(seq(a), seq(b));
  assert.deepEqual(seq(a.fork()), seq(b.fork()));
  assert.notDeepEqual(seq(new Rng(1)), seq(new Rng(2)));
});

Deno.test("chaos args: defaults, repeatable --proxy-arg, unknown nemesis refused", () => {
  const o = parseChaosArgs(["--seconds=30", "--seed=7", "--proxy-arg=--a=1", "--proxy-arg=--b=2"]);
  assert.equal(o.seconds, 30);
  assert.equal(o.seed, 7);
  assert.deepEqual(o.proxyArgs, ["--a=1", "--b=2"]);
  assert.deepEqual(o.nemeses, ["kill", "pause", "partition", "net", "migrate", "raft", "operator"]);
  assert.throws(() => parseChaosArgs(["--nemesis=kill,meteor"]), /unknown nemesis "meteor"/);
  assert.throws(() => parseChaosArgs(["--proxy-arg=x"]), /--proxy-arg takes a flag/);
});

Deno.test("report: the summary line's exact format", () => {
  assert.equal(
    summaryLine(10, 2, 1, 0, 3, 99),
    "chaos: 10 ops (2 errors), 1 lost acknowledged writes, 0 linearizability violations, 3 faults, seed 99",
  );
});
