/**
 * One `cli/codis-dashboard.ts` child process for tests: the one way tests start, stop, restart and query a dashboard.
 * A Raft group of them is {@link startDashboards} in dashboard.ts.
 * @module
 */
import type { RaftStatusJson } from "../models/mod.ts";
import { freePort } from "./ports.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The Raft cluster secret of every dashboard this test process spawns unless told otherwise: random, so never guessable. */
export const CLUSTER_SECRET: string = crypto.randomUUID();

/** `/api/topom/raft/status`'s shape, re-exported so that process tests take it from the same place as the helpers. */
export type { RaftStatusJson } from "../models/mod.ts";

/** An API call's answer: status and the body parsed as JSON (the text when it is not JSON). */
// deno-lint-ignore no-explicit-any
export type ApiAnswer = { status: number; json: any };

/**
 * Calls the API of the dashboard at `addr` (over HTTPS when `client` is given); returns status and parsed JSON.
 */
export async function callDashboard(
  addr: string,
  method: "GET" | "PUT",
  path: string,
  body?: unknown,
  o: { client?: Deno.HttpClient; timeoutMs?: number } = {},
): Promise<ApiAnswer> {
  const res = await fetch(`${o.client ? "https" : "http"}://${addr}${path}`, {
    client: o.client,
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { "content-type": "application/json" },
    signal: o.timeoutMs === undefined ? undefined : AbortSignal.timeout(o.timeoutMs),
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
}

/** How to start one dashboard; see {@link DashboardProc}. */
export interface DashboardProcOptions {
  /** Raft id (default 1). */
  id?: number;
  /** admin_addr (default a free loopback port). */
  admin?: string;
  /** raft_addr (default a free loopback port). */
  raft?: string;
  product: string;
  /** product_auth (default none). */
  auth?: string;
  /** cluster_secret (default {@link CLUSTER_SECRET}). */
  secret?: string;
  dataDir: string;
  /** `--raft_peers` (left out when undefined). */
  peers?: string;
  /** `--raft_bootstrap=new`: a founder of a new group. */
  bootstrap?: boolean;
  /** `--join`: a new member that waits for `raft/add`. */
  join?: boolean;
  /** `--log-level` (default `$DASH_LOG` or WARN). */
  logLevel?: string;
  /** Where stderr is appended (across restarts); inherited when undefined. */
  logFile?: string;
  /** Flags appended last (later flags win). */
  extra?: string[];
  /** For dashboards serving their API over HTTPS: a client trusting their CA. */
  httpClient?: Deno.HttpClient;
}

/** One dashboard process (or the place of one, while it is stopped): same command line at every start. */
export class DashboardProc {
  readonly id: number;
  /** HTTP address (admin_addr), also the store's address. */
  readonly admin: string;
  /** Raft peer address. */
  readonly raft: string;
  readonly dataDir: string;
  readonly logFile: string | undefined;
  private readonly args: string[];
  private readonly env: Record<string, string>;
  private readonly client: Deno.HttpClient | undefined;
  private child: Deno.ChildProcess | undefined;
  private done: Promise<unknown> = Promise.resolve();

  constructor(o: DashboardProcOptions) {
    this.id = o.id ?? 1;
    this.admin = o.admin ?? `127.0.0.1:${freePort()}`;
    this.raft = o.raft ?? `127.0.0.1:${freePort()}`;
    this.dataDir = o.dataDir;
    this.logFile = o.logFile;
    this.client = o.httpClient;
    this.args = [
      `--product_name=${o.product}`,
      `--admin_addr=${this.admin}`,
      `--raft_id=${this.id}`,
      `--raft_addr=${this.raft}`,
      ...(o.peers === undefined ? [] : [`--raft_peers=${o.peers}`]),
      ...(o.bootstrap ? ["--raft_bootstrap=new"] : []),
      ...(o.join ? ["--join"] : []),
      `--data_dir=${o.dataDir}`,
      `--log-level=${o.logLevel ?? Deno.env.get("DASH_LOG") ?? "WARN"}`,
      ...(o.extra ?? []),
    ];
    // Secrets by environment, not arguments (util/secrets.ts), as an operator should pass them.
    this.env = { NO_COLOR: "1", CODIS_PRODUCT_AUTH: o.auth ?? "", CODIS_CLUSTER_SECRET: o.secret ?? CLUSTER_SECRET };
  }

  /** A new dashboard, started. */
  static spawn(o: DashboardProcOptions): DashboardProc {
    const d = new DashboardProc(o);
    d.start();
    return d;
  }

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
      stderr: this.logFile ? "piped" : "inherit",
      env: this.env,
    }).spawn();
    let piped: Promise<unknown> = Promise.resolve();
    if (this.logFile) {
      const file = Deno.openSync(this.logFile, { append: true, create: true });
      // pipeTo closes the file when the process's stderr ends; awaited in kill() so no resource outlives the test.
      piped = child.stderr.pipeTo(file.writable).catch(() => {});
    }
    this.child = child;
    this.done = Promise.all([child.status, piped]).finally(() => {
      if (this.child === child) this.child = undefined;
    });
  }

  /** Sends `signal` (SIGKILL by default) and waits for the exit (and the end of its log). */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child) return;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await this.done;
    this.child = undefined;
  }

  /** Whether the process exits within `ms`. */
  async exited(ms: number): Promise<boolean> {
    if (!this.child) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms));
    try {
      return await Promise.race([this.done.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls this dashboard's API; returns status and parsed JSON. */
  call(method: "GET" | "PUT", path: string, body?: unknown, timeoutMs?: number): Promise<ApiAnswer> {
    return callDashboard(this.admin, method, path, body, { client: this.client, timeoutMs });
  }

  /** The member's Raft status, or undefined when it does not answer. */
  async status(timeoutMs = 2000): Promise<RaftStatusJson | undefined> {
    const r = await this.call("GET", "/api/topom/raft/status", undefined, timeoutMs).catch(() => undefined);
    return r?.status === 200 ? r.json : undefined;
  }

  /** Whether its API serves the model (it answers 503 until the model is loaded). */
  async serves(timeoutMs = 2000): Promise<boolean> {
    const r = await this.call("GET", "/api/topom/model", undefined, timeoutMs).catch(() => undefined);
    return r?.status === 200;
  }

  /** The last `n` lines of this member's log. */
  tail(n = 30): string {
    if (!this.logFile) return "(log inherited)";
    try {
      return Deno.readTextFileSync(this.logFile).trimEnd().split("\n").slice(-n).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
