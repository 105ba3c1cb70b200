/**
 * A replicated group for HA tests: the ioredis clients a test opens to its servers and proxies, and group 1 made of
 * a master and its replicas through the dashboard's API.
 * @module
 */
import { equal } from "node:assert/strict";
import { Redis } from "ioredis";
import { type DashboardGroup, type DashboardGroupOptions, startDashboards } from "./dashboard.ts";
import { type RedisProcess, startRedis } from "./redis.ts";

/**
 * The ioredis clients of one test: no retries, and errors ignored (the test kills and cuts off servers on purpose);
 * {@link TestClients.closeAll} in the test's `finally` disconnects every one.
 */
export class TestClients {
  readonly #all: Redis[] = [];

  /** A client of 127.0.0.1:`port`. */
  open = (port: number): Redis => {
    const c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
    c.on("error", () => {});
    this.#all.push(c);
    return c;
  };

  /** Disconnects every client opened. */
  closeAll(): void {
    for (const c of this.#all) c.disconnect();
    this.#all.length = 0;
  }
}

/**
 * Through the API of `via`: creates group 1 holding `addrs` (the master first, then its replicas) and assigns all
 * 1024 slots to it. Asserts every call answers 200.
 */
export async function setupReplicatedGroup(g: DashboardGroup, via: string, addrs: string[]): Promise<void> {
  const x = g.xauth;
  equal((await g.call(via, "PUT", `/api/topom/group/create/${x}/1`)).status, 200, "group/create");
  for (const addr of addrs) {
    equal((await g.call(via, "PUT", `/api/topom/group/add/${x}/1/${addr}`)).status, 200, `group/add ${addr}`);
  }
  const assign = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: 1 }));
  equal((await g.call(via, "PUT", `/api/topom/slots/assign/${x}`, assign)).status, 200, "slots/assign");
}

/** Starts a master whose replicas sync at once (repl-diskless-sync-delay 0) and adds it to `servers` for cleanup. */
export async function startMaster(servers: RedisProcess[]): Promise<RedisProcess> {
  const master = await startRedis({ extraArgs: ["--repl-diskless-sync-delay", "0"] });
  servers.push(master);
  return master;
}

/**
 * Dashboards of `product` (one Raft group of `opts.n`, default 1) that follow their sentinels with quick failover
 * settings (quorum 1, down after 1 s, failover timeout 10 s, polled every 500 ms), so HA tests see a failover within
 * seconds. Other options are {@link startDashboards}'s.
 */
export function startSentinelDashboard(product: string, opts: DashboardGroupOptions = {}): Promise<DashboardGroup> {
  return startDashboards({
    n: 1,
    ...opts,
    product,
    extra: [
      "--sentinel_quorum=1",
      "--sentinel_down_after=1s",
      "--sentinel_failover_timeout=10s",
      "--sentinel_poll_period=500ms",
      ...(opts.extra ?? []),
    ],
  });
}

/** `INFO replication` of a server, parsed into its fields. */
export async function replicationInfo(c: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of String(await c.info("replication")).split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
