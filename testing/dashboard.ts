/**
 * codis-dashboard child processes for tests: a Raft group of N dashboards started from the CLI, with helpers to
 * call their API and find the leader.
 * Unlike dashboards.ts (store tests: restartable members, `--join`, log files), this serves API tests: call, xauth.
 * @module
 */
import { equal } from "node:assert/strict";
import { newXAuth } from "../util/xauth.ts";
import { freePort, waitForPort } from "./ports.ts";

const DENO = Deno.execPath();
const CLI = new URL("../cli/codis-dashboard.ts", import.meta.url).pathname;

/** The Raft cluster secret of every dashboard this test process spawns: random, so never guessable. */
export const CLUSTER_SECRET: string = crypto.randomUUID();

/** One dashboard process. */
export interface DashboardProcess {
  id: number;
  admin: string;
  raft: string;
  kill(signal?: Deno.Signal): Promise<void>;
  alive(): boolean;
}

/** Spawns one dashboard with the test's Raft settings (not waiting for it to listen). */
export function spawnDashboard(
  s: { id: number; admin: string; raft: string },
  o: { product: string; auth: string; root: string; peers: string; extra?: string[] },
): DashboardProcess {
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      CLI,
      `--product_name=${o.product}`,
      `--admin_addr=${s.admin}`,
      `--raft_id=${s.id}`,
      `--raft_addr=${s.raft}`,
      `--raft_peers=${o.peers}`,
      "--raft_bootstrap=new",
      `--data_dir=${o.root}/n${s.id}`,
      "--log-level=" + (Deno.env.get("DASH_LOG") ?? "WARN"),
      ...(o.extra ?? []),
    ],
    // Secrets by environment, not arguments (util/secrets.ts), as an operator should pass them.
    env: { CODIS_PRODUCT_AUTH: o.auth, CODIS_CLUSTER_SECRET: CLUSTER_SECRET },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let alive = true;
  const status = child.status.then((st) => {
    alive = false;
    return st;
  });
  return {
    ...s,
    alive: () => alive,
    async kill(signal: Deno.Signal = "SIGKILL") {
      if (!alive) return;
      try {
        child.kill(signal);
      } catch { /* gone */ }
      await status;
    },
  };
}

/** A running group. */
export interface DashboardGroup {
  product: string;
  auth: string;
  xauth: string;
  root: string;
  /** `raft_peers` of the founding members. */
  peers: string;
  nodes: DashboardProcess[];
  /** Waits until some live node reports itself Raft leader; returns it. */
  leader(ms?: number): Promise<DashboardProcess>;
  /** Calls the API of `addr`; returns status and parsed JSON. */
  // deno-lint-ignore no-explicit-any
  call(addr: string, method: "GET" | "PUT", path: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

/**
 * Starts `n` dashboards forming one Raft group (extra flags appended to each). With `httpsCa` (a CA's PEM) their API
 * is called over HTTPS, trusting that CA: for dashboards started with admin_tls_* in `extra`.
 */
export async function startDashboards(
  opts: { n?: number; product?: string; auth?: string; extra?: string[]; httpsCa?: string } = {},
): Promise<DashboardGroup> {
  const n = opts.n ?? 3;
  const product = opts.product ?? "test-product";
  const auth = opts.auth ?? "";
  const root = await Deno.makeTempDir({ prefix: "codis-dash-" });
  const specs = Array.from(
    { length: n },
    (_, i) => ({ id: i + 1, admin: `127.0.0.1:${freePort()}`, raft: `127.0.0.1:${freePort()}` }),
  );
  const peers = specs.map((s) => `${s.id}=${s.raft}`).join(",");
  const nodes: DashboardProcess[] = [];
  for (const s of specs) nodes.push(spawnDashboard(s, { product, auth, root, peers, extra: opts.extra }));
  for (const s of specs) await waitForPort(Number(s.admin.split(":")[1]), 30_000);
  const client = opts.httpsCa ? Deno.createHttpClient({ caCerts: [opts.httpsCa] }) : undefined;
  const call = async (addr: string, method: "GET" | "PUT", path: string, body?: unknown) => {
    const res = await fetch(`${client ? "https" : "http"}://${addr}${path}`, {
      client,
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { "content-type": "application/json" },
    });
    const text = await res.text();
    // deno-lint-ignore no-explicit-any
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  };
  // Every node has loaded the model (the API answers 503 until then).
  for (const d of nodes) {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const m = await call(d.admin, "GET", "/api/topom/model").catch(() => undefined);
      if (m?.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const group: DashboardGroup = {
    product,
    auth,
    xauth: newXAuth(product, auth),
    root,
    peers,
    nodes,
    call,
    async leader(ms = 15_000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        for (const d of nodes) {
          if (!d.alive()) continue;
          const r = await call(d.admin, "GET", "/api/topom/raft/status").catch(() => undefined);
          if (r?.status !== 200 || r.json.role !== "leader") continue;
          const m = await call(d.admin, "GET", "/api/topom/model").catch(() => undefined);
          if (m?.status === 200) return d;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("no dashboard leader");
    },
    async stop() {
      for (const d of nodes) await d.kill("SIGKILL");
      client?.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
  return group;
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
