/**
 * A Raft group of codis-dashboard child processes for tests ({@link DashboardProc}s): start it, call the API, find
 * the leader, add members with `--join`, restart members; plus groups set up through the API and sentinels.
 * @module
 */
import { equal } from "node:assert/strict";
import { newXAuth } from "../util/xauth.ts";
import { freePort, waitForPort } from "./ports.ts";
import { type ApiAnswer, callDashboard, CLUSTER_SECRET, DashboardProc, type RaftStatusJson } from "./dashboard_proc.ts";

export { type ApiAnswer, CLUSTER_SECRET, DashboardProc, type RaftStatusJson } from "./dashboard_proc.ts";

/** A running group. */
export interface DashboardGroup {
  product: string;
  /** product_auth, as codis-admin's `--auth` takes it. */
  auth: string;
  xauth: string;
  /** cluster_secret: signs the store's HTTP routes. */
  secret: string;
  root: string;
  /** `raft_peers` of the founding members. */
  peers: string;
  /** Every member ever started, founders first (killed ones stay listed). */
  nodes: DashboardProc[];
  /** Calls the API of `addr`; returns status and parsed JSON. */
  call(addr: string, method: "GET" | "PUT", path: string, body?: unknown): Promise<ApiAnswer>;
  /** Waits until some live node reports itself Raft leader and serves the model; returns it. */
  leader(ms?: number): Promise<DashboardProc>;
  /** Waits (bounded) until a running member reports itself leader and every running member in `among` agrees. */
  agreedLeader(ms?: number, among?: DashboardProc[]): Promise<DashboardProc>;
  /** Polls `node`'s status until `pred` holds; throws naming `what` after `ms`. */
  until(node: DashboardProc, pred: (s: RaftStatusJson) => boolean, what: string, ms?: number): Promise<RaftStatusJson>;
  /** Starts a new member with the next id and `--join` (empty, waiting for raft/add); waits until it answers. */
  join(): Promise<DashboardProc>;
  /** Every member's log tail, for failure messages (with `logFiles`). */
  logs(lines?: number): string;
  /** Kills every process and removes the temp dir (kept when `keep`, e.g. after a failure). */
  stop(keep?: boolean): Promise<void>;
}

/** Options of {@link startDashboards}. */
export interface DashboardGroupOptions {
  /** Founding members (default 3). */
  n?: number;
  product?: string;
  auth?: string;
  secret?: string;
  /** Extra flags for every member. */
  extra?: string[];
  /** A CA's PEM: the API is called over HTTPS trusting it (for dashboards started with admin_tls_* in `extra`). */
  httpsCa?: string;
  /** `--log-level` of the children (default `$DASH_LOG` or WARN). */
  logLevel?: string;
  /** Each member's stderr to `{root}/n{id}.log` instead of the test's stderr. */
  logFiles?: boolean;
  /** Whether to wait until every founder serves the model (default true). */
  awaitModel?: boolean;
}

/**
 * Starts `n` dashboards forming one Raft group and waits until each answers (and, unless `awaitModel` is false,
 * serves the model). On failure everything started is killed.
 */
