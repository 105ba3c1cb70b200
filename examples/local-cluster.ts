/**
 * Starts a local codis-deno cluster on 127.0.0.1 and prints how to connect; Ctrl-C stops everything it started.
 *
 * 3 dashboards (one Raft group), 2 proxies, 4 groups of a master and a replica (`databases 1024`, `hz 100`) and the
 * codis-fe web console on :9090, with the 1024 slots spread over the groups — set up through codis-admin, as an
 * operator would.
 *
 *   deno run -A examples/local-cluster.ts [--groups=4] [--keep]
 * @module
 */
import { parseArgs } from "node:util";
import { clusterBanner } from "./banner.ts";
import { type Cluster, startCluster } from "./cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    groups: { type: "string", default: "4" },
    "data-dir": { type: "string" },
    keep: { type: "boolean", default: false },
  },
  strict: true,
});

let cluster: Cluster | null = null;
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nstopping the local cluster ...");
    await cluster?.stop(values.keep);
  }
  Deno.exit(code);
}
for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => void shutdown(0));

try {
  console.log("starting 3 dashboards, 2 proxies and 4 groups (master + replica) on 127.0.0.1 ...");
  cluster = await startCluster({
    groups: Number(values.groups),
    replicas: 1,
    dashboards: 3,
    proxies: 2,
    dataDir: values["data-dir"],
    redisPort: 16379,
    dashboardPort: 18080,
    raftPort: 28080,
    proxyPort: 19000,
    proxyAdminPort: 11080,
    fePort: 9090,
    output: "files",
  });
  console.log(clusterBanner(cluster).join("\n"));
  // A child that exits is reported, not fatal: killing a dashboard or a master to watch failover is fair play.
  for (const c of cluster.redis.concat(cluster.dashboards, cluster.proxies)) {
    c.proc?.status.then((st) => {
      if (!stopping) console.error(`${c.name} (${c.addr}) exited with code ${st.code}; logs in ${cluster!.dataDir}`);
    });
  }
  await new Promise(() => {});
} catch (e) {
  console.error(`local cluster failed to start: ${(e as Error).message}`);
  await shutdown(1);
}
