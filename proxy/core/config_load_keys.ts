/**
 * The proxy's load statistics keys: per-slot figures, hot keys and big keys (../stats/load.ts). Kept apart from
 * config_keys.ts, which spreads them into the key table at their place in the default TOML.
 * @module
 */
import type { ConfigKeyDef } from "../../util/config_table.ts";

/** The load statistics part of the proxy configuration. */
export interface ProxyLoadConfig {
  /** Keep per-slot statistics, hot keys and big keys. */
  load_stats: boolean;
  /** Window of the per-slot rates and of the hot keys. */
  load_stats_window: number;
  /** Sample one keyed request in this many for the hot keys; 0 disables hot keys. */
  hotkeys_sample_every: number;
  /** How many hot keys (and big keys) a proxy keeps and reports. */
  hotkeys_top_k: number;
  /** A request or reply of at least this many bytes makes its key a big key; 0 disables big keys. */
  bigkeys_threshold: number;
}

/** Key table entries of {@link ProxyLoadConfig}, in the default TOML's order. */
export const LOAD_KEYS: { [K in keyof ProxyLoadConfig]: ConfigKeyDef } = {
  load_stats: {
    section: "Load statistics (per-slot figures, hot keys, big keys)",
    kind: "bool",
    def: true,
    doc: "Keep per-slot statistics (requests, errors, bytes, latency), hot keys and big keys for the admin API,\n" +
      "/metrics (per group) and the dashboard's rebalancing by load. false: none is counted (the A/B of the bench).",
  },
  load_stats_window: {
    kind: "duration",
    def: "10s",
    doc: "Window of the per-slot ops/s and bytes/s and of the hot keys (GET /api/proxy/slots/stats/:xauth,\n" +
      "/api/proxy/hotkeys/:xauth); the dashboard plans --rebalance --by=load from these rates. At least 1s.",
  },
  hotkeys_sample_every: {
    kind: "int",
    def: 32,
    min: 0,
    max: 1_000_000,
    doc: "Sample one keyed request in this many for the hot keys (Space-Saving over the sampled keys); only a\n" +
      "sampled request's key is decoded. 1 samples every request. 0 disables hot keys.",
  },
  hotkeys_top_k: {
    kind: "int",
    def: 32,
    min: 1,
    max: 1000,
    doc: "How many hot keys, and how many big keys, a proxy keeps and reports.",
  },
  bigkeys_threshold: {
    kind: "size",
    def: "1mb",
    doc: "A request (a big write) or reply (a big read) of at least this many bytes makes its key a big key\n" +
      "(GET /api/proxy/bigkeys/:xauth). 0 disables big keys.",
  },
};
