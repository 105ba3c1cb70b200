/**
 * Raft benchmark on 3 local kvtest processes with fsync (`deno run -A bench/raft_bench.ts [--quick]`):
 * commit latency at ~100 writes/s, throughput under concurrency, ReadIndex latency, and failover time from
 * kill -9 of the leader to the first write accepted by the new one (default and fast timing profiles).
 * Latencies are end to end through the kvtest HTTP API (client → leader → quorum fsync → apply → reply).
 * @module
 */

import { KvProc, stopAll, waitLeader } from "../raft/kvtest/harness.ts";

const quick = Deno.args.includes("--quick");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

async function cluster(root: string, extra: string[]): Promise<KvProc[]> {
  const procs = [1, 2, 3].map((id) => new KvProc(id, `${root}/n${id}`, extra));
  await Promise.all(procs.map((p) => p.start(procs)));
  return procs;
}

async function put(p: KvProc, k: string, timeoutMs = 2000): Promise<boolean> {
  try {
    return (await p.call(`/put?k=${k}&v=${"x".repeat(64)}`, "POST", timeoutMs)).status === 200;
  } catch {
    return false;
  }
}

async function latency(leader: KvProc, n: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if (!(await put(leader, `lat${i}`))) throw new Error("write failed");
    lat.push(performance.now() - t0);
    await sleep(Math.max(0, 10 - (performance.now() - t0))); // ~100 writes/s
  }
  return lat;
}

async function throughput(leader: KvProc, conc: number, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: conc }, async (_, c) => {
    let i = 0;
    while (performance.now() < end) if (await put(leader, `tp${c}-${i++}`)) done++;
  }));
  return done / (ms / 1000);
}

async function reads(p: KvProc, n: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await p.call(`/get?k=lat${i % 10}`);
    if (r.status !== 200) throw new Error(`read failed: ${JSON.stringify(r.body)}`);
    lat.push(performance.now() - t0);
  }
  return lat;
}

async function failover(procs: KvProc[], trials: number): Promise<number[]> {
  const times: number[] = [];
  for (let t = 0; t < trials; t++) {
    const leader = await waitLeader(procs);
    for (let i = 0; i < 20; i++) await put(leader, `warm${t}-${i}`);
    await sleep(300);
    const others = procs.filter((p) => p !== leader);
    const t0 = performance.now();
    leader.child!.kill("SIGKILL");
    // Poll every survivor independently; the first accepted write ends the outage.
    let done = false;
    await Promise.race(others.map(async (p) => {
      while (!done && performance.now() - t0 < 15_000) {
        if (await put(p, `fo${t}-${p.id}`, 1000)) done = true;
        else await sleep(5);
      }
    }));
    done = true;
    times.push(performance.now() - t0);
    await sleep(1100); // let the losing pollers finish
    await leader.exitCode();
    await leader.start(procs);
    await sleep(1500);
  }
  return times;
}

const root = await Deno.makeTempDir({ prefix: "raft-bench-" });
const all: KvProc[] = [];
try {
  const load = await Deno.readTextFile("/proc/loadavg").then((t) => t.split(" ")[0]).catch(() => "?");
  console.log(`raft bench: 3 processes on loopback, fsync on, ${navigator.hardwareConcurrency} CPUs, load ${load}`);
  let procs = await cluster(`${root}/a`, []);
  all.push(...procs);
  let leader = await waitLeader(procs);
  for (let i = 0; i < 50; i++) await put(leader, `warm${i}`);
  const lat = await latency(leader, quick ? 200 : 1000);
  console.log(`commit latency @~100 writes/s: p50 ${fmt(pct(lat, 50))}  p99 ${fmt(pct(lat, 99))}  (n=${lat.length})`);
  for (const c of [16, 64]) {
    console.log(
      `throughput, ${c} concurrent clients: ${(await throughput(leader, c, quick ? 2000 : 5000)).toFixed(0)} writes/s`,
    );
  }
  const rl = await reads(leader, quick ? 200 : 1000);
  console.log(`ReadIndex read on leader: p50 ${fmt(pct(rl, 50))}  p99 ${fmt(pct(rl, 99))}`);
  const follower = procs.find((p) => p !== leader)!;
  const rf = await reads(follower, quick ? 200 : 1000);
  console.log(`ReadIndex read on follower: p50 ${fmt(pct(rf, 50))}  p99 ${fmt(pct(rf, 99))}`);
  const fd = await failover(procs, quick ? 2 : 5);
  console.log(
    `failover (default 100 ms x 10 ticks): median ${fmt(pct(fd, 50))}  max ${fmt(Math.max(...fd))}  [${
      fd.map((x) => x.toFixed(0)).join(", ")
    }]`,
  );
  await stopAll(procs);
  procs = await cluster(`${root}/b`, ["--profile", "fast"]);
  all.push(...procs);
  leader = await waitLeader(procs);
  const ff = await failover(procs, quick ? 2 : 5);
  console.log(
    `failover (fast 50 ms x 10 ticks): median ${fmt(pct(ff, 50))}  max ${fmt(Math.max(...ff))}  [${
      ff.map((x) => x.toFixed(0)).join(", ")
    }]`,
  );
} finally {
  await stopAll(all);
  await Deno.remove(root, { recursive: true }).catch(() => {});
}
