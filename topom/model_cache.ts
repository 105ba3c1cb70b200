/**
 * The bridge between the coordinator's nodes and the pure model: decode `/codis3/{product}/...` nodes and watch
 * events into a {@link ClusterModel} with per-node revisions (for the proxy barrier), and encode {@link Write}s
 * into store operations. No I/O: the caller reads, watches and writes.
 * @module
 */
import type { Group, ProxyModel, SentinelModel, SlotMapping } from "../models/mod.ts";
import { groupPath, idFromName, productDir, proxyPath, sentinelPath, slotPath } from "../store/paths.ts";
import {
  cleanSlotMapping,
  cloneGroup,
  type ClusterModel,
  Context,
  type ContextOptions,
  type Write,
} from "./context.ts";
import {
  decodeSlotActionSettings,
  DEFAULT_SLOT_ACTION,
  slotActionPath,
  type SlotActionSettings,
} from "./slot_action_settings.ts";
import { decodeReplicaGuard, replicaGuardPath, type ReplicaGuardRecord } from "./replica_guard_record.ts";

/** One operation for the store, from a {@link Write}. */
export type StoreOp = { op: "put"; path: string; data: Uint8Array } | { op: "delete"; path: string };

/** A node as read from the store (structurally compatible with store/client.ts's StoreNode). */
export interface NodeLike {
  path: string;
  data: Uint8Array;
  stat?: { modRevision: number };
}

/** A change as seen by a watch (structurally compatible with store/client.ts's WatchEvent). */
export interface EventLike {
  type: "put" | "delete";
  path: string;
  revision: number;
  data?: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Codis stores models as indented JSON. */
export function encodeJson(v: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(v, null, "    "));
}

/** The store operation for one write. */
export function writeToOp(product: string, w: Write): StoreOp {
  switch (w.kind) {
    case "slot":
      return { op: "put", path: slotPath(product, w.slot.id), data: encodeJson(cleanSlotMapping(w.slot)) };
    case "group":
      return { op: "put", path: groupPath(product, w.group.id), data: encodeJson(cloneGroup(w.group)) };
    case "group-remove":
      return { op: "delete", path: groupPath(product, w.gid) };
    case "sentinel":
      return { op: "put", path: sentinelPath(product), data: encodeJson(w.sentinel) };
    case "proxy":
      return { op: "put", path: proxyPath(product, w.proxy.token), data: encodeJson(w.proxy) };
    case "proxy-remove":
      return { op: "delete", path: proxyPath(product, w.token) };
    case "slot-action":
      return { op: "put", path: slotActionPath(product), data: encodeJson(decodeSlotActionSettings(w.settings)) };
    case "replica-guard":
      return { op: "put", path: replicaGuardPath(product), data: encodeJson(decodeReplicaGuard(w.record)) };
  }
}

type Kind =
  | { kind: "slot"; id: number }
  | { kind: "group"; id: number }
  | { kind: "proxy"; token: string }
  | { kind: "sentinel" }
  | { kind: "slot-action" }
  | { kind: "replica-guard" };

/**
 * The in-memory model of one product, fed with nodes and watch events. Tracks the revision of the write that
 * last changed each slot and group, which is the `stepRevision` of the barrier.
 */
export class ModelCache {
  readonly #prefix: string;
  readonly #slots = new Map<number, { m: SlotMapping; rev: number }>();
  readonly #groups = new Map<number, { g: Group; rev: number }>();
  readonly #proxies = new Map<string, { p: ProxyModel; rev: number }>();
  #sentinel: { s: SentinelModel; rev: number } | undefined;
  #slotAction: SlotActionSettings | undefined;
  #slotActionRev = 0;
  #replicaGuard: { r: ReplicaGuardRecord; rev: number } | undefined;
  /** Highest revision applied. */
  revision = 0;

  constructor(readonly product: string) {
    this.#prefix = productDir(product) + "/";
  }

