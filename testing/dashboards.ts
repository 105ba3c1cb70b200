/**
 * Real `cli/codis-dashboard.ts` processes for tests of the embedded Raft store: N founding members on free loopback
 * ports with temp data dirs, plus members started later with `--join`. Each member can be SIGKILLed and started
 * again with the same command line and data dir. Every process's stderr goes to `{root}/n{id}.log` (appended
 * across restarts) so that a failure can show the members' own log lines.
 * Unlike dashboard.ts (API tests: `call()`, `xauth`, groups, sentinels), members here restart, join and log to files.
 * @module
 */
import type { RaftStatusJson } from "../models/mod.ts";
import { freePort } from "./ports.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** `/api/topom/raft/status`'s shape, re-exported so that process tests take it from the same place as the helpers. */
export type { RaftStatusJson } from "../models/mod.ts";

/** One dashboard process (or the slot for one, while it is stopped). */
export class DashboardProc {
  private child: Deno.ChildProcess | undefined;
  private done: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: number,
    /** HTTP address (admin_addr), also the store's address. */
    readonly admin: string,
    /** Raft peer address. */
    readonly raft: string,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly args: string[],
    /** Secrets (CODIS_PRODUCT_AUTH, CODIS_CLUSTER_SECRET) for the environment instead of the arguments. */
    private readonly secretEnv: Record<string, string> = {},
  ) {}

  /** Whether the process is running. */
  get alive(): boolean {
    return this.child !== undefined;
  }

  /** Spawns the process (same command line every time); a no-op while it runs. */
  start(): void {
    if (this.child) return;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${ROOT}cli/codis-dashboard.ts`, ...this.args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", ...this.secretEnv },
    }).spawn();
    const file = Deno.openSync(this.logFile, { append: true, create: true });
    // pipeTo closes the file when the process's stderr ends; awaited in kill() so no resource outlives the test.
    const piped = child.stderr.pipeTo(file.writable).catch(() => {});
    this.child = child;
    this.done = Promise.all([child.status, piped]).finally(() => {
      if (this.child === child) this.child = undefined;
    });
  }

  /** Sends `signal` (SIGKILL by default) and waits for the exit and the end of its log. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child) return;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await this.done;
    this.child = undefined;
  }

  /** The member's Raft status, or undefined when it does not answer. */
  async status(timeoutMs = 2000): Promise<RaftStatusJson | undefined> {
    try {
      const r = await fetch(`http://${this.admin}/api/topom/raft/status`, { signal: AbortSignal.timeout(timeoutMs) });
      if (r.status !== 200) {
        await r.body?.cancel();
        return undefined;
      }
      return await r.json();
    } catch {
      return undefined;
    }
  }

  /** The last `n` lines of this member's log. */
  tail(n = 30): string {
    try {
      return Deno.readTextFileSync(this.logFile).trimEnd().split("\n").slice(-n).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

/** A set of dashboard processes forming (or joining) one Raft group. */
export interface DashboardSet {
  root: string;
  product: string;
  /** product_auth, as codis-admin's `--auth` takes it. */
  auth: string;
  /** cluster_secret: signs the store's HTTP routes. */
  secret: string;
  /** Every member ever started, by id (killed ones stay listed). */
  nodes: Map<number, DashboardProc>;
  /** Starts a new member with the next id and `--join` (empty, waiting for raft/add); waits until it answers. */
  join(): Promise<DashboardProc>;
  /** Waits (bounded) until a running member reports itself leader and every running member in `among` agrees. */
  leader(ms?: number, among?: DashboardProc[]): Promise<DashboardProc>;
  /** Polls `node`'s status until `pred` holds; throws naming `what` after `ms`. */
  until(node: DashboardProc, pred: (s: RaftStatusJson) => boolean, what: string, ms?: number): Promise<RaftStatusJson>;
  /** Every member's log tail, for failure messages. */
  logs(lines?: number): string;
  /** Kills every process and removes the temp dir (kept when `keep`, e.g. after a failure). */
  stop(keep?: boolean): Promise<void>;
}

/** Options of {@link startDashboards}. */
export interface DashboardSetOptions {
  n?: number;
  product?: string;
  auth?: string;
  secret?: string;
  /** `--log-level` of the children (default INFO: the logs are files, read only on failure). */
  logLevel?: string;
  /** Extra flags for every member. */
  extra?: string[];
}

/**
 * Starts `n` (default 3) founding members with `--raft_peers` naming all of them and waits until each answers its
 * status route. On failure everything started is killed.
 */
export async function startDashboards(opts: DashboardSetOptions = {}): Promise<DashboardSet> {
  const n = opts.n ?? 3;
  const product = opts.product ?? "store-proc";
  const auth = opts.auth ?? "pw";
  const secret = opts.secret ?? crypto.randomUUID();
  const root = await Deno.makeTempDir({ prefix: "codis-dashboards-" });
  const nodes = new Map<number, DashboardProc>();
  const make = (id: number) => {
    const admin = `127.0.0.1:${freePort()}`;
    const raft = `127.0.0.1:${freePort()}`;
    const dataDir = `${root}/n${id}`;
    const args = [
      `--product_name=${product}`,
      `--admin_addr=${admin}`,
      `--raft_id=${id}`,
      `--raft_addr=${raft}`,
      `--data_dir=${dataDir}`,
      `--log-level=${opts.logLevel ?? "INFO"}`,
      ...(opts.extra ?? []),
    ];
    // The args stay open until start(): founders get --raft_peers once every founder has its ports.
    // Secrets by environment, not arguments (util/secrets.ts), as an operator should pass them.
    const env = { CODIS_PRODUCT_AUTH: auth, CODIS_CLUSTER_SECRET: secret };
    return { d: new DashboardProc(id, admin, raft, dataDir, `${root}/n${id}.log`, args, env), args };
  };
  const founders = Array.from({ length: n }, (_, i) => make(i + 1));
  const peers = founders.map(({ d }) => `${d.id}=${d.raft}`).join(",");
  for (const f of founders) {
    f.args.push(`--raft_peers=${peers}`, "--raft_bootstrap=new");
    nodes.set(f.d.id, f.d);
  }

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
  const set: DashboardSet = {
    root,
    product,
    auth,
    secret,
    nodes,
    async join() {
      const id = Math.max(0, ...nodes.keys()) + 1;
      const { d, args } = make(id);
      args.push("--join");
      nodes.set(id, d);
      d.start();
      await until(d, () => true, "the joining member to answer");
      return d;
    },
    async leader(ms = 20_000, among?: DashboardProc[]) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const live = [...nodes.values()].filter((d) => d.alive);
        const sts = await Promise.all((among ?? live).filter((d) => d.alive).map((d) => d.status(1000)));
        const l = sts.find((s) => s?.role === "leader");
        if (l && sts.every((s) => s?.leader === l.id)) return nodes.get(l.id)!;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no agreed leader within ${ms} ms\n${set.logs(10)}`);
    },
    until,
    logs(lines = 30) {
      return [...nodes.values()].map((d) => `--- node ${d.id} (${d.logFile})\n${d.tail(lines)}`).join("\n");
    },
    async stop(keep = false) {
      await Promise.all([...nodes.values()].map((d) => d.kill()));
      if (!keep) await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
  try {
    for (const { d } of founders) d.start();
    for (const { d } of founders) await until(d, () => true, "the member to answer", 30_000);
    return set;
  } catch (e) {
    await set.stop(true);
    throw new Error(`${(e as Error).message} (logs in ${root})`);
  }
}
