/**
 * Starts a whole local codis-deno cluster from the command-line entry points, as an operator would: Redis groups
 * (a master and replicas each, `databases 1024`, `hz 100`), a Raft group of dashboards, and proxies that follow
 * them. Group setup goes through `codis-admin`. Used by `examples/local-cluster.ts` and the end-to-end tests.
 *
 * No secret is put in a process's arguments (which `ps` shows every local user): the dashboards, proxies and
 * codis-admin get product_auth and cluster_secret as CODIS_PRODUCT_AUTH / CODIS_CLUSTER_SECRET in their environment,
 * and redis-server its requirepass/masterauth in a 0600 config file.
 * @module
 */
import { existsSync } from "node:fs";
import { freePort, waitForPort } from "../testing/ports.ts";
import { waitProxyOnline } from "../testing/codis_proxy.ts";
import { followerProxyCommand } from "../testing/proxy_command.ts";
import { redisServerArgs } from "../testing/redis.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Cluster shape and ports. Ports default to free ones. */
export interface ClusterOptions {
  groups?: number;
  replicas?: number;
  dashboards?: number;
  proxies?: number;
  productName?: string;
  productAuth?: string;
  clusterSecret?: string;
  dataDir?: string;
  /** First port of each kind; consecutive ports are used. Free ports when absent. */
  redisPort?: number;
  dashboardPort?: number;
  raftPort?: number;
  proxyPort?: number;
  proxyAdminPort?: number;
  /** Port of a codis-fe web console over the dashboards; none when absent. */
  fePort?: number;
  /** Where child output goes: "inherit" (the example) or "null" (tests; logs go to files in dataDir). */
  output?: "inherit" | "files";
}

/** A child process the cluster started. */
export interface Child {
  name: string;
  addr: string;
  proc: Deno.ChildProcess | null;
  args: string[];
  cmd: string;
  /** Secrets for the child's environment (see util/secrets.ts), instead of its arguments. */
  env?: Record<string, string>;
}

/** A running cluster. */
export interface Cluster {
  dataDir: string;
  productName: string;
  productAuth: string;
  /** group id → [master, replicas...] */
  groups: Map<number, string[]>;
  redis: Child[];
  dashboards: Child[];
  proxies: Child[];
  /** Proxy client addresses. */
  proxyAddrs: string[];
  /** Proxy admin (HTTP) addresses, in the order of {@link proxyAddrs}. */
  proxyAdminAddrs: string[];
  /** Dashboard admin addresses, comma-joined, as `--dashboard=` takes them. */
  dashboardList: string;
  /** The web console's address ("" without `fePort`). */
  feAddr: string;
  /** Runs codis-admin with `--dashboard=<first live dashboard>` and the product auth; throws on a non-zero exit. */
  admin(args: string[], dashboard?: string): Promise<string>;
  /** SIGKILLs a child. */
  kill(c: Child): Promise<void>;
  /** Starts a killed child again with the same arguments. */
  restart(c: Child): void;
  /** Stops every child and removes the data dir unless `keep`. */
  stop(keep?: boolean): Promise<void>;
}

function ports(first: number | undefined, n: number): number[] {
  return Array.from({ length: n }, (_, i) => first !== undefined ? first + i : freePort());
}

