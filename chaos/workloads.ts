/**
 * The clients: each one loops over the proxies' RESP ports, issuing register (GET, SET, CAS by Lua), counter (INCR)
 * and set (SADD) operations on a small rotating key space, and records each one in the history. Register keys rotate
 * every few seconds so that no key's history grows beyond what the linearizability search handles.
 * @module
 */
import type { History, Op, Workload } from "./history.ts";
import { type Reply, ReplyError, RespClient, UnknownOutcome } from "./resp.ts";
import type { Rng } from "./rng.ts";

/** Compare-and-set in one script: applies the write only when the key holds the expected value. */
const CAS_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end " +
  "return 0";

/** Workload settings. */
export interface WorkloadOptions {
  clients: number;
  /** Per-request deadline: past it the outcome is unknown. */
  timeoutMs: number;
  /** Pause between a client's operations (keeps the load modest on a shared machine). */
  thinkMs: number;
  registerKeys: number;
  counterKeys: number;
  setKeys: number;
  /** How long a generation of register keys is used. */
  rotateMs: number;
}

/** Default settings. */
export const WORKLOAD_DEFAULTS: WorkloadOptions = {
  clients: 6,
  timeoutMs: 1500,
  thinkMs: 10,
  registerKeys: 6,
  counterKeys: 3,
  setKeys: 3,
  rotateMs: 15_000,
};

/** The keys a generation of the workload uses (for the migrate nemesis to aim at). */
export function liveKeys(opts: WorkloadOptions, nowMs: number): string[] {
  const gen = Math.floor(nowMs / opts.rotateMs);
  return [
    ...Array.from({ length: opts.registerKeys }, (_, i) => `reg:${gen}:${i}`),
    ...Array.from({ length: opts.counterKeys }, (_, i) => `ctr:${i}`),
    ...Array.from({ length: opts.setKeys }, (_, i) => `set:${i}`),
  ];
}

/** Every counter and set key (for the final reads). */
export function finalKeys(opts: WorkloadOptions): { counters: string[]; sets: string[] } {
  return {
    counters: Array.from({ length: opts.counterKeys }, (_, i) => `ctr:${i}`),
    sets: Array.from({ length: opts.setKeys }, (_, i) => `set:${i}`),
  };
}

function describe(r: Reply): string {
  if (r instanceof ReplyError) return r.message;
  return JSON.stringify(r);
}

/** Runs `args` through `client` and fills in the op's outcome from the reply via `interpret`. */
async function perform(
  h: History,
  client: RespClient,
  op: Op,
  args: string[],
  timeoutMs: number,
  interpret: (r: Reply) => Op["result"] | typeof BAD,
): Promise<Op> {
  op.start = h.now();
  try {
    const reply = await client.call(args, timeoutMs);
    op.end = h.now();
    if (reply instanceof ReplyError) {
      // Refused by the proxy or Redis; for a write it may still have reached Redis before the error (a backend
      // connection lost after sending), so writes that fail are checked as unknown (see checker.ts).
      op.outcome = "fail";
      op.error = reply.message;
    } else {
      const v = interpret(reply);
      if (v === BAD) {
        op.outcome = "fail";
        op.error = `unexpected reply ${describe(reply)}`;
      } else {
        op.outcome = "ok";
        op.result = v;
      }
    }
  } catch (e) {
    op.end = h.now();
    op.outcome = "unknown";
    op.error = e instanceof UnknownOutcome ? e.message : String(e);
  }
  h.ops.push(op);
  return op;
}

const BAD = Symbol("bad reply");

