/**
 * A {@link ProxyControl} without a proxy behind it, for unit tests of what reads one (metrics, reporters).
 * @module
 */
import type { ProxyModel } from "../models/mod.ts";
import type { BackendInfo, ProxyControl } from "../proxy/admin/control.ts";
import { defaultProxyConfig, type ProxyConfig } from "../proxy/config.ts";
import { ProxyStats } from "../proxy/stats.ts";

/** What {@link fakeProxyControl} lets a test choose; the rest is fixed. */
export interface FakeProxyControlOptions {
  /** Overrides of the default config. */
  config?: Partial<ProxyConfig>;
  /** Default: empty stats. */
  stats?: ProxyStats;
  /** Overrides of the fixed model (token `tok`, product `demo`, admin 127.0.0.1:11080, proxy 127.0.0.1:19000). */
  model?: Partial<ProxyModel>;
  /** Default: none. */
  backends?: BackendInfo[];
}

/** An online proxy with no slots whose model, config, stats and backends are what `opts` says. */
export function fakeProxyControl(opts: FakeProxyControlOptions = {}): ProxyControl {
  const model: ProxyModel = {
    token: "tok",
    start_time: "",
    admin_addr: "127.0.0.1:11080",
    proto_type: "tcp4",
    proxy_addr: "127.0.0.1:19000",
    product_name: "demo",
    pid: 1,
    pwd: "/",
    sys: "linux",
    hostname: "h",
    datacenter: "",
    ...opts.model,
  };
  return {
    config: { ...defaultProxyConfig(), ...opts.config },
    stats: opts.stats ?? new ProxyStats(),
    model: () => ({ ...model }),
    slots: () => [],
    fillSlots: () => {},
    start: () => {},
    isOnline: () => true,
    isClosed: () => false,
    shutdown: () => Promise.resolve(),
    backends: () => opts.backends ?? [],
  };
}
