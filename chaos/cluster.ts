/**
 * The cluster under test, every process on a host of its own: Redis groups (a master and a replica each), a Raft
 * group of dashboards (plus spare hosts for membership changes) and proxies following them. Set up through the
 * dashboard's HTTP API with a product_auth and cluster_secret made for this run; processes reach each other only by
 * the addresses they are given (a host's `addr`: 198.18.x.y in a namespace, or a loopback address with a forwarder
 * on it), and listen on their host's `bind` (the same address in a namespace; see chaos/loopback.ts).
 * @module
 */
import type { RaftStatusJson, TopomStats } from "../models/mod.ts";
import { type Dashboard, DashboardApi } from "./dashboard_api.ts";
import { newXAuth } from "../util/xauth.ts";
import type { Hosts } from "./hosts.ts";
import { Proc } from "./procs.ts";
import { followerProxyCommand } from "../testing/proxy_command.ts";
import { redisServerArgs } from "../testing/redis.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const REDIS_PORT = 6379;
const ADMIN_PORT = 18080;
const RAFT_PORT = 28080;
const PROXY_PORT = 19000;
const PROXY_ADMIN_PORT = 11080;
const CONSOLE_PORT = 9090;
const SENTINEL_PORT = 26379;

/** The ports a host listens on, by its name (see {@link hostNames}). */
export function listeningPorts(host: string): number[] {
  if (host.startsWith("redis")) return [REDIS_PORT, SENTINEL_PORT];
  if (host.startsWith("dash")) return [ADMIN_PORT, RAFT_PORT];
  if (host.startsWith("proxy")) return [PROXY_ADMIN_PORT, PROXY_PORT];
  return [CONSOLE_PORT];
}

/** The cluster's shape and the flags passed through. */
export interface ClusterShape {
  groups: number;
  dashboards: number;
  spareDashboards: number;
  proxies: number;
  /** Extra flags for every proxy (`--proxy-arg`). */
  proxyArgs: string[];
  /** Extra redis-server arguments for every Redis server (`--redis-arg`, e.g. "--appendonly yes"). */
  redisArgs: string[];
  /** Start a redis-sentinel beside this many Redis servers (0: none; the failover nemesis wants 3). */
  sentinels: number;
}

/** Host names for a shape, in the order the network assigns addresses. */
export function hostNames(shape: ClusterShape): string[] {
  const names: string[] = [];
  for (let g = 1; g <= shape.groups; g++) names.push(`redis${g}a`, `redis${g}b`);
  for (let i = 1; i <= shape.dashboards + shape.spareDashboards; i++) names.push(`dash${i}`);
  for (let i = 1; i <= shape.proxies; i++) names.push(`proxy${i}`);
  names.push("console");
  return names;
}

/** The running cluster. */
export class Cluster {
  readonly redis: Proc[] = [];
  readonly sentinels: Proc[] = [];
  readonly dashboards: Dashboard[] = [];
  readonly proxies: Proc[] = [];
  /** The web console (codis-fe) on a host of its own. */
  console: Proc | undefined;
  /** group id → [master address, replica address] as set up. */
  readonly groups = new Map<number, string[]>();
  /** The port every Redis server listens on (on its own host). */
  readonly redisPort = REDIS_PORT;
  readonly productName = "chaos";
  readonly productAuth = randomHex(16);
  readonly clusterSecret = randomHex(24);
  readonly xauth: string;
  /** Dashboards that are not Raft members now (the spares, and those the raft nemesis removed). */
  readonly outside = new Set<number>();

  readonly #api: DashboardApi;

  constructor(readonly net: Hosts, readonly shape: ClusterShape, readonly dataDir: string) {
    this.xauth = newXAuth(this.productName, this.productAuth);
    // The tool's own calls are never faulted: they skip the loopback forwarders (and their opener lookups).
    this.#api = new DashboardApi(() => this.dashboards, this.xauth, (addr) => net.direct(addr));
  }

  /** A dashboard's Raft status, or undefined when it does not answer in time. */
  raftStatus(d: Dashboard, timeoutMs?: number): Promise<RaftStatusJson | undefined> {
    return this.#api.raftStatus(d, timeoutMs);
  }