/** Runs the clients until `stop` resolves; returns when every client has finished its current operation. */
export async function runClients(
  h: History,
  proxies: string[],
  rng: Rng,
  opts: WorkloadOptions,
  stop: Promise<void>,
): Promise<void> {
  let stopped = false;
  stop.then(() => stopped = true);
  const clients = Array.from({ length: opts.clients }, (_, id) => clientLoop(id, rng.fork()));
  await Promise.all(clients);

  async function clientLoop(id: number, r: Rng): Promise<void> {
    let proxyIndex = id % proxies.length;
    const connect = () => new RespClient(proxies[proxyIndex].split(":")[0], Number(proxies[proxyIndex].split(":")[1]));
    let conn = connect();
    let previous: Op | undefined;
    const lastSeen = new Map<string, string>();
    let seq = 0;
    try {
      while (!stopped) {
        // A client whose proxy refuses connections (killed, not restarted yet) moves on to the next one, as a
        // client with a proxy list would; timeouts do not move it (the proxy may only be slow).
        if (previous?.outcome === "unknown" && /refused/i.test(previous.error ?? "")) {
          conn.close();
          proxyIndex = (proxyIndex + 1) % proxies.length;
          conn = connect();
        }
        const addr = proxies[proxyIndex];
        const gen = Math.floor(h.now() / opts.rotateMs);
        const pick = r.next();
        const workload: Workload = pick < 0.6 ? "register" : pick < 0.8 ? "counter" : "set";
        const base = { client: id, workload, start: 0, end: 0, outcome: "unknown" as const, proxy: addr };
        if (workload === "register") {
          const key = `reg:${gen}:${r.int(0, opts.registerKeys - 1)}`;
          const kind = r.next();
          if (kind < 0.4) {
            const op = previous = await perform(
              h,
              conn,
              { ...base, f: "get", key },
              ["GET", key],
              opts.timeoutMs,
              (rep) => {
                if (rep === null || typeof rep === "string") return rep;
                return BAD;
              },
            );
            if (op.outcome === "ok" && typeof op.result === "string") lastSeen.set(key, op.result);
          } else if (kind < 0.7 || !lastSeen.has(key)) {
            const value = `${id}.${++seq}`;
            previous = await perform(
              h,
              conn,
              { ...base, f: "put", key, value },
              ["SET", key, value],
              opts.timeoutMs,
              (rep) => {
                return rep === "OK" ? true : BAD;
              },
            );
            lastSeen.set(key, value);
          } else {
            const expect = lastSeen.get(key)!;
            const value = `${id}.${++seq}`;
            const args = ["EVAL", CAS_SCRIPT, "1", key, expect, value];
            const op = previous = await perform(
              h,
              conn,
              { ...base, f: "cas", key, value, expect },
              args,
              opts.timeoutMs,
              (rep) => {
                return rep === 1 ? true : rep === 0 ? false : BAD;
              },
            );
            if (op.outcome === "ok" && op.result === true) lastSeen.set(key, value);
          }
        } else if (workload === "counter") {
          const key = `ctr:${r.int(0, opts.counterKeys - 1)}`;
          previous = await perform(h, conn, { ...base, f: "incr", key }, ["INCR", key], opts.timeoutMs, (rep) => {
            return typeof rep === "number" ? rep : BAD;
          });
        } else {
          const key = `set:${r.int(0, opts.setKeys - 1)}`;
          const value = `${id}.${++seq}`;
          previous = await perform(
            h,
            conn,
            { ...base, f: "sadd", key, value },
            ["SADD", key, value],
            opts.timeoutMs,
            (rep) => {
              return typeof rep === "number" ? rep === 1 : BAD;
            },
          );
        }
        if (opts.thinkMs > 0) await new Promise((res) => setTimeout(res, opts.thinkMs));
      }
    } finally {
      conn.close();
    }
  }
}

/**
 * Reads every counter and set once the faults are healed, through each proxy in turn until one answers (bounded:
 * `attempts` rounds). A read that never succeeds is recorded as unknown, and the checker says so.
 */
export async function finalReads(
  h: History,
  proxies: string[],
  opts: WorkloadOptions,
  attempts = 30,
): Promise<void> {
  const { counters, sets } = finalKeys(opts);
  const conns = proxies.map((a) => new RespClient(a.split(":")[0], Number(a.split(":")[1])));
  try {
    for (const [workload, keys] of [["counter", counters], ["set", sets]] as const) {
      for (const key of keys) {
        let op: Op | undefined;
        for (let i = 0; i < attempts; i++) {
          const conn = conns[i % conns.length];
          const args = workload === "counter" ? ["GET", key] : ["SMEMBERS", key];
          const base = {
            client: -1,
            workload,
            f: "read" as const,
            key,
            start: 0,
            end: 0,
            outcome: "unknown" as const,
            proxy: `${conn.host}:${conn.port}`,
            final: true,
          };
          op = await perform(h, conn, base, args, 3000, (rep) => {
            if (workload === "counter") return rep === null ? 0 : typeof rep === "string" ? Number(rep) : BAD;
            return Array.isArray(rep) && rep.every((x) => typeof x === "string") ? rep as string[] : BAD;
          });
          if (op.outcome === "ok") break;
          await new Promise((res) => setTimeout(res, 1000));
        }
      }
    }
  } finally {
    for (const c of conns) c.close();
  }
}
