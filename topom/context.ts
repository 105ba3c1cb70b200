/**
 * The dashboard's read-only view of the cluster model (Codis's `pkg/topom/topom_context.go`): lookups over slots,
 * groups, proxies and the sentinel, and `toSlot`, which computes what each proxy is told about a slot.
 *
 * Everything here is pure: no I/O, no clock. Transitions elsewhere in `topom/` take a {@link Context} and return
 * {@link Write}s for the caller to store in order.
 * @module
 */
import {
  type Group,
  type GroupServer,
  MAX_SLOT_NUM,
  type ProxyModel,
  type SentinelFence,
  type SentinelModel,
  type Slot,
  type SlotMapping,
} from "../models/mod.ts";
import { DEFAULT_SLOT_ACTION, type SlotActionSettings } from "./slot_action_settings.ts";
import type { ReplicaGuardRecord } from "./replica_guard_record.ts";

/** The stored cluster model, as read from the coordinator. Missing slots are offline (`group_id` 0). */
export interface ClusterModel {
  slots: SlotMapping[];
  groups: Group[];
  proxies: ProxyModel[];
  sentinel?: SentinelModel;
  /** `slots/action/interval` and `disabled` (absent: Codis's start-up state, interval 0 and enabled). */
  slot_action?: SlotActionSettings;
  /** The replica guard's record (replica_guard_record.ts; absent: nothing guarded). */
  replica_guard?: ReplicaGuardRecord;
}

/** One store write produced by a transition; apply a list of them in order. */
export type Write =
  | { kind: "slot"; slot: SlotMapping }
  | { kind: "group"; group: Group }
  | { kind: "group-remove"; gid: number }
  | { kind: "sentinel"; sentinel: SentinelModel }
  | { kind: "proxy"; proxy: ProxyModel }
  | { kind: "proxy-remove"; token: string }
  | { kind: "slot-action"; settings: SlotActionSettings }
  | { kind: "replica-guard"; record: ReplicaGuardRecord };

/**
 * A refused operation. `status` is the HTTP status the API should answer with: 400 bad input, 404 unknown
 * object, 409 conflicting state. Messages follow Codis's where Codis has one.
 */
export class TopomError extends Error {
  override name = "TopomError";
  constructor(message: string, readonly status: 400 | 404 | 409 = 409) {
    super(message);
  }
}

/** Codis's forward methods, set by `migration_method`. */
export const FORWARD_SYNC = 0;
/** Semi-async forwarding (Codis's default `migration_method`). */
export const FORWARD_SEMI_ASYNC = 1;

/** Maps `migration_method` to the proxies' `forward_method`; undefined for an unknown method. */
export function parseForwardMethod(method: string): number | undefined {
  switch (method) {
    case "sync":
      return FORWARD_SYNC;
    case "semi-async":
      return FORWARD_SEMI_ASYNC;
  }
  return undefined;
}

/** Options of a {@link Context}. */
export interface ContextOptions {
  /** `forward_method` sent with every slot (0 sync, 1 semi-async). Default 1. */
  forwardMethod?: number;
  /**
   * Resolves a host name to a comparable IP string, or undefined when it cannot. Codis resolves DNS (cached);
   * the default treats the host literally, with "localhost" as 127.0.0.1.
   */
  resolveHost?: (host: string) => string | undefined;
}

/** The host part of "host:port" (brackets of an IPv6 literal removed); the whole string when there is no port. */
export function hostOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  let host = i < 0 ? addr : addr.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return host;
}

function literalHost(host: string): string | undefined {
  if (host === "") return undefined;
  const h = host.toLowerCase();
  return h === "localhost" ? "127.0.0.1" : h;
}

/** A deep copy of a slot mapping with Codis's omitempty action fields (no zero index, empty state or target). */
export function cleanSlotMapping(m: SlotMapping): SlotMapping {
  const action: SlotMapping["action"] = {};
  if (m.action?.index) action.index = m.action.index;
  if (m.action?.state) action.state = m.action.state;
  if (m.action?.target_id) action.target_id = m.action.target_id;
  return { id: m.id, group_id: m.group_id ?? 0, action };
}

