/**
 * codis-admin's `--config-dump` / `--config-restore` model (Codis's `ConfigV3`): the JSON shape, and the
 * validation a dump must pass before it is written into an empty product.
 * @module
 */
import { MAX_GROUP_ID, MAX_SLOT_NUM } from "../models/mod.ts";
import type { Group, ProxyModel, SlotMapping } from "../models/mod.ts";
import { cleanSlotMapping, cloneGroup, type ClusterModel, Context, TopomError, type Write } from "./context.ts";

/** `{slots, group, proxy}` as printed by `--config-dump` and read by `--config-restore`. */
export interface ConfigV3 {
  slots: SlotMapping[];
  group: Group[];
  proxy: ProxyModel[];
}

const pad4 = (n: number) => String(n).padStart(4, "0");

/** The dump of a model: all 1024 slots, groups by id, proxies by id. */
export function configDump(model: ClusterModel): ConfigV3 {
  const ctx = new Context(model);
  return {
    slots: ctx.slots.map(cleanSlotMapping),
    group: [...ctx.groups.values()].map(cloneGroup),
    proxy: [...ctx.proxies.values()].sort((a, b) => (a.id ?? 0) - (b.id ?? 0)),
  };
}

/**
 * Validates a dump for restore, with Codis's checks: unique proxy ids; group ids in 1..9999, unique, not
 * promoting; servers unique across groups; slot ids in range and unique, without actions, and owned by a group
 * with servers. Unlike Codis, offline slots (`group_id` 0) are accepted, so a dump of a partly assigned
 * cluster restores. Throws a {@link TopomError} naming the first problem.
 */
export function validateConfigV3(raw: unknown): ConfigV3 {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new TopomError("config must be a JSON object {slots, group, proxy}", 400);
  }
  const c = raw as Partial<Record<keyof ConfigV3, unknown>>;
  for (const k of ["slots", "group", "proxy"] as const) {
    if (c[k] !== undefined && c[k] !== null && !Array.isArray(c[k])) {
      throw new TopomError(`config.${k} must be an array`, 400);
    }
  }
  const config: ConfigV3 = {
    slots: (c.slots ?? []) as SlotMapping[],
    group: (c.group ?? []) as Group[],
    proxy: (c.proxy ?? []) as ProxyModel[],
  };
  const proxyIds = new Set<number>();
  for (const p of config.proxy) {
    if (typeof p?.token !== "string" || p.token === "") throw new TopomError("proxy without token", 400);
    const id = p.id ?? 0;
    if (proxyIds.has(id)) throw new TopomError(`proxy-${pad4(id)} already exists`, 400);
    proxyIds.add(id);
  }
  const groups = new Map<number, Group>();
  for (const g of config.group) {
    if (!Number.isInteger(g?.id) || g.id <= 0 || g.id > MAX_GROUP_ID) {
      throw new TopomError(`invalid group id = ${g?.id}`, 400);
    }
    if (groups.has(g.id)) throw new TopomError(`group-${pad4(g.id)} already exists`, 400);
    if (g.promoting?.state) throw new TopomError(`group-${pad4(g.id)} is promoting`, 400);
    if (!Array.isArray(g.servers)) throw new TopomError(`group-${pad4(g.id)} servers must be an array`, 400);
    groups.set(g.id, g);
  }
  const servers = new Set<string>();
  for (const g of groups.values()) {
    for (const x of g.servers) {
      if (typeof x?.server !== "string" || x.server === "") {
        throw new TopomError(`group-${pad4(g.id)} has a server without address`, 400);
      }
      if (servers.has(x.server)) throw new TopomError(`server ${x.server} already exists`, 400);
      servers.add(x.server);
    }
  }
  const slots = new Set<number>();
  for (const s of config.slots) {
    if (!Number.isInteger(s?.id) || s.id < 0 || s.id >= MAX_SLOT_NUM) {
      throw new TopomError(`invalid slot id = ${s?.id}`, 400);
    }
    if (slots.has(s.id)) throw new TopomError(`slot-${pad4(s.id)} already exists`, 400);
    if (s.action?.state || s.action?.index || s.action?.target_id) {
      throw new TopomError(`slot-${pad4(s.id)} action is not empty`, 400);
    }
    const gid = s.group_id ?? 0;
    if (gid !== 0 && !(groups.get(gid)?.servers.length)) {
      throw new TopomError(`slot-${pad4(s.id)} with group-${pad4(gid)} doesn't exist or empty`, 400);
    }
    slots.add(s.id);
  }
  return config;
}

/**
 * The writes that restore a validated dump into `current`, which must hold no proxies and no groups (Codis:
 * "list of proxy is not empty" / "list of group is not empty"). Slots first, then groups, then proxies.
 */
export function restoreWrites(current: ClusterModel, config: ConfigV3): Write[] {
  if (current.proxies.length !== 0) throw new TopomError("list of proxy is not empty");
  if (current.groups.length !== 0) throw new TopomError("list of group is not empty");
  return [
    ...config.slots.map((s): Write => ({ kind: "slot", slot: cleanSlotMapping(s) })),
    ...config.group.map((g): Write => ({ kind: "group", group: cloneGroup(g) })),
    ...config.proxy.map((p): Write => ({ kind: "proxy", proxy: { ...p } })),
  ];
}
