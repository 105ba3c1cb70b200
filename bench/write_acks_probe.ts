/**
 * The one-client probe of bench/README.md's "Replica-acknowledged writes": one connection per target, one request at a
 * time, rounds alternating between the targets so that the machine's load falls on all of them alike. Targets: the
 * master directly (`SET`+`PING`, `SET`+`WAIT 1`: the replication round trip is their difference), and codis-proxy with
 * `backend_write_acks` 0 and 1 over that master and one replica; with `--b-script=PATH` the same two proxies again from
 * another entry point (another checkout), for an A/B in one run.
 *
 * `deno run -A bench/write_acks_probe.ts [--rounds=3000] [--b-script=/path/to/cli/codis-proxy.ts]`
 * @module
 */
import { parseArgs } from "node:util";
import { startRedis } from "../testing/redis.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { loadAvg } from "./lib/env.ts";

const enc = new TextEncoder();
const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string" }, "b-script": { type: "string" } },
});
const rounds = Number(values.rounds ?? 3000);
const bScript = values["b-script"] ?? "";

/** Sends `payload` and reads until `replies` CRLF-ended simple replies arrived; returns the elapsed ms. */
async function roundTrip(conn: Deno.Conn, payload: Uint8Array, replies: number, buf: Uint8Array): Promise<number> {
  const t0 = performance.now();
  await conn.write(payload);
  let seen = 0;
  while (seen < replies) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed");
    for (let i = 0; i < n; i++) if (buf[i] === 10) seen++;
  }
  return performance.now() - t0;
}

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
  const targets: { name: string; port: number; payload: Uint8Array; replies: number }[] = [
    { name: "direct SET+PING", port: master.port, payload: setPing, replies: 2 },
    { name: "direct SET+WAIT 1", port: master.port, payload: setWait, replies: 2 },
  ];
  for (const [label, script] of [["proxy", undefined], ...(bScript ? [["proxy-b", bScript]] : [])] as const) {
    for (const acks of [0, 1]) {
      const p = await startCodisProxy([`--backend=${master.addr}`, `--backend_write_acks=${acks}`], {}, {
        script,
        logLevel: "ERROR",
        stopGraceMs: 2000,
      });
      stops.push(p.stop);
      targets.push({ name: `${label} N=${acks}`, port: p.port, payload: set, replies: 1 });
    }
  }
  const conns = await Promise.all(targets.map((t) => Deno.connect({ hostname: "127.0.0.1", port: t.port })));
  const buf = new Uint8Array(4096);
  const times = targets.map(() => [] as number[]);
  // Warm-up, then the measured rounds.
  for (let i = 0; i < 300; i++) {
    for (const [j, t] of targets.entries()) await roundTrip(conns[j], t.payload, t.replies, buf);
  }
  const load0 = loadAvg();
  for (let i = 0; i < rounds; i++) {
    for (const [j, t] of targets.entries()) times[j].push(await roundTrip(conns[j], t.payload, t.replies, buf));
  }
  const load1 = loadAvg();
  for (const c of conns) c.close();
  console.log(`# ${rounds} rounds, load average ${load0.toFixed(2)} → ${load1.toFixed(2)}; ms`);
  console.log("target                 p50     p90");
  for (const [j, t] of targets.entries()) {
    const s = times[j].sort((a, b) => a - b);
    const q = (f: number) => s[Math.floor(s.length * f)].toFixed(3);
    console.log(`${t.name.padEnd(20)} ${q(0.5).padStart(6)}  ${q(0.9).padStart(6)}`);
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}

async function info(port: number): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), "info", "replication"],
    stdout: "piped",
  })
    .output();
  return new TextDecoder().decode(out.stdout);
}