/** Starts the cluster; on failure everything started so far is stopped. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const nGroups = opts.groups ?? 4;
  const nReplicas = opts.replicas ?? 1;
  const nDash = opts.dashboards ?? 3;
  const nProxy = opts.proxies ?? 2;
  const productName = opts.productName ?? "codis-demo";
  const productAuth = opts.productAuth ?? "";
  const secret = opts.clusterSecret ?? crypto.randomUUID();
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "codis-cluster-" });
  const toFiles = opts.output === "files";
  const children: Child[] = [];

  const spawn = (c: Child) => {
    c.proc = new Deno.Command(c.cmd, {
      args: c.args,
      stdin: "null",
      stdout: toFiles ? "null" : "inherit",
      stderr: toFiles ? "piped" : "inherit",
      env: { NO_COLOR: "1", ...c.env },
    }).spawn();
    if (toFiles) {
      // Our processes log to stderr; keep each child's log in a file of its own for post-mortems.
      const file = Deno.openSync(`${dataDir}/${c.name}.log`, { append: true, create: true });
      // A plain loop: pipeTo(file.writable) held everything back until the child exited.
      const stderr = c.proc.stderr;
      (async () => {
        try {
          for await (const chunk of stderr) file.writeSync(chunk);
        } catch {
          /* the child is gone */
        } finally {
          file.close();
        }
      })();
    }
  };
  const cluster: Cluster = {
    dataDir,
    productName,
    productAuth,
    groups: new Map(),
    redis: [],
    dashboards: [],
    proxies: [],
    proxyAddrs: [],
    proxyAdminAddrs: [],
    dashboardList: "",
    feAddr: "",
    async admin(args, dashboard) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}cli/codis-admin.ts`,
          `--dashboard=${dashboard ?? cluster.dashboards[0].addr}`,
          ...args,
        ],
        stdin: "null",
        env: { NO_COLOR: "1", CODIS_PRODUCT_AUTH: productAuth },
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      if (!out.success) {
        throw new Error(`codis-admin ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
      }
      return text;
    },
    async kill(c) {
      const p = c.proc;
      if (!p) return;
      c.proc = null;
      try {
        p.kill("SIGKILL");
      } catch { /* gone */ }
      await p.status;
    },
    restart(c) {
      spawn(c);
    },
    async stop(keep = false) {
      for (const c of [...children].reverse()) {
        try {
          c.proc?.kill("SIGTERM");
        } catch { /* gone */ }
      }
      const deadline = Date.now() + 5000;
      for (const c of children) {
        if (!c.proc) continue;
        const done = await Promise.race([
          c.proc.status.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(1, deadline - Date.now()))),
        ]);
        if (!done) {
          try {
            c.proc.kill("SIGKILL");
          } catch { /* gone */ }
          await c.proc.status;
        }
        c.proc = null;
      }
      if (!keep) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };

  try {
    // Redis groups.
    const redisPorts = ports(opts.redisPort, nGroups * (1 + nReplicas));
    let k = 0;
    for (let g = 1; g <= nGroups; g++) {
      const members: string[] = [];
      for (let r = 0; r <= nReplicas; r++) {
        const port = redisPorts[k++];
        const dir = `${dataDir}/redis-${port}`;
        await Deno.mkdir(dir, { recursive: true });
        const args = [
          // The password goes in a file only this user reads, not in redis-server's arguments.
          ...(productAuth ? [await redisSecretsFile(dir, productAuth)] : []),
          ...redisServerArgs({ bind: "127.0.0.1", port, dir, loglevel: "warning", logfile: `${dir}/redis.log` }),
        ];
        const c: Child = { name: `redis-${port}`, addr: `127.0.0.1:${port}`, proc: null, args, cmd: "redis-server" };
        children.push(c);
        cluster.redis.push(c);
        spawn(c);
        members.push(c.addr);
      }
      cluster.groups.set(g, members);
    }
    for (const c of cluster.redis) await waitForPort(Number(c.addr.split(":")[1]));

    // Dashboards: one Raft group.
    const dashPorts = ports(opts.dashboardPort, nDash);
    const raftPorts = ports(opts.raftPort, nDash);
    const peers = raftPorts.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(",");
    for (let i = 0; i < nDash; i++) {
      const args = [
        "run",
        "-A",
        `${ROOT}cli/codis-dashboard.ts`,
        `--product_name=${productName}`,
        `--admin_addr=127.0.0.1:${dashPorts[i]}`,
        `--raft_id=${i + 1}`,
        `--raft_addr=127.0.0.1:${raftPorts[i]}`,
        `--raft_peers=${peers}`,
        // The first start of the group founds it; a restart over a kept data dir finds its data either way.
        `--raft_bootstrap=${existsSync(`${dataDir}/dashboard-${i + 1}`) ? "existing" : "new"}`,
        `--data_dir=${dataDir}/dashboard-${i + 1}`,
      ];
      const c: Child = {
        name: `dashboard-${i + 1}`,
        addr: `127.0.0.1:${dashPorts[i]}`,
        proc: null,
        args,
        cmd: Deno.execPath(),
        env: { CODIS_PRODUCT_AUTH: productAuth, CODIS_CLUSTER_SECRET: secret },
      };
      children.push(c);
      cluster.dashboards.push(c);
      spawn(c);
    }
    cluster.dashboardList = cluster.dashboards.map((d) => d.addr).join(",");
    for (const d of cluster.dashboards) await waitForPort(Number(d.addr.split(":")[1]), 30_000);

    // Groups, servers, replication and slots, through codis-admin.
    for (const [gid, members] of cluster.groups) {
      await retry(() => cluster.admin(["--create-group", `--gid=${gid}`]), 15_000);
      for (const addr of members) await cluster.admin(["--group-add", `--gid=${gid}`, `--addr=${addr}`]);
      for (const addr of members.slice(1)) await cluster.admin(["--sync-action", "--create", `--addr=${addr}`]);
    }
    const per = Math.ceil(1024 / nGroups);
    for (let g = 1; g <= nGroups; g++) {
      const beg = (g - 1) * per;
      const end = Math.min(1023, g * per - 1);
      await cluster.admin(["--slots-assign", `--beg=${beg}`, `--end=${end}`, `--gid=${g}`, "--confirm"]);
    }
    // Adding servers marks their groups out of sync until the group is resynced, as an operator does after setup.
    await cluster.admin(["--resync-group", "--all"]);

    // Proxies follow the dashboards.
    const proxyPorts = ports(opts.proxyPort, nProxy);
    const proxyAdminPorts = ports(opts.proxyAdminPort, nProxy);
    for (let i = 0; i < nProxy; i++) {
      const command = followerProxyCommand({
        dashboards: cluster.dashboardList,
        productName,
        productAuth,
        proxyAddr: `127.0.0.1:${proxyPorts[i]}`,
        adminAddr: `127.0.0.1:${proxyAdminPorts[i]}`,
        extraArgs: ["--proxy_allow_flush=true"],
      });
      const c: Child = { name: `proxy-${i + 1}`, addr: `127.0.0.1:${proxyPorts[i]}`, proc: null, ...command };
      children.push(c);
      cluster.proxies.push(c);
      cluster.proxyAddrs.push(c.addr);
      cluster.proxyAdminAddrs.push(`127.0.0.1:${proxyAdminPorts[i]}`);
      spawn(c);
    }
    for (const p of cluster.proxies) await waitForPort(Number(p.addr.split(":")[1]), 30_000);
    // The client port opens before the proxy is online (it answers "not online yet" until its dashboard has filled
    // the slots and started it, as Codis's proxy does): the cluster is ready once every proxy says it is online.
    for (const admin of cluster.proxyAdminAddrs) await waitProxyOnline(admin, 30_000);

    if (opts.fePort !== undefined) {
      const fe: Child = {
        name: "fe",
        addr: `127.0.0.1:${opts.fePort}`,
        proc: null,
        args: [
          "run",
          "-A",
          `${ROOT}cli/codis-fe.ts`,
          `--listen=127.0.0.1:${opts.fePort}`,
          `--dashboard=${cluster.dashboardList}`,
        ],
        cmd: Deno.execPath(),
      };
      children.push(fe);
      spawn(fe);
      await waitForPort(opts.fePort, 30_000);
      cluster.feAddr = fe.addr;
    }
    return cluster;
  } catch (e) {
    await cluster.stop(true);
    throw new Error(`${(e as Error).message} (logs in ${dataDir})`);
  }
}

/** Writes requirepass and masterauth to `dir`/secrets.conf (0600) for redis-server to read; returns its path. */
async function redisSecretsFile(dir: string, auth: string): Promise<string> {
  const path = `${dir}/secrets.conf`;
  const quoted = JSON.stringify(auth); // a Redis config string: double quotes with \\ and \" escapes
  await Deno.writeTextFile(path, `requirepass ${quoted}\nmasterauth ${quoted}\n`, { mode: 0o600 });
  return path;
}

async function retry<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
