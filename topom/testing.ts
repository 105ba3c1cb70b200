/**
 * Model builders for the topom unit tests.
 * @module
 */
import type { Group, ProxyModel, SlotMapping } from "../models/mod.ts";
import type { ClusterModel } from "./context.ts";

/** Options of {@link buildModel}. */
export interface ModelSpec {
  /** Group id → server addresses (first is the master); `[]` for an empty group. */
  groups?: Record<number, string[]>;
  /** `[beg, end, gid]` assignments, inclusive. */
  assign?: [number, number, number][];
  proxies?: Partial<ProxyModel>[];
  sentinels?: string[];
}

/** A server-side model built from a compact spec. */
export function buildModel(spec: ModelSpec): ClusterModel {
  const groups: Group[] = Object.entries(spec.groups ?? {}).map(([id, servers]) => ({
    id: Number(id),
    servers: servers.map((server) => ({ server, datacenter: "", action: {}, replica_group: false })),
    promoting: {},
    out_of_sync: false,
  }));
  const slots: SlotMapping[] = [];
  for (let id = 0; id < 1024; id++) slots.push({ id, group_id: 0, action: {} });
  for (const [beg, end, gid] of spec.assign ?? []) for (let i = beg; i <= end; i++) slots[i].group_id = gid;
  const proxies = (spec.proxies ?? []).map((p, i) => ({
    id: i + 1,
    token: `t${i + 1}`,
    start_time: "",
    admin_addr: `127.0.0.1:${11080 + i}`,
    proto_type: "tcp4",
    proxy_addr: `127.0.0.1:${19000 + i}`,
    product_name: "codis-demo",
    pid: 1,
    pwd: "/",
    sys: "",
    hostname: "localhost",
    datacenter: "",
    ...p,
  }));
  return { slots, groups, proxies, sentinel: { servers: spec.sentinels ?? [], out_of_sync: false } };
}

/** Slot count per group id (0 = offline), counting a slot with an action for its target. */
export function sizesAfter(model: ClusterModel, plan: Record<number, number> = {}): Record<number, number> {
  const out: Record<number, number> = {};
  for (const m of model.slots) {
    const gid = plan[m.id] ?? (m.action.state ? m.action.target_id ?? 0 : m.group_id);
    out[gid] = (out[gid] ?? 0) + 1;
  }
  return out;
}
