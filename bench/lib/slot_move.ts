/**
 * One timed slot move on a running local cluster (examples/cluster.ts), for bench/cluster_migration_bench.ts:
 * fill a slot with keys sharing a hash tag, create the slot action (dashboard HTTP API or codis-admin), watch the
 * leader's `/topom/stats` until the slot is on the target group with no action, and read the dashboard log for
 * when each step was written and how long the executor's data transfer took.
 * @module
 */
import type { Cluster } from "../../examples/cluster.ts";
import { slotOf } from "../../models/hash.ts";
import { newXAuth } from "../../util/xauth.ts";
import { connectRedis } from "./client_load.ts";
import { clockTicks, treeTicks } from "./cpu.ts";

/** A hash tag whose keys `{tag}:i` all land in `slot`. */
export function tagForSlot(slot: number): string {
  const enc = new TextEncoder();
  for (let i = 0; i < 1_000_000; i++) {
    const tag = `t${i}`;
    if (slotOf(enc.encode(`{${tag}}`)) === slot) return tag;
  }
  throw new Error(`no tag found for slot ${slot}`);
}

/** The key name scheme of a filled slot. */
export const slotKey = (tag: string) => (i: number) => `{${tag}}:${i}`;

/** Writes `n` keys with 16-byte values straight into database `slot` of `master`, pipelined. */
export async function fillSlot(master: string, slot: number, tag: string, n: number): Promise<void> {
  const r = await connectRedis(master, slot);
  try {
    const key = slotKey(tag);
    for (let i = 0; i < n; i += 2000) {
      const p = r.pipeline();
      for (let j = i; j < Math.min(n, i + 2000); j++) p.set(key(j), "vvvvvvvvvvvvvvvv");
      await p.exec();
    }
  } finally {
    r.disconnect();
  }
}

/** DBSIZE of database `db` on `addr`. */
export async function dbsize(addr: string, db: number): Promise<number> {
  const r = await connectRedis(addr, db);
  try {
    return await r.dbsize();
  } finally {
    r.disconnect();
  }
}

