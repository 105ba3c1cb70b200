import assert from "node:assert/strict";
import { LATENCY_BUCKETS_USECS, latencyBucket, ProxyStats, readProcStat, STATS_CMDS, STATS_RUNTIME } from "./stats.ts";
import { drainCounters } from "../forward/drain.ts";

Deno.test("stats: latency buckets are log2 upper bounds", () => {
  assert.equal(latencyBucket(0), 0);
  assert.equal(latencyBucket(16), 0);
  assert.equal(latencyBucket(17), 1);
  assert.equal(latencyBucket(32), 1);
  assert.equal(latencyBucket(33), 2);
  assert.equal(latencyBucket(100.5), 3); // <= 128
  const last = LATENCY_BUCKETS_USECS.length;
  assert.equal(latencyBucket(LATENCY_BUCKETS_USECS[last - 1]), last - 1);
  assert.equal(latencyBucket(LATENCY_BUCKETS_USECS[last - 1] + 1), last); // +Inf
  assert.equal(latencyBucket(1e12), last);
  for (let u = 1; u < 1e7; u = Math.ceil(u * 1.3)) {
    const b = latencyBucket(u);
    if (b < last) assert.ok(u <= LATENCY_BUCKETS_USECS[b], `${u} in ${b}`);
    if (b > 0) assert.ok(u > LATENCY_BUCKETS_USECS[b - 1], `${u} above ${b - 1}`);
  }
});

Deno.test("stats: counters, per-command JSON in Codis's shape, reset", () => {
  const s = new ProxyStats();
  s.record("get", 10, false, false);
  s.record("get", 30, false, true);
  s.record("set", 100, true, false);
  s.record("DEL", 5, false, false);
  s.fail();
  s.sessionOpened();
  s.sessionOpened();
  s.sessionClosed();

  const j = s.toJSON(0, { online: true, closed: false, primaryOnly: true });
  assert.deepEqual(Object.keys(j), ["online", "closed", "sentinels", "ops", "sessions", "rusage", "backend"]);
  assert.equal(j.online, true);
  assert.deepEqual(j.sentinels, {});
  assert.deepEqual(j.ops, { total: 4, fails: 2, redis: { errors: 1 }, qps: 0 });
  assert.deepEqual(j.sessions, { total: 2, alive: 1 });
  assert.deepEqual(j.backend, { primary_only: true });
  assert.equal(typeof j.rusage.now, "string");
  assert.match(j.rusage.now, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC$/);
  assert.ok(j.rusage.mem > 0);
  if (Deno.build.os === "linux") {
    assert.ok(j.rusage.raw!.vm_rss > 0 && j.rusage.raw!.num_threads >= 1 && j.rusage.raw!.utime >= 0);
  }
  assert.equal(j.runtime, undefined);

  const full = s.toJSON(STATS_CMDS | STATS_RUNTIME, {
    online: true,
    closed: false,
    primaryOnly: false,
    sentinels: { servers: ["127.0.0.1:26379"], masters: { "1": "127.0.0.1:6379" } },
  });
  assert.deepEqual(full.sentinels, { servers: ["127.0.0.1:26379"], masters: { "1": "127.0.0.1:6379" } });
  assert.deepEqual(full.ops.cmd, [
    { opstr: "DEL", calls: 1, usecs: 5, usecs_percall: 5, fails: 0, redis_errtype: 0 },
    { opstr: "GET", calls: 2, usecs: 40, usecs_percall: 20, fails: 0, redis_errtype: 1 },
    { opstr: "SET", calls: 1, usecs: 100, usecs_percall: 100, fails: 1, redis_errtype: 0 },
  ]);
  const rt = full.runtime!;
  assert.deepEqual(Object.keys(rt), [
    "general",
    "heap",
    "gc",
    "num_procs",
    "num_goroutines",
    "num_cgo_call",
    "mem_offheap",
  ]);
  assert.ok(rt.heap.alloc > 0 && rt.num_procs >= 1);
  // The JSON round-trips (no BigInt, no typed arrays).
  assert.deepEqual(JSON.parse(JSON.stringify(full)).ops.cmd.length, 3);

  const get = [...s.commands()].find((c) => c.name === "get")!;
  assert.equal(get.buckets[0] + get.buckets[1], 2);

  s.reset();
  const r = s.toJSON(STATS_CMDS);
  assert.deepEqual(r.ops, { total: 0, fails: 0, redis: { errors: 0 }, qps: 0, cmd: [] });
  assert.deepEqual(r.sessions, { total: 1, alive: 1 });
});

