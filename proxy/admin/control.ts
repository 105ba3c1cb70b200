/**
 * What the admin HTTP API needs from a running proxy. Implemented by the `Proxy` class; tests use fakes.
 * @module
 */
import type { ProxyModel, SentinelModel, Slot } from "../../models/mod.ts";
import type { ProxyConfig } from "../core/config.ts";
import type { ProxyStats } from "../core/stats.ts";
import type { LoadViews } from "../stats/load.ts";

/** State of one backend address as reported by /metrics. */
export interface BackendInfo {
  addr: string;
  state: "connected" | "connecting" | "down";
  /** Open connections to this backend. */
  conns: number;
  /** Requests sent and not yet answered. */
  pending: number;
}

/** The sentinel block of the stats JSON. */
export interface SentinelStats {
  servers?: string[];
  masters?: Record<string, string>;
  switched?: boolean;
}

/**
 * The proxy as seen by the admin API. Methods may return promises; the admin layer awaits them.
 * @internal
 */
export interface ProxyControl {
  readonly config: ProxyConfig;
  readonly stats: ProxyStats;
  /** The proxy's model (token, addresses, pid...). */
  model(): ProxyModel;
  /** The current slot table, 1024 entries. */
  slots(): Slot[];
  /** Replaces the routing of the given slots; the admin layer has validated them (ids 0..1023, HOST:PORT addrs). */
  fillSlots(slots: Slot[]): void | Promise<void>;
  /** Goes online: sessions are accepted from now on. */
  start(): void | Promise<void>;
  isOnline(): boolean;
  isClosed(): boolean;
  /** Closes the proxy; the admin API answers before this completes. */
  shutdown(): Promise<void>;
  backends(): BackendInfo[];
  /** Optional: takes the sentinel list from PUT /api/proxy/sentinels (the admin layer stores it otherwise). */
  setSentinels?(sentinels: SentinelModel): void | Promise<void>;
  /** Optional: PUT /api/proxy/sentinels/:xauth/rewatch. */
  rewatchSentinels?(): void | Promise<void>;
  /** Optional: the sentinel block of the stats (default: the servers last given to PUT /api/proxy/sentinels). */
  sentinelStats?(): SentinelStats;
  /** Optional: resets the stats (default: `stats.reset()`); worker mode resets every thread's. */
  resetStats?(): void | Promise<void>;
  /** Optional: per-slot statistics, hot keys and big keys (`../stats/load.ts`); absent, those routes answer 404. */
  loadViews?(): LoadViews;
  /** Optional: clears the load statistics when the stats are reset (worker mode's resetStats does it itself). */
  resetLoad?(): void;
  /** Optional: the backend_write_acks counters of the stats (default: the setting only). */
  writeAckStats?(): Record<string, number> | undefined;
  /** Optional: the dashboard connection block of the stats (proxies that follow a dashboard). */
  dashboardStats?(): Record<string, unknown> | undefined;
}
