/**
 * Slot migration benchmark: moves one slot of 50,101 small keys between two redis-server processes with the
 * dashboard's executor (topom/executor), without and with a concurrent client load, and prints keys/s and the time.
 * Codis 3.2's figure for the same slot: 0.29 s of transfer, about 170k keys/s (semi-async).
 *
 *   deno run -A bench/migration_bench.ts [--keys=50101] [--runs=3] [--batch=1000] [--pipeline=2] [--size=16]
 *                                        [--load-clients=20] [--no-load] [--json]
 * @module
 */
import { parseArgs } from "node:util";
import { BackendConn } from "../redis/conn.ts";
import { encodeCommand } from "../redis/encode.ts";
import { runSlotMigration, type SlotMigrationResult } from "../topom/executor/mod.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    keys: { type: "string", default: "50101" },
    runs: { type: "string", default: "3" },
    batch: { type: "string", default: "1000" },
    pipeline: { type: "string", default: "2" },
    size: { type: "string", default: "16" },
    slot: { type: "string", default: "423" },
    "load-clients": { type: "string", default: "20" },
    "no-load": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const KEYS = Number(flags.keys);
const RUNS = Number(flags.runs);
const SLOT = Number(flags.slot);
const VALUE = "v".repeat(Number(flags.size));

function conn(addr: string): BackendConn {
  return new BackendConn(addr, {
    auth: "",
    maxPipeline: 1 << 20,
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    connectTimeoutMs: 5000,
  });
}

/** Writes KEYS keys into database SLOT, pipelined, half of them with a TTL. */
async function fill(addr: string): Promise<void> {
  const c = conn(addr);
  try {
    await c.connect();
    const chunk = 5000;
    for (let i = 0; i < KEYS; i += chunk) {
      const ps: Promise<Uint8Array>[] = [];
      for (let j = i; j < Math.min(KEYS, i + chunk); j++) {
        const args = j % 2 === 0 ? ["SET", `{s}key:${j}`, VALUE] : ["SET", `{s}key:${j}`, VALUE, "EX", "3600"];
        ps.push(
          new Promise((resolve, reject) =>
            c.send(SLOT, encodeCommand(args), { onReply: resolve, onError: (m) => reject(new Error(m)) })
          ),
        );
      }
      await Promise.all(ps);
    }
  } finally {
    c.close();
  }
}

async function dbsize(addr: string): Promise<number> {
  const c = conn(addr);
  try {
    await c.connect();
    const raw = new TextDecoder().decode(await c.call(SLOT, ["DBSIZE"]));
    return Number(raw.slice(1).trim());
  } finally {
    c.close();
  }
}

async function flush(addr: string): Promise<void> {
  const c = conn(addr);
  try {
    await c.connect();
    await c.call(0, ["FLUSHALL"]);
  } finally {
    c.close();
  }
}

/** redis-benchmark SET/GET against both servers (database 0, other slots), until killed. */
function startLoad(servers: RedisProcess[], clients: number): Deno.ChildProcess[] {
  return servers.map((s) =>
    new Deno.Command("redis-benchmark", {
      args: ["-h", "127.0.0.1", "-p", String(s.port), "-c", String(clients), "-n", "100000000", "-t", "set,get"],
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
}

async function stopLoad(procs: Deno.ChildProcess[]): Promise<void> {
  for (const p of procs) {
    try {
      p.kill("SIGKILL");
    } catch { /* gone */ }
    await p.status;
  }
}

interface Row {
  load: boolean;
  run: number;
  seconds: number;
  keysPerSec: number;
  batches: number;
}

function loadAvg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  console.log(
    `cpus ${navigator.hardwareConcurrency}, load average ${loadAvg()} (other work on the machine skews the figures)`,
  );
  const src = await startRedis();
  const dst = await startRedis();
  const rows: Row[] = [];
  const loads: Deno.ChildProcess[] = [];
  try {
    const modes = flags["no-load"] ? [false] : [false, true];
    for (const load of modes) {
      for (let run = 1; run <= RUNS; run++) {
        await flush(src.addr);
        await flush(dst.addr);
        await fill(src.addr);
        if (load) {
          loads.push(...startLoad([src, dst], Number(flags["load-clients"])));
          await new Promise((r) => setTimeout(r, 500));
        }
        const t0 = performance.now();
        const r: SlotMigrationResult = await runSlotMigration({
          slot: SLOT,
          from: src.addr,
          to: dst.addr,
          batchKeys: Number(flags.batch),
          pipeline: Number(flags.pipeline),
          timeoutMs: 30_000,
        });
        const seconds = (performance.now() - t0) / 1000;
        if (load) await stopLoad(loads.splice(0));
        const [left, arrived] = [await dbsize(src.addr), await dbsize(dst.addr)];
        if (!r.done || left !== 0 || arrived !== KEYS) {
          throw new Error(`run failed: ${JSON.stringify(r)} source left ${left}, target has ${arrived}`);
        }
        const row = { load, run, seconds, keysPerSec: Math.round(KEYS / seconds), batches: r.batches };
        rows.push(row);
        console.log(
          `${load ? "with load   " : "without load"} run ${run}: ${KEYS} keys in ${seconds.toFixed(3)} s = ` +
            `${(row.keysPerSec / 1000).toFixed(1)}k keys/s (${r.batches} MIGRATE batches)`,
        );
      }
    }
    for (const load of modes) {
      const rs = rows.filter((r) => r.load === load).map((r) => r.keysPerSec).sort((a, b) => a - b);
      const med = rs[Math.floor(rs.length / 2)];
      console.log(
        `median ${load ? "with load" : "without load"}: ${(med / 1000).toFixed(1)}k keys/s, ` +
          `${(KEYS / med).toFixed(3)} s for ${KEYS} keys (Codis 3.2 semi-async: ~170k keys/s, 0.29 s)`,
      );
    }
    console.log(`load average at the end ${loadAvg()}`);
    if (flags.json) console.log(JSON.stringify(rows));
  } finally {
    await stopLoad(loads);
    await src.stop();
    await dst.stop();
  }
}

await main();
