/**
 * The one-client probe of bench/README.md's "Replica-acknowledged writes": one connection per target, one request at a
 * time. Targets: the master directly (`SET`+`PING`, `SET`+`WAIT 1`: the replication round trip is their difference),
 * and codis-proxy with `backend_write_acks` 0 and 1 over that master and one replica; with `--b-script=PATH` the same
 * two proxies again from another entry point (another checkout), for an A/B in one run.
 *
 * Requests go in blocks to one target at a time (`--block`, after one unmeasured request), the targets in a new random
 * order each cycle, so that the machine's load falls on all of them alike. Not one request per target in a fixed order:
 * on two shared cores the chain of processes mostly runs on one, and a request then waits for the tail of the previous
 * target's round (its processes going back to sleep); in the order PING, WAIT, N=0, N=1 that tail falls on PING and on
 * N=1, which made the round trip look smaller and N=1's extra larger than they are (bench/README.md). Besides each
 * target's p50, the two differences are given as the median over cycles of the difference of the blocks' medians.
 * `--cpu` adds the CPU time per request of each process on the target's path (bench/lib/schedstat.ts, Linux; the
 * client's includes its own reading of /proc between blocks).
 *
 * `deno run -A bench/write_acks_probe.ts [--rounds=3000] [--block=20] [--cpu] [--b-script=/path/to/cli/codis-proxy.ts]`
 * @module
 */
import { parseArgs } from "node:util";
import { startRedis } from "../testing/redis.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { loadAvg } from "./lib/env.ts";
import { cpuNanos } from "./lib/schedstat.ts";
import { roundTrip } from "./lib/repl_rtt.ts";

const enc = new TextEncoder();
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string" },
    block: { type: "string" },
    cpu: { type: "boolean" },
    "b-script": { type: "string" },
  },
});
/** Measured requests per target. */
const rounds = Number(values.rounds ?? 3000);
const block = Math.max(1, Number(values.block ?? 20));
const bScript = values["b-script"] ?? "";

const set = enc.encode("*3\r\n$3\r\nSET\r\n$9\r\nprobe-key\r\n$1\r\nx\r\n");
const setPing = enc.encode("*3\r\n$3\r\nSET\r\n$9\r\nprobe-key\r\n$1\r\nx\r\n*1\r\n$4\r\nPING\r\n");
const setWait = enc.encode(
  "*3\r\n$3\r\nSET\r\n$9\r\nprobe-key\r\n$1\r\nx\r\n*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$4\r\n1000\r\n",
);

const stops: (() => Promise<void>)[] = [];
try {
  const master = await startRedis({ extraArgs: ["--repl-diskless-sync-delay", "0"] });
  stops.push(master.stop);
  const replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(master.port)] });
  stops.push(replica.stop);
  for (let i = 0; i < 100; i++) {
    if (/master_link_status:up/.test(await info(replica.port))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const serverPid = async (port: number) => Number(/process_id:(\d+)/.exec(await info(port, "server"))?.[1] ?? 0);
  /** The processes a request passes through, for --cpu: client, master, replica, proxy (0: none). */
  const path = [Deno.pid, await serverPid(master.port), await serverPid(replica.port)];
  const targets: { name: string; port: number; payload: Uint8Array; replies: number; pids: number[] }[] = [
    { name: "direct SET+PING", port: master.port, payload: setPing, replies: 2, pids: [...path, 0] },
    { name: "direct SET+WAIT 1", port: master.port, payload: setWait, replies: 2, pids: [...path, 0] },
  ];
  for (const [label, script] of [["proxy", undefined], ...(bScript ? [["proxy-b", bScript]] : [])] as const) {
    for (const acks of [0, 1]) {
      const p = await startCodisProxy([`--backend=${master.addr}`, `--backend_write_acks=${acks}`], {}, {
        script,
        logLevel: "ERROR",
        stopGraceMs: 2000,
      });
      stops.push(p.stop);
      targets.push({ name: `${label} N=${acks}`, port: p.port, payload: set, replies: 1, pids: [...path, p.pid] });
    }
  }
  const conns = await Promise.all(targets.map((t) => Deno.connect({ hostname: "127.0.0.1", port: t.port })));
  const buf = new Uint8Array(4096);
  const times = targets.map(() => [] as number[]);
  /** Per target, the median of each cycle's block. */
  const blockMedians = targets.map(() => [] as number[]);
  /** Per target, the CPU ns of each process of its path over its measured blocks. */
  const cpu = targets.map(() => [0, 0, 0, 0]);
  const cpuNow = (pids: number[]) => values.cpu ? pids.map((p) => p === 0 ? 0 : cpuNanos(p)) : [];
  // Warm-up, then the measured cycles.
  for (let i = 0; i < 300; i++) {
    for (const [j, t] of targets.entries()) await roundTrip(conns[j], t.payload, t.replies, buf);
  }
  const order = targets.map((_, j) => j);
  const cycles = Math.ceil(rounds / block);
  const load0 = loadAvg();
  for (let c = 0; c < cycles; c++) {
    shuffle(order);
    for (const j of order) {
      const t = targets[j];
      await roundTrip(conns[j], t.payload, t.replies, buf);
      const b: number[] = [];
      const cpu0 = cpuNow(t.pids);
      for (let k = 0; k < block; k++) b.push(await roundTrip(conns[j], t.payload, t.replies, buf));
      cpuNow(t.pids).forEach((ns, i) => cpu[j][i] += ns - cpu0[i]);
      times[j].push(...b);
      blockMedians[j].push(median(b));
    }
  }
  const load1 = loadAvg();
  for (const c of conns) c.close();
  console.log(
    `# ${cycles} cycles of ${block} requests per target, load average ${load0.toFixed(2)} → ${load1.toFixed(2)}; ms`,
  );
  console.log(
    `target                 p50     p90${values.cpu ? "  | CPU µs per request: client master replica proxy" : ""}`,
  );
  for (const [j, t] of targets.entries()) {
    const s = times[j].sort((a, b) => a - b);
    const q = (f: number) => s[Math.floor(s.length * f)].toFixed(3);
    const us = values.cpu ? "  | " + cpu[j].map((ns) => (ns / s.length / 1000).toFixed(1).padStart(6)).join(" ") : "";
    console.log(`${t.name.padEnd(20)} ${q(0.5).padStart(6)}  ${q(0.9).padStart(6)}${us}`);
  }
  const pairedDiff = (a: number, b: number) => median(blockMedians[a].map((m, i) => m - blockMedians[b][i])).toFixed(3);
  console.log(`replication round trip (SET+WAIT 1 - SET+PING): ${pairedDiff(1, 0)}`);
  for (let j = 2; j + 1 < targets.length; j += 2) {
    console.log(`${targets[j + 1].name} - ${targets[j].name}: ${pairedDiff(j + 1, j)}`);
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Fisher-Yates, in place. */
function shuffle(xs: number[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const r = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[r]] = [xs[r], xs[i]];
  }
}

async function info(port: number, section = "replication"): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), "info", section],
    stdout: "piped",
  })
    .output();
  return new TextDecoder().decode(out.stdout);
}
