/**
 * codis-deno's public API: the parts a program can embed or drive without going through the command-line entry
 * points in `cli/`.
 *
 * - **Models**: the cluster model types with Codis's JSON field names (slots, groups, proxies, sentinels, stats).
 * - **Proxy**: {@link Proxy} (codis-proxy's core), its config, and the slot hash.
 * - **Dashboard**: {@link Topom} (codis-dashboard's core), its config, and the slot-migration executor.
 * - **Store**: one coordination interface over embedded Raft, the filesystem, etcd and ZooKeeper.
 * - **Raft**: the deterministic core and the node that runs it with storage and transport.
 *
 * ```ts
 * import { defaultProxyConfig, Proxy } from "./mod.ts";
 * const proxy = new Proxy({ ...defaultProxyConfig(), proxy_addr: "127.0.0.1:19000" });
 * ```
 * @module
 */
export * from "./models/mod.ts";

export { Proxy, splitHostPort } from "./proxy/proxy.ts";
export {
  configToToml as proxyConfigToToml,
  defaultConfigToml as defaultProxyConfigToml,
  defaultProxyConfig,
  parseProxyArgs,
  parseProxyToml,
  type ProxyConfig,
  validateProxyConfig,
} from "./proxy/config.ts";
export { crc32, slotOf } from "./proxy/hash.ts";

export { Topom, type TopomOptions } from "./topom/server/topom.ts";
export {
  configToToml as dashboardConfigToToml,
  type DashboardConfig,
  defaultConfigToml as defaultDashboardConfigToml,
  defaultDashboardConfig,
  parseDashboardArgs,
  parseDashboardToml,
  validateDashboardConfig,
} from "./topom/config.ts";
export * from "./topom/executor/mod.ts";

export * as store from "./store/mod.ts";

export { RaftNode } from "./raft/node/node.ts";
export * as raftCore from "./raft/core/mod.ts";
