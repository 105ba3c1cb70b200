/**
 * Codis's auto-online through a coordinator (`codis-proxy --zookeeper/--etcd/--filesystem`): the active dashboard
 * of a product is named by the Topom JSON in `/codis3/{product}/topom`; the proxy then registers with it exactly as
 * with `--dashboard=ADDR`.
 * @module
 */
import { openCoordinator, paths } from "../store/mod.ts";
import type { CoordinatorFlag } from "./core/config.ts";
import { checkHostPort } from "./core/config_keys.ts";

/** Options of {@link findDashboard}. */
export interface FindDashboardOptions {
  /** Reads of the node before giving up while it is missing (the dashboard may be starting): default 5. */
  attempts?: number;
  /** Pause between reads, ms: default 1000. */
  intervalMs?: number;
}

const decoder = new TextDecoder();

/** The `admin_addr` from a topom node's JSON; throws naming `where` when it is not there. */
export function adminAddrOf(json: string, where: string): string {
  let addr: unknown;
  try {
    addr = (JSON.parse(json) as { admin_addr?: unknown })?.admin_addr;
  } catch {
    throw new Error(`${where} is not a dashboard's topom JSON`);
  }
  if (typeof addr !== "string" || checkHostPort(addr)) throw new Error(`${where} has no valid admin_addr`);
  return addr;
}

/**
 * Reads the topom node: undefined when it is missing. A filesystem root is read as plain files, since opening it as
 * a store would take the lock its dashboard holds.
 */
async function readTopom(c: CoordinatorFlag, product: string): Promise<string | undefined> {
  const path = paths.topomPath(product);
  if (c.name === "filesystem") {
    const st = await Deno.stat(c.addr).catch(() => undefined);
    if (!st?.isDirectory) throw new Error(`filesystem root ${c.addr} is not a directory`);
    try {
      return await Deno.readTextFile(`${c.addr}/data${path}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }
  const store = await openCoordinator({ name: c.name, addr: c.addr, auth: c.auth });
  try {
    const node = await store.read(path);
    return node && node.data.length > 0 ? decoder.decode(node.data) : undefined;
  } finally {
    await store.close().catch(() => {});
  }
}

/**
 * The admin address of `product`'s active dashboard, read from the coordinator. Retries while the node is missing;
 * then throws "no dashboard registered for product P in zookeeper ADDR". Errors are one line and carry no secret.
 */
export async function findDashboard(
  c: CoordinatorFlag,
  product: string,
  o: FindDashboardOptions = {},
): Promise<string> {
  const attempts = Math.max(1, o.attempts ?? 5);
  const where = `${c.name} ${c.addr}`;
  for (let i = 1;; i++) {
    let json: string | undefined;
    try {
      json = await readTopom(c, product);
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      throw new Error(`cannot read ${paths.topomPath(product)} from ${where}: ${msg}`);
    }
    if (json !== undefined) return adminAddrOf(json, `${paths.topomPath(product)} in ${where}`);
    if (i >= attempts) throw new Error(`no dashboard registered for product ${product} in ${where}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 1000));
  }
}
