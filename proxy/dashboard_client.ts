/**
 * The proxy's side of the dashboard protocol: register (online), then long-poll the leader for model changes and
 * report the revision applied. A proxy that loses every dashboard keeps serving with the model it has for its
 * lease (`dashboard_lease_timeout`, proxy/lease.ts), then refuses every slot until a dashboard answers again.
 * @module
 */
import type { Slot } from "../models/slots.ts";
import { logger } from "../util/log.ts";
import { LeaseTimer, pollTimeoutFor } from "./lease.ts";
import { newXAuth } from "../util/xauth.ts";
import { adminFetch, adminUrl } from "../util/admin_calls.ts";

const log = logger("dashboard-client");

/** What the client drives: the proxy's routing and its online switch. */
export interface FollowingProxy {
  fillSlots(slots: Slot[]): Promise<void> | void;
  start(): void | Promise<void>;
  isOnline(): boolean;
  isClosed(): boolean;
  setSentinels?(s: { servers?: string[]; out_of_sync: boolean }): void | Promise<void>;
  /** The proxy's token, known once its admin server is bound. */
  model(): { token: string };
  /** The dashboard lease (Proxy.setLease): serve until `until` (timeOrigin-based ms); `expired`: stop now. */
  setLease?(until: number, leaseMs: number, expired?: boolean): void | Promise<void>;
}

/** Options of {@link DashboardClient}. */
export interface DashboardClientOptions {
  /** Admin addresses of the dashboards (any node of the group). */
  addrs: string[];
  productName: string;
  productAuth: string;
  /** The proxy's admin address, as the dashboard should reach it. */
  adminAddr: string;
  /** Long-poll timeout asked of the dashboard, ms (at most a third of the lease). */
  pollTimeoutMs?: number;
  /** `dashboard_lease_timeout`, ms; 0 (the default here) serves the last model for ever. */
  leaseMs?: number;
  /**
   * Finds the dashboards again (Codis's `--zookeeper`/`--etcd`/`--filesystem`: the coordinator names the active one),
   * when every known address has failed; a standby that took over is then followed without a restart.
   */
  resolveAddrs?: () => Promise<string[]>;
}

/** Connection state for stats. */
export interface DashboardStatus {
  connected: boolean;
  dashboard: string;
  revision: number;
  last_contact: string;
  last_error: string;
  /** Whether the dashboard lease ran out: the proxy refuses every slot until a dashboard answers. */
  lease_expired: boolean;
}

interface WatchAnswer {
  revision: number;
  full?: boolean;
  slots?: Slot[];
  sentinels?: { servers?: string[] };
}

/** Follows the dashboard leader. */
export class DashboardClient {
  #opts: Required<Omit<DashboardClientOptions, "resolveAddrs">> & Pick<DashboardClientOptions, "resolveAddrs">;
  /** Consecutive failures; a full round over every address asks resolveAddrs. */
  #failures = 0;
  #proxy: FollowingProxy;
  #xauth: string;
  #current = 0;
  #addr: string;
  #applied = 0;
  #connected = false;
  #lastContact = 0;
  #lastError = "";
  #abort = new AbortController();
  #loop: Promise<void> | null = null;
  #lease: LeaseTimer;

  constructor(proxy: FollowingProxy, opts: DashboardClientOptions) {
    if (opts.addrs.length === 0) throw new Error("at least one dashboard address is needed");
    this.#opts = { pollTimeoutMs: 30_000, leaseMs: 0, ...opts };
    this.#opts.pollTimeoutMs = pollTimeoutFor(this.#opts.leaseMs, this.#opts.pollTimeoutMs);
    this.#lease = new LeaseTimer(this.#opts.leaseMs, () => void this.#leaseExpired());
    this.#proxy = proxy;
    this.#xauth = newXAuth(opts.productName, opts.productAuth);
    this.#addr = opts.addrs[0];
  }

  /** Stats block: whether the dashboard is reachable, and the revision applied. */
  status(): DashboardStatus {
    return {
      connected: this.#connected,
      dashboard: this.#addr,
      revision: this.#applied,
      last_contact: this.#lastContact ? new Date(this.#lastContact).toISOString() : "",
      last_error: this.#lastError,
      lease_expired: this.#lease.expired,
    };
  }

