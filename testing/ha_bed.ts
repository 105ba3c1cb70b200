/**
 * What the HA tests (tests/ha_*_test.ts) set up alike: the processes one test starts, stopped together in its
 * `finally` whatever step failed; a sentinel put in front of group 1 through the dashboard's API; and the whole
 * cluster of the Sentinel failover tests (dashboard, master and replica, sentinel, proxy).
 * @module
 */
import { equal } from "node:assert/strict";
import type { Redis } from "ioredis";
import { type DashboardGroup, type DashboardGroupOptions, type SentinelProcess, startSentinel } from "./dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "./codis_proxy.ts";
import { type RedisProcess, startRedis } from "./redis.ts";
import { startTcpRelay, type TcpRelay } from "./tcp_relay.ts";
import { setupReplicatedGroup, startMaster, startSentinelDashboard, TestClients } from "./replicated_group.ts";
import { shortenSentinelTilt } from "./sentinel_debug.ts";
import { until } from "./wait.ts";

/**
 * The processes and clients of one HA test. The test assigns each part as it starts it; {@link HaTestBed.stop}
 * stops what was started, users before what they use: the clients, the proxy, the sentinel, the dashboards, the
 * relays, then the redis-servers.
 */
export class HaTestBed {
  /** redis-servers, stopped last (`startMaster(bed.servers)` adds the master). */
  readonly servers: RedisProcess[] = [];
  /** Relays between the servers and the rest. */
  readonly relays: TcpRelay[] = [];
  readonly clients: TestClients = new TestClients();
  g?: DashboardGroup;
  sentinel?: SentinelProcess;
  proxy?: CodisProxyProcess;
  /** A client of 127.0.0.1:`port`, disconnected by {@link HaTestBed.stop}. */
  readonly client: (port: number) => Redis = this.clients.open;

  /** Stops everything started; the test calls it in its `finally`. */
  async stop(): Promise<void> {
    this.clients.closeAll();
    await this.proxy?.stop();
    await this.sentinel?.stop();
    await this.g?.stop();
    for (const r of this.relays) await r.close();
    for (const s of this.servers) await s.stop();
  }
}

/**
 * Has the dashboards (through `via`) follow `sentinel` and make it monitor every group: adds it, then resync-all;
 * asserts both answer 200. Its TILT is shortened first: a sentinel starved for 2 s on a loaded machine would sit in
 * TILT for 30 s, past a failover's bound.
 */
export async function addSentinel(g: DashboardGroup, via: string, sentinel: SentinelProcess): Promise<void> {
  await shortenSentinelTilt(sentinel);
  equal((await g.call(via, "PUT", `/api/topom/sentinels/add/${g.xauth}/${sentinel.addr}`)).status, 200);
  equal((await g.call(via, "PUT", `/api/topom/sentinels/resync-all/${g.xauth}`)).status, 200);
}

/** Waits (15 s at most) until `sentinel`, asked through `via`, lists one replica of group 1 of `product`. */
export async function untilSentinelSeesReplica(
  g: DashboardGroup,
  via: string,
  sentinel: SentinelProcess,
  product: string,
  what = "the sentinel sees the replica",
): Promise<void> {
  await until(what, 15_000, async () => {
    const m = await g.call(via, "GET", `/api/topom/sentinels/info/${sentinel.addr}/monitored`);
    return m.json[`${product}-1`]?.slaves?.length === 1 ? true : undefined;
  }, 100);
}

/** Waits until `master` (INFO) lists a replica whose link is online. */
export async function untilReplicaOnline(master: Redis, timeoutMs: number, what = "the replica online"): Promise<void> {
  await until(what, timeoutMs, async () => /state=online/.test(String(await master.info())) || undefined, 100);
}

/** What {@link startSentinelCluster} varies. */
export interface SentinelClusterOptions {
  /** Options of the dashboard (see {@link startSentinelDashboard}). */
  dashboard?: DashboardGroupOptions;
  /** The replica replicates through a relay the test can stall (returned as `relay`). */
  relayReplication?: boolean;
  /** codis-proxy flags beside --dashboard and --product_name. */
  proxyArgs?: string[];
}

/** The parts of a cluster started by {@link startSentinelCluster} (all of them also held by its bed). */
export interface SentinelCluster {
  g: DashboardGroup;
  /** The dashboard leader's admin address. */
  d: string;
  master: RedisProcess;
  replica: RedisProcess;
  /** Between the replica and the master when `relayReplication` was asked. */
  relay?: TcpRelay;
  sentinel: SentinelProcess;
  proxy: CodisProxyProcess;
  /** A client of the master. */
  onMaster: Redis;
  /** A client of the proxy, which has acknowledged SET first 1. */
  pc: Redis;
}

/**
 * Into `bed`: a dashboard of `product` following a sentinel, group 1 of a master and its online replica holding every
 * slot, the sentinel monitoring it, and a codis-proxy that has acknowledged a write (`first` = `1`).
 */
export async function startSentinelCluster(
  bed: HaTestBed,
  product: string,
  opts: SentinelClusterOptions = {},
): Promise<SentinelCluster> {
  const g = bed.g = await startSentinelDashboard(product, opts.dashboard);
  const d = (await g.leader()).admin;
  const master = await startMaster(bed.servers);
  const relay = opts.relayReplication ? startTcpRelay(master.port) : undefined;
  if (relay) bed.relays.push(relay);
  const replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(relay?.port ?? master.port)] });
  bed.servers.push(replica);
  await setupReplicatedGroup(g, d, [master.addr, replica.addr]);
  const onMaster = bed.client(master.port);
  await untilReplicaOnline(onMaster, 10_000);
  const sentinel = bed.sentinel = await startSentinel();
  await addSentinel(g, d, sentinel);
  await untilSentinelSeesReplica(g, d, sentinel, product);
  const proxy = bed.proxy = await startCodisProxy([
    `--dashboard=${d}`,
    `--product_name=${product}`,
    ...(opts.proxyArgs ?? []),
  ]);
  const pc = bed.client(proxy.port);
  await until("the proxy acknowledges a write", 15_000, async () => (await pc.set("first", "1")) === "OK" || undefined);
  return { g, d, master, replica, relay, sentinel, proxy, onMaster, pc };
}
