/**
 * codis-admin's coordinator commands (Codis's `cmd/admin/admin.go`): remove the dashboard lock, dump, convert
 * and restore a product's configuration, list the products. They talk to the store directly: ZooKeeper, etcd,
 * the filesystem, or the dashboards' embedded Raft store over HTTP.
 * @module
 */
import type { Group, ProxyModel } from "../models/mod.ts";
import { type CoordClient, HttpStoreClient, openCoordinator, paths } from "../store/mod.ts";
import { configDump, restoreWrites, validateConfigV3 } from "../topom/config_dump.ts";
import { ModelCache, writeToOp } from "../topom/model_cache.ts";
import { type Args, onlyOne, type OptionName } from "./args.ts";
import type { Out } from "./dashboard_cmd.ts";
import { prettyJson } from "./format.ts";
import { AdminError, oneLine } from "./http.ts";

/** The coordinator commands, in the order they are recognised. */
export const COORD_COMMANDS: readonly OptionName[] = [
  "remove-lock",
  "config-dump",
  "config-convert",
  "config-restore",
  "dashboard-list",
];

const decoder = new TextDecoder();

/** Opens the store named by --zookeeper, --etcd, --filesystem or --raft. */
export async function openStore(a: Args): Promise<CoordClient> {
  const which = onlyOne(a, ["zookeeper", "etcd", "filesystem", "raft"]);
  try {
    switch (which) {
      case "zookeeper":
        return await openCoordinator({
          name: "zookeeper",
          addr: a.need("zookeeper"),
          auth: a.secret("zookeeper-auth"),
        });
      case "etcd":
        return await openCoordinator({ name: "etcd", addr: a.need("etcd"), auth: a.secret("etcd-auth") });
      case "filesystem": {
        // Opening a filesystem store creates its root: a mistyped path must not become an empty product.
        const root = a.need("filesystem");
        const st = await Deno.stat(root).catch(() => undefined);
        if (!st?.isDirectory) throw new AdminError(`filesystem root ${root} is not a directory`);
        return await openCoordinator({ name: "filesystem", addr: root });
      }
      case "raft":
        return new HttpStoreClient({
          endpoints: a.need("raft").split(",").map((s) => s.trim()).filter(Boolean),
          secret: raftSecret(a),
        });
      default:
        throw new AdminError("invalid coordinator: give --zookeeper, --etcd, --filesystem or --raft");
    }
  } catch (e) {
    if (e instanceof AdminError) throw e;
    throw new AdminError(`create '${which}' client failed: ${oneLine((e as Error).message)}`);
  }
}

/** The Raft store's secret: --cluster-secret (the dashboards' `cluster_secret`; it is never derived). */
function raftSecret(a: Args): string {
  const s = a.secret("cluster-secret");
  if (s) return s;
  throw new AdminError("option --cluster-secret is required with --raft (the dashboards' cluster_secret)");
}

function productArg(a: Args): string {
  const p = a.need("product");
  if (!/^[A-Za-z0-9_.-]+$/.test(p)) throw new AdminError(`invalid product name = ${JSON.stringify(p)}`);
  return p;
}

/** Runs one coordinator command. */
export async function runCoordinator(a: Args, out: Out): Promise<void> {
  const cmd = onlyOne(a, COORD_COMMANDS);
  if (cmd === undefined) throw new AdminError("nothing to do: give --proxy, --dashboard or a coordinator command");
  if (a.positionals.length > 0) throw new AdminError(`unexpected argument "${a.positionals[0]}"`);
  if (cmd === "config-convert") return out(prettyJson(await convertFile(a.need("config-convert"))));
  const product = cmd === "dashboard-list" ? "" : productArg(a);
  // A restore file is checked before any connection, as Codis does.
  const restore = cmd === "config-restore" ? await readConfigV3(a.need("config-restore")) : undefined;
  if (restore && !a.has("confirm")) return out(prettyJson(omitEmpty(restore)));
  const store = await openStore(a);
  try {
    switch (cmd) {
      case "remove-lock":
        await store.delete(paths.topomPath(product));
        return;
      case "config-dump":
        return out(prettyJson(a.has("1") ? await dumpV1(store, product) : await dumpV3(store, product)));
      case "config-restore":
        return await restoreV3(store, product, restore!);
      case "dashboard-list":
        return out(prettyJson(await dashboardList(store)));
    }
  } catch (e) {
    if (e instanceof AdminError) throw e;
    throw new AdminError(`${cmd} failed: ${oneLine((e as Error).message)}`);
  } finally {
    await store.close().catch(() => {});
  }
}

/** Drops empty arrays, as Go's `omitempty` does for ConfigV3. */
function omitEmpty(c: { slots: unknown[]; group: unknown[]; proxy: unknown[] }): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of ["slots", "group", "proxy"] as const) if (c[k].length) o[k] = c[k];
  return o;
}

async function readNodes(store: CoordClient, dir: string) {
  const out = [];
  for (const p of await store.list(dir)) {
    const n = await store.read(p);
    if (n) out.push(n);
  }
  return out;
}

