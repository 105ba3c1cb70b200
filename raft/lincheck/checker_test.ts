import assert from "node:assert/strict";
import { checkOperations, kvModel, type KvOperation } from "./mod.ts";

const put = (client: number, key: string, value: string, call: number, ret: number, ok = true): KvOperation => ({
  client,
  input: { kind: "put", key, value },
  output: ret === Infinity ? undefined : { ok },
  call,
  ret,
});
const get = (client: number, key: string, value: string | null, call: number, ret: number): KvOperation => ({
  client,
  input: { kind: "get", key },
  output: { value },
  call,
  ret,
});
const cas = (
  client: number,
  key: string,
  expect: string | null,
  value: string,
  ok: boolean | undefined,
  call: number,
  ret: number,
): KvOperation => ({
  client,
  input: { kind: "cas", key, expect, value },
  output: ok === undefined ? undefined : { ok },
  call,
  ret,
});

Deno.test("lincheck: accepts a linearizable concurrent register history", () => {
  // Porcupine README example 1: put(100) overlaps two reads, one sees the old value, one the new.
  const ops = [
    put(0, "x", "100", 0, 100),
    get(1, "x", null, 25, 75),
    get(2, "x", "100", 30, 60),
  ];
  assert.equal(checkOperations(kvModel, ops).result, "ok");
});

Deno.test("lincheck: rejects a stale read after a newer read (non-linearizable)", () => {
  // Porcupine README example 2: a read returns the new value, a later read returns the old one.
  const ops = [
    put(0, "x", "200", 0, 100),
    get(1, "x", "200", 10, 30),
    get(2, "x", null, 40, 90),
  ];
  const r = checkOperations(kvModel, ops);
  assert.equal(r.result, "illegal");
});

Deno.test("lincheck: rejects a lost acknowledged write", () => {
  const ops = [put(0, "x", "a", 0, 10), get(1, "x", null, 20, 30)];
  assert.equal(checkOperations(kvModel, ops).result, "illegal");
});

Deno.test("lincheck: unknown writes may or may not take effect", () => {
  const seen = [put(0, "x", "a", 0, Infinity), get(1, "x", "a", 20, 30), get(1, "x", "a", 40, 50)];
  assert.equal(checkOperations(kvModel, seen).result, "ok");
  const unseen = [put(0, "x", "a", 0, Infinity), get(1, "x", null, 20, 30)];
  assert.equal(checkOperations(kvModel, unseen).result, "ok");
  // Once observed, it cannot un-happen.
  const flip = [put(0, "x", "a", 0, Infinity), get(1, "x", "a", 20, 30), get(1, "x", null, 40, 50)];
  assert.equal(checkOperations(kvModel, flip).result, "illegal");
});

Deno.test("lincheck: compare-and-set semantics and per-key partitions", () => {
  const ok = [
    put(0, "x", "a", 0, 10),
    cas(1, "x", "a", "b", true, 20, 30),
    cas(2, "x", "a", "c", false, 25, 35),
    get(0, "y", null, 0, 100),
    get(0, "x", "b", 40, 50),
  ];
  assert.equal(checkOperations(kvModel, ok).result, "ok");
  const bad = [put(0, "x", "a", 0, 10), cas(1, "x", "a", "b", true, 20, 30), cas(2, "x", "a", "c", true, 40, 50)];
  assert.equal(checkOperations(kvModel, bad).result, "illegal");
});

Deno.test("lincheck: many concurrent clients stay fast thanks to memoization", () => {
  const ops: KvOperation[] = [];
  let t = 0;
  for (let i = 0; i < 300; i++) {
    const c = i % 6;
    ops.push(put(c, "k", `v${i}`, t, t + 50));
    ops.push(get((c + 1) % 6, "k", `v${i}`, t + 40, t + 60));
    t += 30;
  }
  const r = checkOperations(kvModel, ops);
  assert.equal(r.result, "ok");
});