  /** The dashboard that reports itself leader, waiting at most `ms`. */
  waitLeader(ms: number): Promise<Dashboard> {
    return this.#api.waitLeader(ms);
  }

  /** `PUT /api/topom/{path with XAUTH replaced}` on any running dashboard. */
  put(path: string, body?: unknown): Promise<unknown> {
    return this.#api.put(path, body);
  }

  /** The dashboard's stats (slots, proxies, slot actions). */
  stats(): Promise<TopomStats> {
    return this.#api.stats();
  }

  /** Every process. */
  get procs(): Proc[] {
    return [
      ...this.redis,
      ...this.dashboards.map((d) => d.proc),
      ...this.proxies,
      ...(this.console ? [this.console] : []),
    ];
  }

  /** Proxy client addresses. */
  get proxyAddrs(): string[] {
    return this.proxies.map((p) => `${p.host.addr}:${PROXY_PORT}`);
  }

  /** Starts everything and sets up groups, replicas and slots; throws with log tails when something does not come up. */
  async start(log: (msg: string) => void): Promise<void> {
    await this.#startRedis();
    log(`${this.redis.length} redis servers up`);
    this.#startDashboards();
    await this.waitLeader(60_000);
    log(`${this.shape.dashboards} dashboards up, leader elected`);
    await this.#setUpGroups();
    log(`${this.shape.groups} groups set up, slots assigned`);
    if (this.shape.sentinels > 0) {
      await this.#startSentinels();
      log(`${this.sentinels.length} sentinels monitoring the groups`);
    }
    this.#startProxies();
    await this.#waitProxiesOnline(60_000);
    log(`${this.proxies.length} proxies online`);
    await this.#startConsole();
    const problem = await this.consoleProblem();
    if (problem) throw new Error(problem);
    log(`web console up, reaching the dashboards`);
  }

