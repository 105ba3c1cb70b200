import assert from "node:assert/strict";
import { SlotStats } from "./slot_stats.ts";
import { HotKeys, SpaceSaving } from "./hotkeys.ts";
import { BigKeys } from "./bigkeys.ts";
import { LoadStats, mergeLoadViews } from "./load.ts";
import { Request, type RequestOwner } from "../forward/request.ts";
import type { KeyRef } from "../forward/forward.ts";

const enc = new TextEncoder();
const owner: RequestOwner = { requestDone: () => {} };

Deno.test("slot stats count requests, replies and errors per slot, and rate them over the window", () => {
  const s = new SlotStats(10, 0);
  for (let i = 0; i < 300; i++) s.countRequest(7, 20);
  s.countRequest(8, 5);
  s.countReply(7, 100, 50, false);
  s.countReply(7, 10, 30, true);
  const json = s.toJSON(3000);
  assert.deepEqual(json.slots.map((e) => e.id), [7, 8]);
  const e7 = json.slots[0];
  assert.equal(e7.requests, 300);
  assert.equal(e7.bytes_in, 6000);
  assert.equal(e7.bytes_out, 110);
  assert.equal(e7.errors, 1);
  assert.equal(e7.usecs, 80);
  assert.equal(e7.ops_per_sec, 100); // 300 requests in 3 s
  assert.equal(json.window_ms, 3000);
});

Deno.test("slot rates forget what is older than the window", () => {
  const s = new SlotStats(2, 0);
  for (let i = 0; i < 1000; i++) s.countRequest(1, 1);
  s.sample(1000);
  s.sample(2000);
  s.sample(3000); // the ring (2 snapshots for a 2 s window) holds t=2000 and t=3000
  for (let i = 0; i < 40; i++) s.countRequest(1, 1);
  const r = s.rates(4000);
  assert.equal(r.windowMs, 2000);
  assert.equal(r.ops[1], 20);
  s.reset(5000);
  assert.equal(s.toJSON(6000).slots.length, 0);
});

Deno.test("space-saving holds every key above total/capacity, with bounded overestimates", () => {
  const ss = new SpaceSaving(8);
  for (let i = 0; i < 2000; i++) {
    ss.add("hot", 1);
    ss.add(`cold-${i}`, 2); // 2000 distinct keys churn through the other counters
    if (i % 4 === 0) ss.add("warm", 3);
  }
  const counters = new Map([...ss.counters()].map((c) => [c.key, c]));
  assert.ok(counters.has("hot") && counters.has("warm"));
  const hot = counters.get("hot")!;
  assert.ok(hot.count >= 2000 && hot.count - hot.error <= 2000);
  assert.equal(ss.total, 4500);
});

Deno.test("hot keys: sampled every N, estimated ops/s scaled back up, and forgotten after the window", () => {
  const hk = new HotKeys({ sampleEvery: 4, topK: 2, windowMs: 2000 }, 0);
  const key = enc.encode("user:1");
  let sampled = 0;
  for (let i = 0; i < 4000; i++) {
    if (hk.tick()) {
      sampled++;
      hk.add(sampled % 10 === 0 ? enc.encode(`k${sampled % 7}`) : key, 42);
    }
  }
  assert.ok(sampled >= 999 && sampled <= 1000, `sampled ${sampled}`);
  const top = hk.top(1000);
  assert.equal(top.keys.length, 2);
  assert.equal(top.keys[0].key, "user:1");
  assert.equal(top.keys[0].slot, 42);
  // ~900 samples × 4 over 1 s
  assert.ok(top.keys[0].ops_per_sec > 3000 && top.keys[0].ops_per_sec <= 4000, `${top.keys[0].ops_per_sec}`);
  assert.equal(hk.top(5000).keys.length, 0);
});

Deno.test("hot keys off: sample_every 0 never samples", () => {
  const hk = new HotKeys({ sampleEvery: 0, topK: 2, windowMs: 2000 }, 0);
  for (let i = 0; i < 100; i++) assert.equal(hk.tick(), false);
});

Deno.test("big keys keep the largest size per key and the largest keys when full", () => {
  const bk = new BigKeys(100, 2);
  bk.add(enc.encode("a"), 1, 150, "request");
  bk.add(enc.encode("a"), 1, 300, "reply");
  bk.add(enc.encode("b"), 2, 200, "request");
  bk.add(enc.encode("c"), 3, 120, "reply"); // smaller than both kept: dropped
  bk.add(enc.encode("d"), 4, 250, "reply"); // replaces b
  assert.deepEqual(bk.toJSON().keys.map((k) => [k.key, k.bytes, k.kind]), [["a", 300, "reply"], ["d", 250, "reply"]]);
});

Deno.test("load stats tag a whole request with its slot and key, and count its reply at answer time", () => {
  const load = new LoadStats({
    hotkeys_sample_every: 1,
    hotkeys_top_k: 4,
    load_stats_window: 10_000,
    bigkeys_threshold: 64,
  });
  const argv = [enc.encode("GET"), enc.encode("big")];
  const keys: KeyRef = { argv, pos: Int32Array.of(1), n: 1 };
  const req = new Request(owner, "get", 0);
  load.sent(9, enc.encode("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"), req, keys);
  assert.equal(req.slot, 9);
  assert.equal(new TextDecoder().decode(req.key!), "big");
  load.answered(req, new Uint8Array(100), 25);
  const v = load.views();
  assert.equal(v.slots.slots[0].id, 9);
  assert.equal(v.slots.slots[0].bytes_out, 100);
  assert.deepEqual(v.bigkeys.keys.map((k) => [k.key, k.bytes, k.kind]), [["big", 100, "reply"]]);
  assert.equal(v.hotkeys.keys[0].key, "big");
  // A split part (its reply is not a Request) counts as a request of its slot, and tags nothing.
  load.sent(3, new Uint8Array(10), { onReply() {}, onError() {} }, keys);
  const merged = mergeLoadViews([load.views(), load.views()], 4);
  assert.deepEqual(merged.slots.slots.map((e) => [e.id, e.requests]), [[3, 2], [9, 2]]);
  assert.equal(merged.bigkeys.keys.length, 1);
});

Deno.test("hot keys are binary-safe and shown as UTF-8", () => {
  const hk = new HotKeys({ sampleEvery: 1, topK: 4, windowMs: 10_000 }, 0);
  hk.add(enc.encode("clé:ü"), 1);
  hk.add(Uint8Array.of(0xff, 0x00, 0x41), 2);
  hk.add(Uint8Array.of(0xff, 0x00, 0x41), 2);
  const keys = hk.top(1000).keys;
  assert.deepEqual(keys.map((k) => k.key), ["\ufffd\u0000A", "clé:ü"]);
});

Deno.test("space-saving's heap keeps the smallest counter at hand through hits and replacements", () => {
  const ss = new SpaceSaving(4);
  for (const k of ["a", "b", "c", "d", "a", "a", "b", "e", "f", "a"]) ss.add(k, 0);
  const got = new Map([...ss.counters()].map((c) => [c.key, [c.count, c.error]]));
  // e replaced c or d (count 1) → 2 (error 1); f replaced the other → 2 (error 1).
  assert.deepEqual(got.get("a"), [4, 0]);
  assert.deepEqual(got.get("b"), [2, 0]);
  assert.deepEqual([got.get("e"), got.get("f")], [[2, 1], [2, 1]]);
});