  /** Registers and starts following; resolves once the first model is applied (or rejects after `timeoutMs`). */
  async start(timeoutMs = 30_000): Promise<void> {
    const first = Promise.withResolvers<void>();
    this.#loop = this.#run(first.resolve);
    const timer = setTimeout(
      () => first.reject(new Error(`no dashboard answered within ${timeoutMs} ms: ${this.#lastError}`)),
      timeoutMs,
    );
    try {
      await first.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops following. */
  async stop(): Promise<void> {
    this.#lease.stop();
    this.#abort.abort();
    await this.#loop?.catch(() => {});
  }

  async #run(onFirstModel: () => void): Promise<void> {
    let registered = false;
    let since = 0;
    let backoff = 50;
    /** Whether the last request followed a 421's leader without a pause since. */
    let hopped = false;
    const signal = this.#abort.signal;
    while (!signal.aborted && !this.#proxy.isClosed()) {
      try {
        if (!registered) {
          await this.#call("PUT", `/api/topom/proxy/online/${this.#xauth}/${this.#opts.adminAddr}`);
          registered = true;
          since = 0;
          log.info(`registered with dashboard ${this.#addr}`);
        }
        const token = this.#proxy.model().token;
        // A proxy whose lease ran out dropped its routes: it needs every slot again.
        if (this.#lease.expired) since = 0;
        const q = `applied=${this.#applied}&since=${since}&timeout=${this.#opts.pollTimeoutMs}`;
        const sentAt = performance.now();
        const ans = await this.#call("GET", `/api/topom/proxy/watch/${this.#xauth}/${token}?${q}`) as WatchAnswer;
        // Asked before the lease ran out: a partial answer cannot restore the dropped routes.
        if (this.#lease.expired && !ans.full) continue;
        if (ans.slots && ans.slots.length > 0) await this.#proxy.fillSlots(ans.slots);
        if (ans.sentinels && this.#proxy.setSentinels) {
          await this.#proxy.setSentinels({ servers: ans.sentinels.servers, out_of_sync: false });
        }
        since = ans.revision;
        this.#applied = ans.revision;
        await this.#renewLease(sentAt);
        if (!this.#proxy.isOnline() && !this.#proxy.isClosed()) {
          await this.#proxy.start();
          onFirstModel();
        }
        backoff = 50;
        hopped = false;
        this.#failures = 0;
      } catch (e) {
        if (signal.aborted) break;
        const err = e as Error & { status?: number; leader?: string };
        if (err.status === 404) {
          registered = false;
          continue;
        }
        if (err.status === 421) {
          this.#lastError = err.message;
          // A leader named by a dashboard we were not given is not followed further (the path carries the xauth).
          const known = this.#opts.addrs.includes(this.#addr) || this.#opts.addrs.includes(err.leader ?? "");
          if (err.leader && !known) err.leader = undefined;
          this.#addr = err.leader || this.#nextAddr();
          // Follow a named leader at once, but only one hop per pause: during an election every dashboard is a
          // standby (no leader yet, or stale names pointing at each other), and retrying them without a pause
          // was a busy loop of thousands of requests a second.
          if (err.leader && !hopped) {
            hopped = true;
            continue;
          }
          hopped = false;
          if (++this.#failures % this.#opts.addrs.length === 0) await this.#resolve();
          await sleep(backoff, signal);
          backoff = Math.min(500, backoff * 2);
          continue;
        }
        if (this.#connected) log.warn(`lost dashboard ${this.#addr}: ${err.message}; serving the model we have`);
        this.#connected = false;
        this.#lastError = err.message;
        this.#addr = this.#nextAddr();
        if (++this.#failures % this.#opts.addrs.length === 0) await this.#resolve();
        await sleep(backoff, signal);
        // Stay quick while cycling: a new leader is usually elected within an election timeout.
        backoff = Math.min(500, backoff * 2);
      }
    }
  }

  /** The active dashboard answered a request sent at `sentAt` (performance.now()): the lease runs from then. */
  async #renewLease(sentAt: number): Promise<void> {
    const leaseMs = this.#opts.leaseMs;
    if (leaseMs <= 0 || !this.#proxy.setLease) return;
    const wasExpired = this.#lease.expired;
    this.#lease.confirm(sentAt);
    if (this.#lease.expired) return;
    if (wasExpired) log.info(`dashboard ${this.#addr} reached again: serving slots`);
    await this.#proxy.setLease(performance.timeOrigin + this.#lease.confirmedAt + leaseMs, leaseMs);
  }

  async #leaseExpired(): Promise<void> {
    const leaseMs = this.#opts.leaseMs;
    log.warn(`no dashboard reached for ${leaseMs} ms (dashboard_lease_timeout): refusing every slot until one answers`);
    try {
      await this.#proxy.setLease?.(performance.timeOrigin + this.#lease.confirmedAt + leaseMs, leaseMs, true);
    } catch (e) {
      log.warn(`dropping the routes: ${(e as Error).message}`);
    }
  }

  /** Asks the coordinator for the dashboards again; keeps the old list when it has nothing better. */
  async #resolve(): Promise<void> {
    const resolve = this.#opts.resolveAddrs;
    if (!resolve) return;
    try {
      const addrs = (await resolve()).filter((a) => a !== "");
      if (addrs.length === 0 || addrs.join(",") === this.#opts.addrs.join(",")) return;
      log.info(`dashboard of product ${this.#opts.productName} is now ${addrs.join(",")}`);
      this.#opts.addrs = addrs;
      this.#current = 0;
      this.#addr = addrs[0];
    } catch (e) {
      log.warn(`cannot find the dashboard again: ${(e as Error).message}`);
    }
  }

  #nextAddr(): string {
    this.#current = (this.#current + 1) % this.#opts.addrs.length;
    return this.#opts.addrs[this.#current];
  }

  async #call(method: string, path: string): Promise<unknown> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    this.#abort.signal.addEventListener("abort", onAbort);
    const timer = setTimeout(() => ctl.abort(), this.#opts.pollTimeoutMs + 5000);
    try {
      const res = await adminFetch(adminUrl(this.#addr, path), { method, signal: ctl.signal });
      const text = await res.text();
      // Only the active dashboard's answers count as connected: a standby's 421 means the proxy is not following.
      this.#connected = res.ok;
      this.#lastContact = Date.now();
      if (res.ok) return text ? JSON.parse(text) : null;
      let body: { Cause?: string; leader?: string } = {};
      try {
        body = JSON.parse(text);
      } catch { /* not JSON */ }
      const err = new Error(`dashboard ${this.#addr} answered ${res.status}: ${body.Cause ?? text.slice(0, 200)}`);
      Object.assign(err, { status: res.status, leader: body.leader });
      throw err;
    } finally {
      clearTimeout(timer);
      this.#abort.signal.removeEventListener("abort", onAbort);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}
