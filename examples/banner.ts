/**
 * What `examples/local-cluster.ts` prints once the cluster is up: how to connect, with commands a new user copies.
 * Kept apart so that tests run every command it prints against a live cluster (tests/documented_commands_test.ts).
 * @module
 */
import type { Cluster } from "./cluster.ts";

/** The banner's lines for a running cluster. Lines that start with two spaces and a command are run by tests. */
export function clusterBanner(cluster: Cluster): string[] {
  const groups = [...cluster.groups].map(([g, m]) => `    group ${g}: ${m[0]} (master), ${m.slice(1).join(", ")}`);
  const dashboard = cluster.dashboards[0].addr;
  return [
    "",
    "codis-deno local cluster is up:",
    ...cluster.proxyAddrs.map((a) => `  redis-cli -p ${a.split(":")[1]}                 # proxy ${a}`),
    `  dashboards: ${cluster.dashboardList} (one Raft group; any of them answers)`,
    `  deno run -A cli/codis-admin.ts --dashboard=${dashboard} overview`,
    `  deno run -A cli/codis-admin.ts --dashboard=${dashboard} --group-status`,
    `  curl http://${dashboard}/topom/stats`,
    `  web console: http://${cluster.feAddr}/  (codis-fe)`,
    ...groups,
    `  logs and data: ${cluster.dataDir}`,
    "Press Ctrl-C to stop everything.",
  ];
}
