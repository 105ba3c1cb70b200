/**
 * codis-deno's public API: the parts a program can embed or drive without going through the command-line entry
 * points in `cli/`.
 *
 * - **Models**: the cluster model types with Codis's JSON field names (slots, groups, proxies, sentinels, stats).
 * - **Proxy**: {@link Proxy} (codis-proxy's core), its config, and the slot hash.
 * - **Dashboard**: {@link Topom} (codis-dashboard's core), the store it keeps the model in
 *   ({@link openDashboardCoordinator}), its HTTP API ({@link dashboardHandler}), its config, and the slot-migration
 *   executor ({@link createExecutor}).
 * - **Store**: one coordination interface over embedded Raft, the filesystem, etcd and ZooKeeper.
 * - **Raft**: the deterministic core and the node that runs it with storage and transport.
 *
 * ```ts
 * import { defaultProxyConfig, Proxy } from "./mod.ts";
 * const proxy = new Proxy({ ...defaultProxyConfig(), proxy_addr: "127.0.0.1:19000" });
 * ```
 *
 * `examples/embed_proxy.ts` runs a proxy over one redis-server; the `./proxy`, `./dashboard`, `./admin` and `./fe`
 * exports are the programs of each role (`cli/`).
 * @module
 */
export * from "./models/mod.ts";

export { Proxy } from "./proxy/proxy.ts";
export { splitHostPort } from "./proxy/listen.ts";
export {
  configToToml as proxyConfigToToml,
  defaultConfigToml as defaultProxyConfigToml,
  defaultProxyConfig,
  parseProxyArgs,
  parseProxyToml,
  type ProxyArgs,
  type ProxyConfig,
  validateProxyConfig,
} from "./proxy/core/config.ts";
export type { CoordinatorFlag as ProxyCoordinatorFlag } from "./proxy/core/config.ts";
export type { ProxyTlsConfig } from "./proxy/core/config_tls_keys.ts";
export type { ProxyOpsConfig } from "./proxy/core/config_ops_keys.ts";
export type { ProxyLoadConfig } from "./proxy/core/config_load_keys.ts";
export type { ProxyMetricsConfig } from "./proxy/core/config_metrics_keys.ts";
export type { SecretIo } from "./util/secrets.ts";
export { crc32, slotOf } from "./models/hash.ts";

export { Topom, type TopomOptions } from "./topom/server/topom.ts";
export { type Coordinator, type CoordOptions, openDashboardCoordinator } from "./topom/server/coord.ts";
export { type ApiOptions as DashboardApiOptions, dashboardHandler } from "./topom/server/api.ts";
export {
  configToToml as dashboardConfigToToml,
  type DashboardArgs,
  type DashboardConfig,
  defaultConfigToml as defaultDashboardConfigToml,
  defaultDashboardConfig,
  parseDashboardArgs,
  parseDashboardToml,
  validateDashboardConfig,
} from "./topom/config.ts";
export * from "./topom/executor/mod.ts";
export type { DashboardTlsConfig } from "./topom/config_tls_keys.ts";

export * as store from "./store/mod.ts";

export { RaftNode } from "./raft/node/node.ts";
export type { NodeStatus } from "./raft/node/types.ts";
export type { NodeId, Role as RaftNodeRole } from "./raft/types.ts";
export type { MemberStatus } from "./raft/node/types.ts";
export * as raftCore from "./raft/core/mod.ts";
