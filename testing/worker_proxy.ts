/**
 * A codis-proxy in worker mode (`--proxy_workers`) over two standalone redis-servers, with many client connections
 * (so they spread over the threads) and an admin client holding the proxy's token.
 * @module
 */
import { Redis } from "ioredis";
import { ProxyAdminClient } from "../topom/server/proxy_client.ts";
import { type CodisProxyProcess, startCodisProxy } from "./codis_proxy.ts";
import { type RedisProcess, startRedis } from "./redis.ts";

/** What {@link withWorkerProxy} hands its test. */
export interface WorkerProxyFixture {
  /** The proxy process. */
  proxy: CodisProxyProcess;
  /** Its two backends: slots 0-511 on the first, 512-1023 on the second (standalone mode). */
  backends: RedisProcess[];
  /** `clients` connections to the proxy, opened at once so the listener spreads them over the threads. */
  clients: Redis[];
  /** An admin client of the proxy, its token already set. */
  admin: ProxyAdminClient;
  /** The proxy's token (for the xauth of admin URLs). */
  token: string;
}

/** How {@link withWorkerProxy} starts the proxy. */
export interface WorkerProxyOptions {
  /** `--proxy_workers`. */
  workers: number;
  /** `--product_name` (the product auth is empty). */
  product: string;
  /** How many client connections to open. */
  clients: number;
  /** More codis-proxy flags. */
  extraArgs?: string[];
}

/** Runs `fn` with a worker-mode proxy over two backends; disconnects the clients and stops every process after. */
export async function withWorkerProxy(
  opts: WorkerProxyOptions,
  fn: (f: WorkerProxyFixture) => Promise<void>,
): Promise<void> {
  const backends: RedisProcess[] = [];
  const clients: Redis[] = [];
  let proxy: CodisProxyProcess | undefined;
  try {
    backends.push(await startRedis(), await startRedis());
    proxy = await startCodisProxy([
      ...backends.map((b) => `--backend=${b.addr}`),
      `--proxy_workers=${opts.workers}`,
      `--product_name=${opts.product}`,
      "--product_auth=",
      ...(opts.extraArgs ?? []),
    ]);
    for (let i = 0; i < opts.clients; i++) {
      clients.push(new Redis({ port: proxy.port, host: "127.0.0.1", maxRetriesPerRequest: 0 }));
    }
    const admin = new ProxyAdminClient(`127.0.0.1:${proxy.adminPort}`, { productName: opts.product, productAuth: "" });
    const token = (await admin.model()).token;
    admin.setToken(token);
    await fn({ proxy, backends, clients, admin, token });
  } finally {
    for (const c of clients) c.disconnect();
    await proxy?.stop();
    for (const b of backends) await b.stop();
  }
}