/** A deep copy of a group with Codis's omitempty fields normalised. */
export function cloneGroup(g: Group): Group {
  const promoting: Group["promoting"] = {};
  if (g.promoting?.index) promoting.index = g.promoting.index;
  if (g.promoting?.state) promoting.state = g.promoting.state;
  const out: Group = {
    id: g.id,
    servers: (g.servers ?? []).map(cloneServer),
    promoting,
    out_of_sync: g.out_of_sync ?? false,
  };
  if (g.sentinel_fence) out.sentinel_fence = cloneSentinelFence(g.sentinel_fence);
  return out;
}

/** A copy of a stored fence keeping only a usable epoch (a hand-edited node must not stop the HA loop). */
function cloneSentinelFence(f: SentinelFence): SentinelFence {
  return typeof f.epoch === "number" && Number.isSafeInteger(f.epoch) && f.epoch >= 0 ? { epoch: f.epoch } : {};
}

/** A deep copy of a group server with omitempty action fields. */
export function cloneServer(x: GroupServer): GroupServer {
  const action: GroupServer["action"] = {};
  if (x.action?.index) action.index = x.action.index;
  if (x.action?.state) action.state = x.action.state;
  return { server: x.server, datacenter: x.datacenter ?? "", action, replica_group: x.replica_group ?? false };
}

/** Read-only lookups over one snapshot of the model. Constructing it copies the model, so callers may mutate theirs. */
export class Context {
  /** All 1024 slot mappings, index = slot id. */
  readonly slots: readonly SlotMapping[];
  /** Groups by id. */
  readonly groups: ReadonlyMap<number, Group>;
  /** Proxies by token. */
  readonly proxies: ReadonlyMap<string, ProxyModel>;
  readonly sentinel: SentinelModel;
  /** The operator's slot-action switches (slot_action_settings.ts). */
  readonly slotAction: SlotActionSettings;
  /** Servers the replica guard set to `replica-priority 0` → the priority to give back. */
  readonly replicaGuard: ReadonlyMap<string, string>;
  /** `forward_method` put in every Slot. */
  readonly method: number;
  readonly #resolve: (host: string) => string | undefined;