Deno.test("stats: qps is the per-second delta; the timer starts and stops cleanly", () => {
  const s = new ProxyStats();
  s.start();
  s.start(); // idempotent
  // The base of the first delta, set here rather than by start()'s clock read (a loaded machine may run this later).
  const t0 = performance.now();
  s.sample(t0);
  for (let i = 0; i < 500; i++) s.record("get", 1, false, false);
  s.sample(t0 + 1000);
  assert.equal(s.qps, 500);
  s.sample(t0 + 2000);
  assert.equal(s.qps, 0);
  for (let i = 0; i < 100; i++) s.record("get", 1, false, false);
  s.sample(t0 + 2500); // half a second: normalised to per second
  assert.equal(s.qps, 200);
  assert.ok(s.cpu >= 0);
  s.stop();
  s.stop();
});

Deno.test("stats: /proc/self/stat parsing", () => {
  const raw = readProcStat();
  if (Deno.build.os !== "linux") return;
  assert.ok(raw);
  assert.ok(raw.vm_size >= raw.vm_rss && raw.vm_rss > 0);
  const mem = Deno.memoryUsage().rss;
  assert.ok(Math.abs(raw.vm_rss - mem) < mem * 0.5, `${raw.vm_rss} vs ${mem}`);
});

Deno.test("stats: snapshots of workers sum up", () => {
  const a = new ProxyStats();
  const b = new ProxyStats();
  a.record("get", 10, false, false);
  a.record("set", 100, true, false);
  a.sessionOpened();
  b.record("get", 1000, false, true);
  b.fail();
  b.sessionOpened();
  b.sessionOpened();
  b.pubsubLimitClosed = 2;
  const wire = JSON.parse(JSON.stringify([a.snapshot(), b.snapshot()]));
  const sum = ProxyStats.sum(wire);
  const j = sum.toJSON(STATS_CMDS);
  assert.deepEqual(j.ops, {
    total: 3,
    fails: 2,
    redis: { errors: 1 },
    qps: 0,
    cmd: [
      { opstr: "GET", calls: 2, usecs: 1010, usecs_percall: 505, fails: 0, redis_errtype: 1 },
      { opstr: "SET", calls: 1, usecs: 100, usecs_percall: 100, fails: 1, redis_errtype: 0 },
    ],
  });
  assert.deepEqual(j.sessions, { total: 3, alive: 3, pubsub_limit_closed: 2 });
  const get = [...sum.commands()].find((c) => c.name === "get")!;
  assert.equal(get.buckets.reduce((x, y) => x + y, 0), 2);
});

Deno.test("stats: the drain counters are each thread's and a sum adds every thread's", () => {
  const thread = new ProxyStats();
  const before = thread.snapshot();
  drainCounters.dropped += 2;
  drainCounters.abandoned += 5;
  try {
    // A thread's stats read the counters live: what was counted after the object was made shows.
    assert.equal(thread.drainDropped, before.drainDropped + 2);
    assert.equal(thread.switchAbandoned, before.switchAbandoned + 5);
    const worker = { ...before, drainDropped: 3, switchAbandoned: 7 };
    const sum = ProxyStats.sum(JSON.parse(JSON.stringify([thread.snapshot(), worker])));
    assert.equal(sum.drainDropped, before.drainDropped + 2 + 3);
    assert.equal(sum.switchAbandoned, before.switchAbandoned + 5 + 7);
    // The sum holds its own figures: later counts on this thread do not change it.
    drainCounters.dropped++;
    assert.equal(sum.drainDropped, before.drainDropped + 2 + 3);
  } finally {
    drainCounters.dropped -= 3;
    drainCounters.abandoned -= 5;
  }
});
