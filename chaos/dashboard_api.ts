/**
 * The tool's client of the dashboards' HTTP API: Raft status per dashboard, the leader, and API calls that go to any
 * running dashboard (followers forward writes to the leader) with the run's xauth.
 * @module
 */
import type { RaftStatusJson, TopomStats } from "../models/mod.ts";
import type { Proc } from "./procs.ts";
import { callDashboard } from "../testing/dashboard_proc.ts";

/** An HTTP answer that was not 2xx. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A dashboard host: its process and Raft identity. */
export interface Dashboard {
  id: number;
  proc: Proc;
  adminAddr: string;
  raftAddr: string;
  dataDir: string;
}

/** Calls to the dashboards of one run. */
export class DashboardApi {
  /** `dial` maps an advertised address to the one the tool dials (see Hosts.direct). */
  constructor(
    private readonly dashboards: () => Dashboard[],
    readonly xauth: string,
    private readonly dial: (addr: string) => string = (addr) => addr,
  ) {}

  /** A dashboard's Raft status, or undefined when it does not answer in time. */
  async raftStatus(d: Dashboard, timeoutMs = 2000): Promise<RaftStatusJson | undefined> {
    if (!d.proc.alive || d.proc.paused) return undefined;
    const r = await callDashboard(this.dial(d.adminAddr), "GET", "/api/topom/raft/status", undefined, { timeoutMs })
      .catch(() => undefined);
    return r?.status === 200 && typeof r.json === "object" ? r.json : undefined;
  }

  /** The dashboard that reports itself leader, waiting at most `ms`. */
  async waitLeader(ms: number): Promise<Dashboard> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      for (const d of this.dashboards()) {
        const s = await this.raftStatus(d, 1000);
        if (s?.role === "leader") return d;
      }
      await sleep(200);
    }
    throw new Error(`no dashboard leader within ${ms} ms\n${this.dashboards().map((d) => d.proc.tail(8)).join("\n")}`);
  }

  /**
   * Calls the dashboard API on the leader when known, else on each running dashboard in turn (followers forward
   * writes); throws {@link ApiError} for a 4xx/5xx answer, or the last network error.
   */
  async api<T = unknown>(method: "GET" | "PUT", path: string, body?: unknown, timeoutMs = 8000): Promise<T> {
    let last: Error = new Error("no dashboard running");
    const order = this.dashboards().filter((d) => d.proc.alive && !d.proc.paused);
    for (const d of order) {
      try {
        const r = await callDashboard(this.dial(d.adminAddr), method, path, body, { timeoutMs });
        if (r.status >= 200 && r.status < 300) return (r.json === "" ? undefined : r.json) as T;
        const cause = typeof r.json === "string" ? r.json : r.json?.Cause ?? JSON.stringify(r.json);
        last = new ApiError(r.status, `${method} ${path.replace(this.xauth, "XAUTH")}: ${r.status} ${cause}`);
        // A dashboard without a leader (503) or a network-level failure: another dashboard may do better.
        if (r.status !== 503 && r.status !== 502 && r.status !== 500) throw last;
      } catch (e) {
        if (e instanceof ApiError && e.status !== 503 && e.status !== 502 && e.status !== 500) throw e;
        last = e as Error;
      }
    }
    throw last;
  }

  /** `PUT /api/topom/{path with XAUTH replaced}`. */
  put(path: string, body?: unknown): Promise<unknown> {
    return this.api("PUT", `/api/topom/${path.replace("XAUTH", this.xauth)}`, body);
  }

  /** The dashboard's stats (slots, proxies, slot actions). */
  stats(): Promise<TopomStats> {
    return this.api<TopomStats>("GET", `/api/topom/stats/${this.xauth}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
