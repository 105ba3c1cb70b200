/**
 * The command line of a codis-proxy child that follows dashboards, as the example cluster (examples/cluster.ts) and
 * the chaos tool (chaos/cluster.ts) start theirs: this checkout's `cli/codis-proxy.ts` under the running deno, with
 * product_auth in the environment (a command line is visible to every user). Each spawns it its own way.
 * @module
 */

const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;

/** What {@link followerProxyCommand} builds a command line from. */
export interface FollowerProxyOptions {
  /** The dashboards' admin addresses, comma-separated (`--dashboard`). */
  dashboards: string;
  productName: string;
  /** Goes into `CODIS_PRODUCT_AUTH`, never into the arguments. */
  productAuth: string;
  /** Client listen address (`--proxy_addr`). */
  proxyAddr: string;
  /** Admin listen address (`--admin_addr`). */
  adminAddr: string;
  /** Client address to advertise when it is not `proxyAddr` (`--host-proxy`). */
  hostProxy?: string;
  /** Admin address to advertise when it is not `adminAddr` (`--host-admin`). */
  hostAdmin?: string;
  /** More flags, after the others. */
  extraArgs?: string[];
}

/** A child's program, arguments and added environment. */
export interface ChildCommand {
  cmd: string;
  args: string[];
  env: Record<string, string>;
}

/** The command that runs a codis-proxy following `o.dashboards`. */
export function followerProxyCommand(o: FollowerProxyOptions): ChildCommand {
  return {
    cmd: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--quiet",
      PROXY_CLI,
      `--dashboard=${o.dashboards}`,
      `--product_name=${o.productName}`,
      `--proxy_addr=${o.proxyAddr}`,
      `--admin_addr=${o.adminAddr}`,
      ...(o.hostProxy && o.hostProxy !== o.proxyAddr ? [`--host-proxy=${o.hostProxy}`] : []),
      ...(o.hostAdmin && o.hostAdmin !== o.adminAddr ? [`--host-admin=${o.hostAdmin}`] : []),
      ...(o.extraArgs ?? []),
    ],
    env: o.productAuth ? { CODIS_PRODUCT_AUTH: o.productAuth } : {},
  };
}