async function dumpV3(store: CoordClient, product: string): Promise<Record<string, unknown>> {
  const cache = new ModelCache(product);
  cache.load(await readNodes(store, paths.groupDir(product)));
  cache.load(await readNodes(store, paths.proxyDir(product)));
  const model = cache.model();
  if (model.groups.length === 0 && model.proxies.length === 0) {
    throw new AdminError(`can't find product = ${product} [v3]`);
  }
  cache.load(await readNodes(store, paths.slotsDir(product)));
  return omitEmpty(configDump(cache.model()));
}

async function dumpTree(store: CoordClient, path: string, depth: number): Promise<unknown> {
  if (depth > 16) throw new AdminError(`tree under ${path} is too deep`);
  const children = await store.list(path);
  if (children.length) {
    const m: Record<string, unknown> = {};
    for (const c of children) m[c.slice(c.lastIndexOf("/") + 1)] = await dumpTree(store, c, depth + 1);
    return m;
  }
  const n = await store.read(path);
  if (!n || n.data.length === 0) return null;
  try {
    return JSON.parse(decoder.decode(n.data));
  } catch {
    throw new AdminError(`json unmarshal of ${path} failed`);
  }
}

async function dumpV1(store: CoordClient, product: string): Promise<unknown> {
  const v = await dumpTree(store, `/zk/codis/db_${product}`, 0);
  if (typeof v !== "object" || v === null) throw new AdminError(`can't find product = ${product} [v1]`);
  return v;
}

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new AdminError(`read file '${file}' failed: ${oneLine((e as Error).message)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AdminError(`json unmarshal of '${file}' failed: ${oneLine((e as Error).message)}`);
  }
}

async function readConfigV3(file: string) {
  const raw = await readJsonFile(file);
  try {
    return validateConfigV3(raw);
  } catch (e) {
    throw new AdminError(`invalid config '${file}': ${oneLine((e as Error).message)}`);
  }
}

async function restoreV3(store: CoordClient, product: string, config: ReturnType<typeof validateConfigV3>) {
  const cache = new ModelCache(product);
  cache.load(await readNodes(store, paths.groupDir(product)));
  cache.load(await readNodes(store, paths.proxyDir(product)));
  let writes;
  try {
    writes = restoreWrites(cache.model(), config);
  } catch (e) {
    throw new AdminError(`product ${product} is not empty: ${oneLine((e as Error).message)}`);
  }
  for (const w of writes) {
    const op = writeToOp(product, w);
    if (op.op === "put") await store.update(op.path, op.data);
    else await store.delete(op.path);
  }
}

async function dashboardList(store: CoordClient): Promise<{ name: string; dashboard: string }[]> {
  const out = [];
  for (const p of await store.list(paths.CODIS_ROOT)) {
    const name = p.slice(p.lastIndexOf("/") + 1);
    let dashboard = "";
    const n = await store.read(`${p}/topom`);
    if (n && n.data.length) {
      try {
        dashboard = String(JSON.parse(decoder.decode(n.data)).admin_addr ?? "");
      } catch {
        throw new AdminError(`decode topom of product ${name} failed`);
      }
    }
    out.push({ name, dashboard });
  }
  return out;
}

/** Converts a Codis 1.x/2.x dump (`--config-dump -1`) into `{slots (online only), group}`. */
export async function convertFile(file: string): Promise<Record<string, unknown>> {
  return convertV1(await readJsonFile(file));
}

/** The pure part of {@link convertFile}. */
export function convertV1(raw: unknown): Record<string, unknown> {
  const cfg = (raw ?? {}) as { slots?: Record<string, unknown>; servers?: Record<string, Record<string, unknown>> };
  const fail = (why: string): never => {
    throw new AdminError(`convert config failed: ${why}`);
  };
  const slots = new Map<number, { id: number; group_id: number; action: Record<string, never> }>();
  for (const v of Object.values(cfg.slots ?? {})) {
    const m = v as { id?: unknown; group_id?: unknown; state?: { status?: unknown } };
    const sid = Number(m?.id), gid = Number(m?.group_id), status = m?.state?.status;
    if (!Number.isInteger(sid) || !Number.isInteger(gid)) fail("slot without id or group_id");
    if (status === "offline") continue;
    if (status !== "online") fail(`invalid slot status ${JSON.stringify(status)}`);
    if (slots.has(sid)) fail(`slot-${String(sid).padStart(4, "0")} already exists`);
    slots.set(sid, { id: sid, group_id: gid, action: {} });
  }
  const groups = new Map<number, Group>();
  for (const g of Object.values(cfg.servers ?? {})) {
    for (const v of Object.values(g ?? {})) {
      const m = v as { addr?: unknown; group_id?: unknown; type?: unknown };
      const gid = Number(m?.group_id);
      if (!Number.isInteger(gid) || gid <= 0 || gid > 9999) fail(`invalid group = ${String(m?.group_id)}`);
      if (typeof m.addr !== "string") fail(`group-${gid} server without addr`);
      const group = groups.get(gid) ?? { id: gid, servers: [], promoting: {}, out_of_sync: false };
      const x = { server: m.addr as string, datacenter: "", action: {}, replica_group: false };
      if (m.type === "master") group.servers.unshift(x);
      else group.servers.push(x);
      groups.set(gid, group);
    }
  }
  return omitEmpty({
    slots: [...slots.values()].sort((a, b) => a.id - b.id),
    group: [...groups.values()].sort((a, b) => a.id - b.id),
    proxy: [] as ProxyModel[],
  });
}
