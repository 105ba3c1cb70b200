import { equal, rejects } from "node:assert/strict";
import { until } from "./wait.ts";

/** A probe that answers `answers` in turn, then the last one again; counts its calls. */
function probe<T>(answers: T[]): { f: () => Promise<T>; calls: () => number } {
  let n = 0;
  return { f: () => Promise.resolve(answers[Math.min(n++, answers.length - 1)]), calls: () => n };
}

Deno.test("until: undefined, null, false and a throw mean not yet; the first other value is the answer", async () => {
  const p = probe<string | boolean | null | undefined>([undefined, null, false, "ready", "later"]);
  equal(await until("ready", 2000, p.f, 1), "ready");
  equal(p.calls(), 4);
  let thrown = 0;
  const r = await until(
    "no throw",
    2000,
    () => thrown++ < 2 ? Promise.reject(new Error("not up")) : Promise.resolve(1),
    1,
  );
  equal(r, 1);
  equal(thrown, 3);
});

Deno.test("until: 0 and the empty string are answers", async () => {
  equal(await until("zero", 1000, () => Promise.resolve(0), 1), 0);
  equal(await until("empty", 1000, () => Promise.resolve(""), 1), "");
});

Deno.test("until: a probe that never answers times out naming what it waited for", async () => {
  const p = probe<null>([null]);
  await rejects(until("the key", 100, p.f, 10), /timed out waiting for the key/);
  equal(p.calls() > 1 && p.calls() <= 11, true, `polled ${p.calls()} times`);
});