export async function startDashboards(opts: DashboardGroupOptions = {}): Promise<DashboardGroup> {
  const n = opts.n ?? 3;
  const product = opts.product ?? "test-product";
  const auth = opts.auth ?? "";
  const secret = opts.secret ?? CLUSTER_SECRET;
  const root = await Deno.makeTempDir({ prefix: "codis-dash-" });
  const client = opts.httpsCa ? Deno.createHttpClient({ caCerts: [opts.httpsCa] }) : undefined;
  const member = (id: number, raft: string, founders?: string) =>
    new DashboardProc({
      id,
      raft,
      product,
      auth,
      secret,
      dataDir: `${root}/n${id}`,
      peers: founders,
      bootstrap: founders !== undefined,
      join: founders === undefined,
      logLevel: opts.logLevel,
      logFile: opts.logFiles ? `${root}/n${id}.log` : undefined,
      extra: opts.extra,
      httpClient: client,
    });
  const rafts = Array.from({ length: n }, () => `127.0.0.1:${freePort()}`);
  const peers = rafts.map((raft, i) => `${i + 1}=${raft}`).join(",");
  const nodes = rafts.map((raft, i) => member(i + 1, raft, peers));

  const until = async (node: DashboardProc, pred: (s: RaftStatusJson) => boolean, what: string, ms = 20_000) => {
    const deadline = Date.now() + ms;
    let last: RaftStatusJson | undefined;
    while (Date.now() < deadline) {
      last = await node.status();
      if (last && pred(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `timed out after ${ms} ms waiting for ${what} on node ${node.id}; last status ${JSON.stringify(last)}`,
    );
  };
  const group: DashboardGroup = {
    product,
    auth,
    xauth: newXAuth(product, auth),
    secret,
    root,
    peers,
    nodes,
    call: (addr, method, path, body) => callDashboard(addr, method, path, body, { client }),
    async leader(ms = 15_000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        for (const d of nodes) {
          if (!d.alive) continue;
          if ((await d.status())?.role === "leader" && await d.serves()) return d;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("no dashboard leader");
    },
    async agreedLeader(ms = 20_000, among?: DashboardProc[]) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const sts = await Promise.all((among ?? nodes).filter((d) => d.alive).map((d) => d.status(1000)));
        const l = sts.find((s) => s?.role === "leader");
        if (l && sts.every((s) => s?.leader === l.id)) return nodes.find((d) => d.id === l.id)!;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no agreed leader within ${ms} ms\n${group.logs(10)}`);
    },
    until,
    async join() {
      const id = Math.max(0, ...nodes.map((d) => d.id)) + 1;
      const d = member(id, `127.0.0.1:${freePort()}`);
      nodes.push(d);
      d.start();
      await until(d, () => true, "the joining member to answer");
      return d;
    },
    logs(lines = 30) {
      return nodes.map((d) => `--- node ${d.id} (${d.logFile ?? "stderr"})\n${d.tail(lines)}`).join("\n");
    },
    async stop(keep = false) {
      await Promise.all(nodes.map((d) => d.kill()));
      client?.close();
      if (!keep) await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
  try {
    for (const d of nodes) d.start();
    for (const d of nodes) await until(d, () => true, "the member to answer", 30_000);
    // Every node has loaded the model (the API answers 503 until then).
    for (const d of opts.awaitModel === false ? [] : nodes) {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !(await d.serves())) await new Promise((r) => setTimeout(r, 50));
    }
    return group;
  } catch (e) {
    await group.stop(true);
    throw new Error(`${(e as Error).message} (logs in ${root})`);
  }
}

/**
 * Through the API of `via`: creates group i+1 holding `servers[i]` alone for each server, and assigns all 1024 slots
 * to group 1. Asserts every call answers 200.
 */
export async function setupGroups(g: DashboardGroup, via: string, servers: { addr: string }[]): Promise<void> {
  const x = g.xauth;
  for (const [i, r] of servers.entries()) {
    equal((await g.call(via, "PUT", `/api/topom/group/create/${x}/${i + 1}`)).status, 200);
    equal((await g.call(via, "PUT", `/api/topom/group/add/${x}/${i + 1}/${r.addr}`)).status, 200);
  }
  const assign = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: 1 }));
  equal((await g.call(via, "PUT", `/api/topom/slots/assign/${x}`, assign)).status, 200);
}

/** A redis-sentinel child process; see {@link startSentinel}. */
export interface SentinelProcess {
  port: number;
  addr: string;
  /** SIGKILLs the process (config and port kept for {@link restart}); safe to call twice. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same config dir. */
  restart(): Promise<void>;
  /** Kills it and removes its config dir. */
  stop(): Promise<void>;
}

/**
 * A redis-sentinel on a free port (config in a temp dir), listening when this resolves. `extraConf(port)` is
 * appended to its config (later lines win: `port 0` and `tls-port PORT` make it a TLS-only sentinel).
 */
export async function startSentinel(extraConf: (port: number) => string = () => ""): Promise<SentinelProcess> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "codis-sentinel-" });
  await Deno.writeTextFile(`${dir}/sentinel.conf`, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n${extraConf(port)}`);
  let child: Deno.ChildProcess | undefined;
  const kill = async () => {
    const c = child;
    child = undefined;
    try {
      c?.kill("SIGKILL");
    } catch { /* gone */ }
    await c?.status;
  };
  const start = async () => {
    child = new Deno.Command("redis-server", {
      args: [`${dir}/sentinel.conf`, "--sentinel"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port);
  };
  try {
    await start();
  } catch (e) {
    await kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    port,
    addr: `127.0.0.1:${port}`,
    kill,
    restart: start,
    async stop() {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
