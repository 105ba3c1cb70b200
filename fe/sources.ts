/**
 * The FE's product sources: Codis's `--dashboard-list` JSON file, a store (filesystem, etcd, ZooKeeper: every
 * `/codis3/{product}/topom` node names its active dashboard), or the dashboards of one product (our embedded Raft
 * coordinator), which tell their product name and their Raft peers' admin addresses.
 * @module
 */
import { type CoordClient, openCoordinator, paths } from "../store/mod.ts";
import { isHostPort, splitAddrs } from "./args.ts";
import { fetchError } from "./forward.ts";
import { addDashboards, type ProductLoader, type ProductMap } from "./directory.ts";
import { adminFetch, adminUrl } from "../util/admin_calls.ts";

const decoder = new TextDecoder();
const PRODUCT_NAME = /^[A-Za-z0-9_.-]+$/;

/** Parses Codis's dashboard list: `[{"name": PRODUCT, "dashboard": "host:port[,host:port]"}]`. */
export function parseDashboardList(text: string, what = "dashboard list"): ProductMap {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: invalid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new Error(`${what}: expected a JSON array of {"name", "dashboard"}`);
  const m: ProductMap = new Map();
  raw.forEach((item, i) => {
    const { name, dashboard } = (item ?? {}) as { name?: unknown; dashboard?: unknown };
    if (typeof name !== "string" || !PRODUCT_NAME.test(name)) {
      throw new Error(`${what}: entry ${i}: invalid product name ${JSON.stringify(name)}`);
    }
    if (dashboard !== undefined && typeof dashboard !== "string") {
      throw new Error(`${what}: entry ${i} (${name}): "dashboard" must be a string`);
    }
    const addrs = splitAddrs(dashboard ?? "");
    const bad = addrs.find((a) => !isHostPort(a));
    if (bad !== undefined) throw new Error(`${what}: entry ${i} (${name}): invalid dashboard address "${bad}"`);
    addDashboards(m, name, addrs); // a product without a dashboard (none active) is left out, as Codis does
  });
  return m;
}

/** Reads the `--dashboard-list` file on every load. */
export function fileLoader(file: string): ProductLoader {
  return async () => {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(`read ${file}: ${(e as Error).message}`);
    }
    return parseDashboardList(text, file);
  };
}

/** Lists `/codis3/*` and each product's `topom` node (its active dashboard's admin_addr). */
export async function listStoreProducts(store: CoordClient): Promise<ProductMap> {
  const m: ProductMap = new Map();
  for (const p of await store.list(paths.CODIS_ROOT)) {
    const name = p.slice(p.lastIndexOf("/") + 1);
    if (!PRODUCT_NAME.test(name)) continue;
    const n = await store.read(`${p}/topom`);
    if (!n || n.data.length === 0) continue;
    try {
      const addr = String(JSON.parse(decoder.decode(n.data)).admin_addr ?? "");
      if (isHostPort(addr)) addDashboards(m, name, [addr]);
    } catch { /* a topom node we cannot decode: no dashboard to forward to */ }
  }
  return m;
}

/**
 * Lists the products of a filesystem store by reading its files (`{root}/data/codis3/{product}/topom`): opening
 * the store would take its lock, which its dashboard holds.
 */
export async function listFsProducts(root: string): Promise<ProductMap> {
  const m: ProductMap = new Map();
  const dir = `${root}/data${paths.CODIS_ROOT}`;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return m; // no product yet
    throw new Error(`read ${dir}: ${(e as Error).message}`);
  }
  for (const e of entries) {
    if (!e.isDirectory || !PRODUCT_NAME.test(e.name)) continue;
    const text = await Deno.readTextFile(`${dir}/${e.name}/topom`).catch(() => "");
    try {
      const addr = text ? String(JSON.parse(text).admin_addr ?? "") : "";
      if (isHostPort(addr)) addDashboards(m, e.name, [addr]);
    } catch { /* a topom file we cannot decode: no dashboard to forward to */ }
  }
  return m;
}

/** Opens an external store (a filesystem root is only read, never locked) and lists from it. */
export async function storeLoader(
  spec: { name: "filesystem" | "etcd" | "zookeeper"; addr: string; auth?: string },
): Promise<{ loader: ProductLoader; close(): Promise<void> }> {
  if (spec.name === "filesystem") {
    const st = await Deno.stat(spec.addr).catch(() => undefined);
    if (!st?.isDirectory) throw new Error(`filesystem root ${spec.addr} is not a directory`);
    return { loader: () => listFsProducts(spec.addr), close: async () => {} };
  }
  const store = await openCoordinator({ name: spec.name, addr: spec.addr, auth: spec.auth });
  return { loader: () => listStoreProducts(store), close: () => store.close() };
}

async function getJson(addr: string, path: string, timeoutMs: number): Promise<unknown> {
  const res = await adminFetch(adminUrl(addr, path), { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${path}: HTTP ${res.status}`);
  }
  return await res.json();
}

/**
 * One product whose dashboards form a Raft group: the first dashboard that answers tells the product name
 * (`GET /topom/model`) and its peers' admin addresses (`GET /api/topom/raft/status`), so that dashboards added
 * later are found too. The given addresses always stay in the list.
 */
export function dashboardLoader(addrs: string[], timeoutMs = 3000): ProductLoader {
  let known = "";
  const peers = new Set<string>();
  return async () => {
    const errors: string[] = [];
    for (const addr of [...addrs, ...[...peers].filter((p) => !addrs.includes(p))]) {
      try {
        const model = await getJson(addr, "/topom/model", timeoutMs) as { product_name?: unknown };
        const name = String(model?.product_name ?? "");
        if (!PRODUCT_NAME.test(name)) throw new Error("no product name in /topom/model");
        known = name;
        const st = await getJson(addr, "/api/topom/raft/status", timeoutMs).catch(() => undefined) as
          | { members?: { apiAddr?: unknown }[] }
          | undefined;
        for (const mb of st?.members ?? []) {
          if (typeof mb.apiAddr === "string" && isHostPort(mb.apiAddr)) peers.add(mb.apiAddr);
        }
        const m: ProductMap = new Map();
        addDashboards(m, name, [addr, ...addrs, ...peers]);
        return m;
      } catch (e) {
        errors.push(`${addr}: ${fetchError(e)}`);
      }
    }
    // Every dashboard down: keep offering the product (the page shows the forwarding error) once its name is known.
    if (known) return new Map([[known, [...new Set([...addrs, ...peers])]]]);
    throw new Error(`no dashboard answered: ${errors.join("; ")}`);
  };
}