  constructor(model: ClusterModel, opts: ContextOptions = {}) {
    const slots: SlotMapping[] = [];
    for (let i = 0; i < MAX_SLOT_NUM; i++) slots.push({ id: i, group_id: 0, action: {} });
    for (const m of model.slots) {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id >= MAX_SLOT_NUM) {
        throw new TopomError(`invalid slot id = ${m.id}`, 400);
      }
      slots[m.id] = cleanSlotMapping(m);
    }
    this.slots = slots;
    const groups = new Map<number, Group>();
    for (const g of [...model.groups].sort((a, b) => a.id - b.id)) groups.set(g.id, cloneGroup(g));
    this.groups = groups;
    const proxies = new Map<string, ProxyModel>();
    for (const p of model.proxies) proxies.set(p.token, { ...p });
    this.proxies = proxies;
    const s = model.sentinel;
    this.sentinel = { servers: [...(s?.servers ?? [])], out_of_sync: s?.out_of_sync ?? false };
    this.slotAction = { ...(model.slot_action ?? DEFAULT_SLOT_ACTION) };
    this.replicaGuard = new Map(Object.entries(model.replica_guard?.servers ?? {}));
    this.method = opts.forwardMethod ?? FORWARD_SEMI_ASYNC;
    this.#resolve = opts.resolveHost ?? literalHost;
  }

  /** The slot mapping `sid`, or "slot-[sid] doesn't exist". Returns a copy. */
  getSlotMapping(sid: number): SlotMapping {
    if (Number.isInteger(sid) && sid >= 0 && sid < MAX_SLOT_NUM) return cleanSlotMapping(this.slots[sid]);
    throw new TopomError(`slot-[${sid}] doesn't exist`, 404);
  }

  /** Slots owned by or migrating to `gid`, ascending. */
  getSlotMappingsByGroupId(gid: number): SlotMapping[] {
    return this.slots.filter((m) => m.group_id === gid || m.action.target_id === gid).map(cleanSlotMapping);
  }

  /** Highest `action.index` among slots with an action (0 when none). */
  maxSlotActionIndex(): number {
    let max = 0;
    for (const m of this.slots) if (m.action.state && (m.action.index ?? 0) > max) max = m.action.index ?? 0;
    return max;
  }

  /** True when any slot belongs to `gid` or is migrating to it. */
  isGroupInUse(gid: number): boolean {
    return this.slots.some((m) => m.group_id === gid || m.action.target_id === gid);
  }

  /** True when group `gid` has a promotion in progress. */
  isGroupPromoting(gid: number): boolean {
    return !!this.groups.get(gid)?.promoting.state;
  }

  /** True when group `gid` is in promote-`prepared`: proxies must hold its slots' requests. */
  isGroupLocked(gid: number): boolean {
    return this.groups.get(gid)?.promoting.state === "prepared";
  }

  /** Whether proxies hold requests for the slot (Codis's `isSlotLocked`). */
  isSlotLocked(m: SlotMapping): boolean {
    switch (m.action?.state ?? "") {
      case "":
      case "pending":
      case "preparing":
        return this.isGroupLocked(m.group_id);
      case "prepared":
        return true;
      case "migrating":
        return this.isGroupLocked(m.group_id) || this.isGroupLocked(m.action.target_id ?? 0);
      case "finished":
        return this.isGroupLocked(m.action.target_id ?? 0);
    }
    throw new TopomError(`slot-[${m.id}] action state is invalid`, 400);
  }

  /** Address of group `gid`'s master (server 0), or "" when the group is missing or empty. */
  getGroupMaster(gid: number): string {
    return this.groups.get(gid)?.servers[0]?.server ?? "";
  }

  /** Masters of every non-empty group, by group id. */
  getGroupMasters(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [gid, g] of this.groups) if (g.servers.length > 0) out.set(gid, g.servers[0].server);
    return out;
  }

  /**
   * Replica groups of `gid` as seen from proxy `p`, nearest first (Codis's `toReplicaGroups`): servers flagged
   * `replica_group` on the proxy's IP and datacenter, then in its datacenter, then elsewhere. Without a proxy
   * everything is "elsewhere". None while the group is promoting or has a single server.
   */
  toReplicaGroups(gid: number, p?: ProxyModel): string[][] | undefined {
    const g = this.groups.get(gid);
    if (!g || g.promoting.state || g.servers.length <= 1) return undefined;
    const dc = p?.datacenter ?? "";
    const ip = p ? this.#resolve(hostOf(p.admin_addr)) : undefined;
    const tiers: string[][] = [[], [], []];
    for (const x of g.servers) {
      if (!x.replica_group) continue;
      let tier = 2;
      if (ip !== undefined && dc === x.datacenter) tier = this.#resolve(hostOf(x.server)) === ip ? 0 : 1;
      tiers[tier].push(x.server);
    }
    const out = tiers.filter((t) => t.length > 0);
    return out.length > 0 ? out : undefined;
  }

  /** What proxy `p` (or any proxy, when omitted) is told about slot mapping `m` (Codis's `toSlot`). */
  toSlot(m: SlotMapping, p?: ProxyModel): Slot {
    const slot: Slot = { id: m.id };
    if (this.isSlotLocked(m)) slot.locked = true;
    const target = m.action?.target_id ?? 0;
    let backend = m.group_id;
    let from = 0;
    let replicas: string[][] | undefined;
    switch (m.action?.state ?? "") {
      case "":
      case "pending":
        replicas = this.toReplicaGroups(m.group_id, p);
        break;
      case "preparing":
        break;
      case "prepared":
      case "migrating":
        backend = target;
        from = m.group_id;
        break;
      case "finished":
        backend = target;
        break;
    }
    const addr = this.getGroupMaster(backend);
    if (addr) slot.backend_addr = addr;
    if (backend) slot.backend_addr_group_id = backend;
    const fromAddr = from ? this.getGroupMaster(from) : "";
    if (fromAddr) slot.migrate_from = fromAddr;
    if (from) slot.migrate_from_group_id = from;
    if (this.method) slot.forward_method = this.method;
    if (replicas) slot.replica_groups = replicas;
    return slot;
  }

  /** {@link toSlot} over a list. */
  toSlotSlice(slots: readonly SlotMapping[], p?: ProxyModel): Slot[] {
    return slots.map((m) => this.toSlot(m, p));
  }

  /** All 1024 slots as proxy `p` (or any proxy) should route them. */
  toSlots(p?: ProxyModel): Slot[] {
    return this.toSlotSlice(this.slots, p);
  }

  /** Group `gid` (a copy), or "group-[gid] doesn't exist". */
  getGroup(gid: number): Group {
    const g = this.groups.get(gid);
    if (!g) throw new TopomError(`group-[${gid}] doesn't exist`, 404);
    return cloneGroup(g);
  }

  /** Index of `addr` in `g.servers`, or "group-[id] doesn't have server-[addr]". */
  getGroupIndex(g: Group, addr: string): number {
    const i = g.servers.findIndex((x) => x.server === addr);
    if (i < 0) throw new TopomError(`group-[${g.id}] doesn't have server-[${addr}]`, 404);
    return i;
  }

  /** The group holding server `addr` (a copy) and its index, or "server-[addr] doesn't exist". */
  getGroupByServer(addr: string): { group: Group; index: number } {
    for (const g of this.groups.values()) {
      const i = g.servers.findIndex((x) => x.server === addr);
      if (i >= 0) return { group: cloneGroup(g), index: i };
    }
    throw new TopomError(`server-[${addr}] doesn't exist`, 404);
  }

  /** Highest index among pending sync actions (0 when none). */
  maxSyncActionIndex(): number {
    let max = 0;
    for (const g of this.groups.values()) {
      for (const x of g.servers) {
        if (x.action.state === "pending" && (x.action.index ?? 0) > max) max = x.action.index ?? 0;
      }
    }
    return max;
  }

  /** Address of the pending sync action with the lowest index, or "" when none. */
  minSyncActionIndex(): string {
    let best: GroupServer | undefined;
    for (const g of this.groups.values()) {
      for (const x of g.servers) {
        if (x.action.state !== "pending") continue;
        if (!best || (x.action.index ?? 0) < (best.action.index ?? 0)) best = x;
      }
    }
    return best?.server ?? "";
  }

  /** Proxy `token` (a copy), or "proxy-[token] doesn't exist". */
  getProxy(token: string): ProxyModel {
    const p = this.proxies.get(token);
    if (!p) throw new TopomError(`proxy-[${token}] doesn't exist`, 404);
    return { ...p };
  }

  /** Highest proxy id (0 when none). */
  maxProxyId(): number {
    let max = 0;
    for (const p of this.proxies.values()) if ((p.id ?? 0) > max) max = p.id ?? 0;
    return max;
  }
}

