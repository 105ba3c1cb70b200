/**
 * The replica guard's record (topom/replica_guard.ts), as a node of the product: `/codis3/{product}/replica-guard`
 * holds `{"servers": {"host:port": "priority to give back"}}`, the replicas the active dashboard set to
 * `replica-priority 0`. Stored, not kept in the dashboard's memory, so that a dashboard taking over after a leader
 * change gives the priorities back once those replicas have synced, instead of leaving a 0 it cannot tell from an
 * operator's.
 *
 * Pure: decoding and the writes that add or drop entries. An absent node means no server is guarded.
 * @module
 */
import { productDir } from "../store/paths.ts";
import type { Write } from "./context.ts";

/** The stored record. */
export interface ReplicaGuardRecord {
  /** Guarded server → the `replica-priority` it had (a decimal string, as CONFIG GET answers). */
  servers: Record<string, string>;
}

/** `/codis3/{product}/replica-guard`. */
export function replicaGuardPath(product: string): string {
  return `${productDir(product)}/replica-guard`;
}

/** The record in a decoded node; entries that are not `address: decimal priority` are dropped. */
export function decodeReplicaGuard(v: unknown): ReplicaGuardRecord {
  const o = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  const servers: Record<string, string> = {};
  const s = typeof o.servers === "object" && o.servers !== null ? o.servers as Record<string, unknown> : {};
  for (const [addr, p] of Object.entries(s)) {
    if (typeof p === "string" && /^\d{1,10}$/.test(p) && addr.length > 0 && addr.length <= 300) servers[addr] = p;
  }
  return { servers };
}

/**
 * The write that makes the record `guarded`, or none when it already is (an unchanged write would only wake every
 * follower).
 */
export function replicaGuardWrites(
  current: ReadonlyMap<string, string>,
  guarded: ReadonlyMap<string, string>,
): Write[] {
  if (current.size === guarded.size && [...guarded].every(([a, p]) => current.get(a) === p)) return [];
  return [{ kind: "replica-guard", record: { servers: Object.fromEntries(guarded) } }];
}