  async #startConsole(): Promise<void> {
    const host = this.net.host("console");
    const args = [
      "run",
      "-A",
      "--quiet",
      `${ROOT}cli/codis-fe.ts`,
      `--listen=${host.bind}:${CONSOLE_PORT}`,
      // Behind a loopback forwarder the Host header names the advertised address, not the bound one.
      ...(host.bind !== host.addr ? [`--allowed-hosts=${host.addr}`] : []),
      `--dashboard=${this.dashboards.map((d) => d.adminAddr).join(",")}`,
    ];
    this.console = new Proc("console", "console", host, Deno.execPath(), args, `${this.dataDir}/console.log`, this.net);
    this.console.start();
    await waitTcp(host.bind, CONSOLE_PORT, 30_000, this.console);
  }

  /**
   * Asks the web console for the product list and, through its forwarding, the dashboards' model; says what is
   * wrong, or undefined when the console lists the product and its proxies by their own addresses.
   */
  async consoleProblem(): Promise<string | undefined> {
    if (!this.console) return "no console";
    const base = `http://${this.net.direct(`${this.console.host.addr}:${CONSOLE_PORT}`)}`;
    try {
      const list = await (await fetch(`${base}/list`, { signal: AbortSignal.timeout(10_000) })).json();
      if (!Array.isArray(list) || !list.includes(this.productName)) return `console /list: ${JSON.stringify(list)}`;
      const r = await fetch(`${base}/topom?forward=${this.productName}`, { signal: AbortSignal.timeout(20_000) });
      const text = await r.text();
      if (r.status !== 200) return `console /topom?forward: ${r.status} ${text.slice(0, 200)}`;
      const missing = this.proxyAddrs.filter((a) => !text.includes(a));
      if (missing.length > 0) return `console /topom?forward does not list proxies ${missing.join(", ")}`;
      return undefined;
    } catch (e) {
      return `console: ${(e as Error).message}`;
    }
  }

  async #startRedis(): Promise<void> {
    for (let g = 1; g <= this.shape.groups; g++) {
      const members: string[] = [];
      for (const side of ["a", "b"]) {
        const host = this.net.host(`redis${g}${side}`);
        const dir = `${this.dataDir}/redis${g}${side}`;
        await Deno.mkdir(dir, { recursive: true });
        // The password goes in a file only the tool's user reads, not on the command line.
        const conf = `${dir}.conf`;
        await Deno.writeTextFile(conf, `requirepass ${this.productAuth}\nmasterauth ${this.productAuth}\n`, {
          mode: 0o600,
        });
        const args = [
          conf,
          ...redisServerArgs({
            bind: host.bind,
            port: REDIS_PORT,
            dir,
            loglevel: "notice",
            logfile: `${dir}/redis.log`,
          }),
          // Sentinels learn replicas from their master's INFO: they must be told the address everyone dials.
          "--replica-announce-ip",
          host.addr,
          ...this.shape.redisArgs,
        ];
        const p = new Proc(`redis${g}${side}`, "redis", host, "redis-server", args, `${dir}.log`, this.net);
        p.start();
        this.redis.push(p);
        members.push(`${host.addr}:${REDIS_PORT}`);
      }
      this.groups.set(g, members);
    }
    for (const p of this.redis) await waitTcp(p.host.bind, REDIS_PORT, 20_000, p);
  }

  #dashboardArgs(d: Omit<Dashboard, "proc">, bind: string, peers: string, join: boolean): string[] {
    return [
      "run",
      "-A",
      "--quiet",
      `${ROOT}cli/codis-dashboard.ts`,
      `--product_name=${this.productName}`,
      `--admin_addr=${bind}:${ADMIN_PORT}`,
      `--host-admin=${d.adminAddr}`,
      `--raft_id=${d.id}`,
      `--raft_addr=${bind}:${RAFT_PORT}`,
      `--raft_advertise=${d.raftAddr}`,
      `--raft_peers=${peers}`,
      `--data_dir=${d.dataDir}`,
      "--log-level=INFO",
      // Quick sentinel verdicts, so that a failover happens within the failover nemesis's fault window.
      ...(this.shape.sentinels > 0
        ? ["--sentinel_quorum=2", "--sentinel_down_after=5s", "--sentinel_failover_timeout=30s"]
        : []),
      // Founders found the group on their first start (a data dir that holds data ignores this); members that
      // rejoin with an emptied data dir wait for the leader instead.
      join ? "--join" : "--raft_bootstrap=new",
    ];
  }

  #startDashboards(): void {
    const total = this.shape.dashboards + this.shape.spareDashboards;
    const all = Array.from({ length: total }, (_, i) => {
      const host = this.net.host(`dash${i + 1}`);
      return {
        id: i + 1,
        adminAddr: `${host.addr}:${ADMIN_PORT}`,
        raftAddr: `${host.addr}:${RAFT_PORT}`,
        dataDir: `${this.dataDir}/dash${i + 1}`,
        host,
      };
    });
    const founders = all.slice(0, this.shape.dashboards);
    const peers = founders.map((d) => `${d.id}=${d.raftAddr}`).join(",");
    for (const d of all) {
      const founder = d.id <= this.shape.dashboards;
      const args = this.#dashboardArgs(d, d.host.bind, peers, !founder);
      const proc = new Proc(`dash${d.id}`, "dashboard", d.host, Deno.execPath(), args, `${d.dataDir}.log`, this.net, {
        CODIS_PRODUCT_AUTH: this.productAuth,
        CODIS_CLUSTER_SECRET: this.clusterSecret,
      });
      if (founder) proc.start();
      else this.outside.add(d.id);
      this.dashboards.push({ ...d, proc });
    }
  }

  /** Gives dashboard `d` a fresh data dir and a `--join` command line listing `peers` (it was removed). */
  async resetToJoin(d: Dashboard, peers: string): Promise<void> {
    await Deno.remove(d.dataDir, { recursive: true }).catch(() => {});
    d.proc.args = this.#dashboardArgs(d, d.proc.host.bind, peers, true);
  }

  /** `id=raftAddr` for each dashboard whose id is in `ids`. */
  peerList(ids: number[]): string {
    return this.dashboards.filter((d) => ids.includes(d.id)).map((d) => `${d.id}=${d.raftAddr}`).join(",");
  }

  async #setUpGroups(): Promise<void> {
    for (const [gid, members] of this.groups) {
      await retry(() => this.put(`group/create/XAUTH/${gid}`), 30_000);
      for (const addr of members) await retry(() => this.put(`group/add/XAUTH/${gid}/${addr}`), 30_000);
      await retry(() => this.put(`group/action/create/XAUTH/${members[1]}`), 30_000);
    }
    const per = Math.ceil(1024 / this.shape.groups);
    const assignment = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: 1 + Math.floor(id / per) }));
    await retry(() => this.put(`slots/assign/XAUTH`, assignment), 30_000);
    await retry(() => this.put(`group/resync-all/XAUTH`), 30_000);
  }

  /** Sentinels beside the first Redis servers, added to the dashboards and told to monitor every group. */
  async #startSentinels(): Promise<void> {
    for (const server of this.redis.slice(0, this.shape.sentinels)) {
      const host = server.host;
      const dir = `${this.dataDir}/sentinel-${server.name}`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/sentinel.conf`,
        `port ${SENTINEL_PORT}\nbind ${host.bind}\nsentinel announce-ip ${host.addr}\ndir ${dir}\n` +
          `protected-mode no\nlogfile ${dir}/sentinel.log\n`,
      );
      const args = [`${dir}/sentinel.conf`, "--sentinel", "--loglevel", "warning"];
      const p = new Proc(`sentinel-${server.name}`, "sentinel", host, "redis-server", args, `${dir}.log`, this.net);
      p.start();
      this.sentinels.push(p);
      await waitTcp(host.bind, SENTINEL_PORT, 20_000, p);
      await retry(() => this.put(`sentinels/add/XAUTH/${host.addr}:${SENTINEL_PORT}`), 30_000);
    }
    await retry(() => this.put(`sentinels/resync-all/XAUTH`), 30_000);
  }

  /** The Redis process serving `addr` (host:port). */
  redisAt(addr: string): Proc | undefined {
    return this.redis.find((p) => `${p.host.addr}:${REDIS_PORT}` === addr);
  }

  #startProxies(): void {
    const dashboards = this.dashboards.map((d) => d.adminAddr).join(",");
    for (let i = 1; i <= this.shape.proxies; i++) {
      const host = this.net.host(`proxy${i}`);
      const c = followerProxyCommand({
        dashboards,
        productName: this.productName,
        productAuth: this.productAuth,
        proxyAddr: `${host.bind}:${PROXY_PORT}`,
        adminAddr: `${host.bind}:${PROXY_ADMIN_PORT}`,
        hostProxy: `${host.addr}:${PROXY_PORT}`,
        hostAdmin: `${host.addr}:${PROXY_ADMIN_PORT}`,
        extraArgs: ["--log-level=INFO", ...this.shape.proxyArgs],
      });
      const p = new Proc(`proxy${i}`, "proxy", host, c.cmd, c.args, `${this.dataDir}/proxy${i}.log`, this.net, c.env);
      p.start();
      this.proxies.push(p);
    }
  }

  async #waitProxiesOnline(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    const want = new Set(this.proxies.map((p) => `${p.host.addr}:${PROXY_PORT}`));
    while (Date.now() < deadline) {
      const st = await this.stats().catch(() => undefined);
      const online = new Set((st?.proxy.models ?? []).map((m) => m.proxy_addr));
      if ([...want].every((a) => online.has(a))) {
        for (const p of this.proxies) await waitTcp(p.host.bind, PROXY_PORT, 10_000, p);
        return;
      }
      await sleep(300);
    }
    throw new Error(`proxies not online within ${ms} ms\n${this.proxies.map((p) => p.tail(10)).join("\n")}`);
  }

  /** Continues paused processes and kills every process. */
  async stop(): Promise<void> {
    for (const p of this.procs) p.signal("SIGCONT");
    await Promise.all(this.procs.map((p) => p.kill()));
  }
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries `f` every 300 ms until it succeeds or `ms` passed (then rethrows its last error). */
export async function retry<T>(f: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0;; i++) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > deadline || i > 10_000) throw e;
      await sleep(300);
    }
  }
}

async function waitTcp(host: string, port: number, ms: number, p: Proc): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname: host, port });
      c.close();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${p.name} (${host}:${port}) did not accept connections within ${ms} ms\n${p.tail(10)}`);
}
