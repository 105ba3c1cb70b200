/**
 * Which replica the dashboard promotes when it chooses (`group/promote` without an address, or a master lost without
 * sentinels): as Sentinel does, the reachable replica with the lowest `replica-priority` (0: never), then the largest
 * replication offset — the one that has the most of the master's writes —, then the first in the group's order. A
 * replica that has not synced (in a full sync, or never linked since it was pointed at its master) is skipped: it
 * would be promoted without the data.
 * Pure: the caller probes the replicas (`INFO replication`) and passes what they answered.
 * @module
 */
import type { Group } from "../models/mod.ts";
import { type Context, TopomError, type Write } from "./context.ts";
import { promoteStart } from "./promote.ts";
import { unsyncedReason } from "./replica_guard.ts";

/** What one replica answered to `INFO replication` (parsed), or null when it did not answer. */
export type ReplicaProbe = Readonly<Record<string, string>> | null;

/** A replica that may be promoted, with what ranks it. */
export interface PromotionCandidate {
  addr: string;
  index: number;
  priority: number;
  offset: number;
}

/** The outcome of {@link chooseReplica}: the replica to promote, or why none can be, with each one's reason. */
export type ReplicaChoice =
  | { addr: string; index: number; offset: number; skipped: string[] }
  | { error: string; skipped: string[] };

/** The replication offset a replica has processed (`slave_repl_offset`, else `master_repl_offset`); -1: unknown. */
export function replicaOffset(info: Readonly<Record<string, string>>): number {
  const v = info.slave_repl_offset ?? info.master_repl_offset;
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : -1;
}

/** Ranks the replicas of `g` (index ≥ 1) from their probes; `probes.get(addr)` undefined counts as unreachable. */
export function chooseReplica(g: Group, probes: ReadonlyMap<string, ReplicaProbe>): ReplicaChoice {
  const skipped: string[] = [];
  const candidates: PromotionCandidate[] = [];
  g.servers.forEach((x, index) => {
    if (index === 0) return;
    const info = probes.get(x.server);
    if (!info) return void skipped.push(`${x.server}: unreachable`);
    if (info.role !== "slave") return void skipped.push(`${x.server}: not a replica (role ${info.role ?? "unknown"})`);
    const unsynced = unsyncedReason(info);
    if (unsynced) return void skipped.push(`${x.server}: not synced (${unsynced})`);
    const priority = Number(info.slave_priority ?? info.replica_priority ?? 100);
    if (priority === 0) return void skipped.push(`${x.server}: replica-priority 0`);
    const offset = replicaOffset(info);
    if (offset < 0) return void skipped.push(`${x.server}: no replication offset`);
    candidates.push({ addr: x.server, index, priority, offset });
  });
  if (candidates.length === 0) {
    const why = skipped.length > 0 ? `: ${skipped.join("; ")}` : "";
    return { error: `group-[${g.id}] has no replica that can be promoted${why}`, skipped };
  }
  candidates.sort((a, b) => a.priority - b.priority || b.offset - a.offset || a.index - b.index);
  const best = candidates[0];
  return { addr: best.addr, index: best.index, offset: best.offset, skipped };
}

/**
 * `group/promote` without an address: starts promoting the replica {@link chooseReplica} picks. A group already
 * promoting resumes with its own choice (no writes). Throws a TopomError when no replica can be promoted.
 */
export function promoteBest(
  ctx: Context,
  gid: number,
  probes: ReadonlyMap<string, ReplicaProbe>,
  executorsRunning: number,
): { addr: string; writes: Write[] } {
  const g = ctx.getGroup(gid);
  if (g.promoting.state) {
    const addr = g.servers[g.promoting.index ?? 0]?.server ?? "";
    return { addr, writes: promoteStart(ctx, gid, addr, executorsRunning) };
  }
  const choice = chooseReplica(g, probes);
  if ("error" in choice) throw new TopomError(choice.error);
  return { addr: choice.addr, writes: promoteStart(ctx, gid, choice.addr, executorsRunning) };
}