async function http(method: string, addr: string, path: string): Promise<unknown> {
  const res = await fetch(`http://${addr}${path}`, { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The admin xauth of the cluster's product (Codis's rule), for `/api/topom/...` routes. */
export const clusterXAuth = (c: Cluster) => newXAuth(c.productName, c.productAuth);

/** Index in `c.dashboards` of the Raft leader, asked of any live dashboard. */
export async function leaderIndex(c: Cluster): Promise<number> {
  for (const d of c.dashboards) {
    try {
      const st = await http("GET", d.addr, "/api/topom/raft/status") as { leader: number };
      if (st.leader > 0) return st.leader - 1;
    } catch { /* next */ }
  }
  throw new Error("no raft leader");
}

/** Sets the log level of every dashboard (the route acts on the addressed node only). */
export async function setDashboardLogLevel(c: Cluster, level: string): Promise<void> {
  for (const d of c.dashboards) await http("PUT", d.addr, `/api/topom/loglevel/${clusterXAuth(c)}/${level}`);
}

/** Milliseconds from the create request to each event; NaN when not seen. */
export interface MoveTimes {
  slot: number;
  via: "http" | "cli";
  keys: number;
  /** The create call returned (HTTP reply, or codis-admin exited). */
  acceptedMs: number;
  /** The slot was seen on the target group with no action state (stats polled every pollMs). */
  totalMs: number;
  /** First time stats showed each state (polled). */
  seen: Record<string, number>;
  /** The dashboard that led when the action was created (its name in the cluster: its log file's name). */
  leader: string;
  /** CPU ms used from the create request to done by: leader (dashboard), src and dst (masters), proxies (all). */
  cpuMs: Record<string, number>;
  /** When the leader logged each step write (`slot-[S] → state`, debug level); see {@link addLogTimes}. */
  logged: Record<string, number>;
  /** The executor's own figures: keys it moved and its elapsed time. */
  executorMoved: number;
  executorMs: number;
  /** Wall-clock (Date.now()) time of the create request, and of the end, for log slicing and latency windows. */
  wallStart: number;
  perfStart: number;
  perfEnd: number;
}

type Mapping = { id: number; group_id: number; action: { state?: string } };

/**
 * Creates the action moving `slot` to `gid` and waits (bounded by `timeoutMs`) until it is done. The HTTP request
 * goes to the leader itself, so no forwarding hop is timed.
 */
export async function moveSlot(
  c: Cluster,
  o: { slot: number; gid: number; keys: number; via: "http" | "cli"; pollMs: number; timeoutMs: number },
): Promise<MoveTimes> {
  const leader = c.dashboards[await leaderIndex(c)];
  const seen: Record<string, number> = {};
  // CPU time of the processes that do the move, from /proc (10 ms ticks): where the transfer's time goes.
  const pids: Record<string, number | undefined> = {
    leader: leader.proc?.pid,
    src: c.redis.find((r) => r.addr === c.groups.get(o.gid === 1 ? 2 : 1)![0])?.proc?.pid,
    dst: c.redis.find((r) => r.addr === c.groups.get(o.gid)![0])?.proc?.pid,
  };
  const ticks = () => {
    const t: Record<string, number> = {};
    for (const [k, pid] of Object.entries(pids)) if (pid) t[k] = treeTicks(pid);
    t.proxies = c.proxies.reduce((a, p) => a + (p.proc ? treeTicks(p.proc.pid) : 0), 0);
    return t;
  };
  const ticks0 = ticks();
  const wallStart = Date.now();
  const perfStart = performance.now();
  if (o.via === "http") {
    await http("PUT", leader.addr, `/api/topom/slots/action/create/${clusterXAuth(c)}/${o.slot}/${o.gid}`);
  } else {
    await c.admin(["--slot-action", "--create", `--sid=${o.slot}`, `--gid=${o.gid}`], leader.addr);
  }
  const acceptedMs = performance.now() - perfStart;
  let perfEnd = NaN;
  while (performance.now() - perfStart < o.timeoutMs) {
    const stats = await http("GET", leader.addr, "/topom/stats") as { slots: Mapping[] };
    const m = stats.slots[o.slot];
    const now = performance.now() - perfStart;
    const state = m.action.state || (m.group_id === o.gid ? "done" : "");
    if (state && seen[state] === undefined) seen[state] = now;
    if (state === "done") {
      perfEnd = perfStart + now;
      break;
    }
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
  const ticks1 = ticks();
  const cpuMs: Record<string, number> = {};
  for (const k of Object.keys(ticks1)) cpuMs[k] = ((ticks1[k] - ticks0[k]) * 1000) / clockTicks();
  if (Number.isNaN(perfEnd)) {
    throw new Error(`slot ${o.slot} not moved within ${o.timeoutMs} ms: ${JSON.stringify(seen)}`);
  }
  return {
    slot: o.slot,
    via: o.via,
    keys: o.keys,
    acceptedMs,
    totalMs: perfEnd - perfStart,
    seen,
    leader: leader.name,
    cpuMs,
    logged: {},
    executorMoved: NaN,
    executorMs: NaN,
    wallStart,
    perfStart,
    perfEnd,
  };
}

/**
 * Fills in `logged`, `executorMoved` and `executorMs` of each move from the dashboards' logs in `dataDir`. The cluster
 * pipes each child's stderr into its log file, and the file is only complete once the cluster has stopped: call
 * this after `stop(true)`. Every dashboard's log is read, in case the leader changed during a move.
 */
export async function addLogTimes(moves: MoveTimes[], dataDir: string, dashboards: string[]): Promise<void> {
  const logs = await Promise.all(dashboards.map((d) => Deno.readTextFile(`${dataDir}/${d}.log`).catch(() => "")));
  for (const m of moves) {
    for (const log of logs) {
      const r = parseDashboardLog(log, m.slot, m.wallStart);
      m.logged = { ...r.logged, ...m.logged };
      if (Number.isFinite(r.executorMs)) [m.executorMoved, m.executorMs] = [r.executorMoved, r.executorMs];
    }
  }
}

/**
 * Picks, from a dashboard log, the step writes of `slot` (`[topom] slot-[S] → state`) logged at or after `since`
 * (ms since the epoch) as offsets from `since`, and the executor's `slot S A → B moved K keys in X ms`.
 */
export function parseDashboardLog(
  log: string,
  slot: number,
  since: number,
): { logged: Record<string, number>; executorMoved: number; executorMs: number } {
  const logged: Record<string, number> = {};
  let executorMoved = NaN;
  let executorMs = NaN;
  const step = new RegExp(`^\\[topom\\] slot-\\[${slot}\\] → (\\w+)$`);
  const moved = new RegExp(`^\\[executor\\] slot ${slot} \\S+ → \\S+ moved (\\d+) keys in (\\d+(?:\\.\\d+)?) ms$`);
  for (const line of log.split("\n")) {
    const sp = line.indexOf(" ");
    const at = Date.parse(line.slice(0, sp));
    if (!(at >= since - 5)) continue;
    const rest = line.slice(line.indexOf(" ", sp + 1) + 1);
    const s = rest.match(step);
    if (s && logged[s[1]] === undefined) logged[s[1]] = at - since;
    const m = rest.match(moved);
    if (m) {
      executorMoved = Number(m[1]);
      executorMs = Number(m[2]);
      logged["executor-done"] = at - since;
    }
  }
  return { logged, executorMoved, executorMs };
}