  #classify(path: string): Kind | undefined {
    if (!path.startsWith(this.#prefix)) return undefined;
    const rest = path.slice(this.#prefix.length);
    if (rest === "sentinel") return { kind: "sentinel" };
    if (rest === "slot-action") return { kind: "slot-action" };
    if (rest === "replica-guard") return { kind: "replica-guard" };
    const m = /^(slots|group|proxy)\/(.+)$/.exec(rest);
    if (!m || m[2].includes("/")) return undefined;
    if (m[1] === "proxy") return m[2].startsWith("proxy-") ? { kind: "proxy", token: m[2].slice(6) } : undefined;
    const id = idFromName(m[2]);
    if (id === undefined) return undefined;
    return m[1] === "slots" ? { kind: "slot", id } : { kind: "group", id };
  }

  /**
   * Applies a node's value (put) or absence (delete) at `revision`. Returns false for paths outside the model
   * (the topom node, other products) and for undecodable JSON, which is ignored like an absent node.
   */
  apply(type: "put" | "delete", path: string, revision: number, data?: Uint8Array): boolean {
    const k = this.#classify(path);
    if (!k) return false;
    if (revision > this.revision) this.revision = revision;
    // A load reads the revision it follows from before reading the nodes, so changes made in between come back as
    // events older than the state read. Applying one would show proxies a state they may then never be sent again.
    if (revision < this.#nodeRevision(k)) return false;
    let v: unknown;
    if (type === "put") {
      try {
        v = JSON.parse(decoder.decode(data ?? new Uint8Array()));
      } catch {
        type = "delete";
      }
    }
    const put = type === "put" && typeof v === "object" && v !== null;
    switch (k.kind) {
      case "slot":
        if (k.id >= 1024) return false;
        if (put) this.#slots.set(k.id, { m: cleanSlotMapping({ ...(v as SlotMapping), id: k.id }), rev: revision });
        else this.#slots.set(k.id, { m: { id: k.id, group_id: 0, action: {} }, rev: revision });
        return true;
      case "group":
        if (put) this.#groups.set(k.id, { g: cloneGroup({ ...(v as Group), id: k.id }), rev: revision });
        else this.#groups.delete(k.id);
        return true;
      case "proxy":
        if (put) this.#proxies.set(k.token, { p: { ...(v as ProxyModel), token: k.token }, rev: revision });
        else this.#proxies.delete(k.token);
        return true;
      case "sentinel":
        this.#sentinel = put
          ? {
            s: { servers: [...((v as SentinelModel).servers ?? [])], out_of_sync: !!(v as SentinelModel).out_of_sync },
            rev: revision,
          }
          : undefined;
        return true;
      case "slot-action":
        this.#slotAction = put ? decodeSlotActionSettings(v) : undefined;
        this.#slotActionRev = revision;
        return true;
      case "replica-guard":
        this.#replicaGuard = put ? { r: decodeReplicaGuard(v), rev: revision } : undefined;
        return true;
    }
  }

  /** Revision of the change that last set the node of `k` (0 when unknown or absent). */
  #nodeRevision(k: Kind): number {
    switch (k.kind) {
      case "slot":
        return this.#slots.get(k.id)?.rev ?? 0;
      case "group":
        return this.#groups.get(k.id)?.rev ?? 0;
      case "proxy":
        return this.#proxies.get(k.token)?.rev ?? 0;
      case "sentinel":
        return this.#sentinel?.rev ?? 0;
      case "slot-action":
        return this.#slotActionRev;
      case "replica-guard":
        return this.#replicaGuard?.rev ?? 0;
    }
  }

  /**
   * Whether a change at `path` can change what proxies are told (slots, groups, the sentinel), as opposed to
   * proxies' own registrations and the dashboard's settings.
   */
  isRoutingPath(path: string): boolean {
    const k = this.#classify(path);
    return k?.kind === "slot" || k?.kind === "group" || k?.kind === "sentinel";
  }

  /** The stored slot-action switches, or the defaults while none are stored. */
  slotAction(): SlotActionSettings {
    return { ...(this.#slotAction ?? DEFAULT_SLOT_ACTION) };
  }

  /** Loads nodes from a full read (revision from each node's modRevision, else `atRevision`). */
  load(nodes: Iterable<NodeLike>, atRevision = 0): void {
    for (const n of nodes) this.apply("put", n.path, n.stat?.modRevision ?? atRevision, n.data);
    if (atRevision > this.revision) this.revision = atRevision;
  }

  /** Applies a watch event; returns whether it touched the model. */
  applyEvent(e: EventLike): boolean {
    const touched = this.apply(e.type, e.path, e.revision, e.data);
    if (e.revision > this.revision) this.revision = e.revision;
    return touched;
  }

  /** Revision of the write that last changed slot `sid` (0 when never written). */
  slotRevision(sid: number): number {
    return this.#slots.get(sid)?.rev ?? 0;
  }

  /** Revision of the write that last changed group `gid` (0 when absent). */
  groupRevision(gid: number): number {
    return this.#groups.get(gid)?.rev ?? 0;
  }

  /** Revision of the write that last changed the sentinel node (0 when absent). */
  sentinelRevision(): number {
    return this.#sentinel?.rev ?? 0;
  }

  /**
   * Slots whose view may have changed after `sinceRevision`: the slot itself changed, or its group or its
   * action's target group did (master, replicas, promotion). For incremental answers to a proxy's long-poll.
   */
  changedSlotIds(sinceRevision: number): number[] {
    const out: number[] = [];
    for (let sid = 0; sid < 1024; sid++) {
      const e = this.#slots.get(sid);
      if (!e) continue;
      const gids = [e.m.group_id, e.m.action.target_id ?? 0];
      if (e.rev > sinceRevision || gids.some((g) => g !== 0 && this.groupRevision(g) > sinceRevision)) out.push(sid);
    }
    return out;
  }

  /** A snapshot of the model (copies). */
  model(): ClusterModel {
    const slots: SlotMapping[] = [];
    for (let id = 0; id < 1024; id++) {
      slots.push(cleanSlotMapping(this.#slots.get(id)?.m ?? { id, group_id: 0, action: {} }));
    }
    const out: ClusterModel = {
      slots,
      groups: [...this.#groups.values()].map((x) => cloneGroup(x.g)).sort((a, b) => a.id - b.id),
      proxies: [...this.#proxies.values()].map((x) => ({ ...x.p })),
    };
    if (this.#sentinel) out.sentinel = { ...this.#sentinel.s, servers: [...(this.#sentinel.s.servers ?? [])] };
    if (this.#slotAction) out.slot_action = { ...this.#slotAction };
    if (this.#replicaGuard) out.replica_guard = { servers: { ...this.#replicaGuard.r.servers } };
    return out;
  }

  /** A {@link Context} over the current snapshot. */
  context(opts?: ContextOptions): Context {
    return new Context(this.model(), opts);
  }
}
