/**
 * Manual promotion of a replica (Codis's `GroupPromoteServer`) through the same barrier as migrations:
 * preparing (proxies stop reading replicas) → prepared (proxies hold the group's slots) → the replica becomes
 * master → finished (proxies route to it) → cleared. Each step waits until every online proxy has applied the
 * revision that stored the previous one, so a dashboard that takes over resumes from the stored state.
 * @module
 */
import type { Group } from "../models/mod.ts";
import { type Context, TopomError, type Write } from "./context.ts";

/**
 * `group/promote`: validate and start promoting `addr` in group `gid`. Refused for the master, for a group
 * promoting another server, or while migration executors run. Calling it again for the server being promoted
 * returns no writes (the promotion resumes where it is).
 */
export function promoteStart(ctx: Context, gid: number, addr: string, executorsRunning: number): Write[] {
  const g = ctx.getGroup(gid);
  const index = ctx.getGroupIndex(g, addr);
  if (g.promoting.state) {
    if (index !== (g.promoting.index ?? 0)) {
      throw new TopomError(`group-[${g.id}] is promoting index = ${g.promoting.index ?? 0}`);
    }
  } else if (index === 0) {
    throw new TopomError(`group-[${g.id}] can't promote master`);
  }
  if (executorsRunning !== 0) throw new TopomError(`slots-migration is running = ${executorsRunning}`);
  if (g.promoting.state) return [];
  return [{ kind: "group", group: { ...g, promoting: { index, state: "preparing" } } }];
}

/** Input of {@link nextPromoteStep}. */
export interface PromoteInput {
  /** Lowest model revision applied by every online proxy. */
  ackedRevision: number;
  /** Revision of the write that stored the group's current promoting state. */
  stepRevision: number;
}

/** What to do next with a group's promotion. */
export type PromoteStep =
  /** No promotion in progress. */
  | { kind: "none" }
  /** Some proxy has not applied the current step yet. */
  | { kind: "wait" }
  /** Store `writes` (preparing → prepared, or finished → cleared). */
  | { kind: "advance"; writes: Write[] }
  /**
   * prepared → finished. In order: store `before` (sentinels out of sync), and when `removeSentinelGroup` run
   * `SENTINEL REMOVE {product}-{gid}` on every sentinel (best effort) and forget the HA master; make `newMaster`
   * a master (`CONFIG SET masterauth`, `REPLICAOF NO ONE`, `CONFIG REWRITE`; failures are logged as Codis does);
   * then store `writes` (servers reordered, promoting finished). Running the switch before storing `finished`
   * keeps proxies holding requests until the new master accepts writes; a dashboard that dies in between
   * repeats the step, which is idempotent.
   */
  | { kind: "switch"; before: Write[]; removeSentinelGroup: boolean; newMaster: string; writes: Write[] };

/** Servers reordered for promoting `index`: the promoted one, the other replicas, the old master last. */
export function promotedServers(g: Group, index: number): Group["servers"] {
  const out = [g.servers[index], ...g.servers.filter((_, i) => i !== index && i !== 0), g.servers[0]];
  return out.map((x) => ({ ...x, action: {} }));
}

/** The next step of group `gid`'s promotion. */
export function nextPromoteStep(ctx: Context, gid: number, input: PromoteInput): PromoteStep {
  const g = ctx.getGroup(gid);
  const state = g.promoting.state ?? "";
  if (state === "") return { kind: "none" };
  if (input.ackedRevision < input.stepRevision) return { kind: "wait" };
  switch (state) {
    case "preparing":
      return {
        kind: "advance",
        writes: [{ kind: "group", group: { ...g, promoting: { ...g.promoting, state: "prepared" } } }],
      };
    case "prepared": {
      const index = g.promoting.index ?? 0;
      if (index <= 0 || index >= g.servers.length) throw new TopomError(`group-[${gid}] action state is invalid`);
      const servers = promotedServers(g, index);
      const hasSentinels = (ctx.sentinel.servers ?? []).length > 0;
      return {
        kind: "switch",
        before: hasSentinels ? [{ kind: "sentinel", sentinel: { ...ctx.sentinel, out_of_sync: true } }] : [],
        removeSentinelGroup: hasSentinels,
        newMaster: servers[0].server,
        writes: [{ kind: "group", group: { ...g, servers, promoting: { state: "finished" } } }],
      };
    }
    case "finished":
      return {
        kind: "advance",
        // The sentinel fence the switch stored stays (sentinel_fence.ts).
        writes: [{ kind: "group", group: { ...g, promoting: {}, out_of_sync: false } }],
      };
  }
  throw new TopomError(`group-[${gid}] action state is invalid`);
}