/** Applies writes to a model in memory, as a store would (for tests, simulations and a dashboard's cache). */
export function applyWrites(model: ClusterModel, writes: readonly Write[]): ClusterModel {
  const slots = new Map(model.slots.map((m) => [m.id, cleanSlotMapping(m)]));
  const groups = new Map(model.groups.map((g) => [g.id, cloneGroup(g)]));
  const proxies = new Map(model.proxies.map((p) => [p.token, { ...p }]));
  let sentinel = model.sentinel ? { ...model.sentinel, servers: [...(model.sentinel.servers ?? [])] } : undefined;
  let slotAction = model.slot_action ? { ...model.slot_action } : undefined;
  let replicaGuard = model.replica_guard ? { servers: { ...model.replica_guard.servers } } : undefined;
  for (const w of writes) {
    switch (w.kind) {
      case "slot":
        slots.set(w.slot.id, cleanSlotMapping(w.slot));
        break;
      case "group":
        groups.set(w.group.id, cloneGroup(w.group));
        break;
      case "group-remove":
        groups.delete(w.gid);
        break;
      case "sentinel":
        sentinel = { servers: [...(w.sentinel.servers ?? [])], out_of_sync: w.sentinel.out_of_sync };
        break;
      case "proxy":
        proxies.set(w.proxy.token, { ...w.proxy });
        break;
      case "proxy-remove":
        proxies.delete(w.token);
        break;
      case "slot-action":
        slotAction = { ...w.settings };
        break;
      case "replica-guard":
        replicaGuard = { servers: { ...w.record.servers } };
        break;
    }
  }
  const out: ClusterModel = {
    slots: [...slots.values()].sort((a, b) => a.id - b.id),
    groups: [...groups.values()].sort((a, b) => a.id - b.id),
    proxies: [...proxies.values()],
  };
  if (sentinel) out.sentinel = sentinel;
  if (slotAction) out.slot_action = slotAction;
  if (replicaGuard) out.replica_guard = replicaGuard;
  return out;
}
