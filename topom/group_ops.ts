/**
 * Group and server operations (Codis's `topom_group.go`) as validated pure transitions: create/remove groups,
 * add/remove servers, replica-group flags, resync bookkeeping and sync actions (REPLICAOF the master).
 * Promotion lives in `promote.ts`. Each function returns the writes to store in order, or throws a
 * {@link TopomError} with Codis's message.
 * @module
 */
import { type Group, MAX_GROUP_ID } from "../models/mod.ts";
import { type Context, TopomError, type Write } from "./context.ts";

/** Databases a server needs: slot `s` lives in database `s`. */
export const MIN_DATABASES = 1024;
/** Below this `hz`, expired keys linger and slot scans see them; accepted with a warning. */
export const MIN_HZ = 100;

function notPromoting(g: Group): void {
  if (g.promoting.state) throw new TopomError(`group-[${g.id}] is promoting`);
}

/** Marks the sentinels out of sync when there are any (servers changed under them). */
function sentinelDirty(ctx: Context): Write[] {
  if ((ctx.sentinel.servers ?? []).length === 0) return [];
  return [{ kind: "sentinel", sentinel: { ...ctx.sentinel, out_of_sync: true } }];
}

/** `group/create`: a new empty group, 1 ≤ gid ≤ 9999. */
export function createGroup(ctx: Context, gid: number): Write[] {
  if (!Number.isInteger(gid) || gid <= 0 || gid > MAX_GROUP_ID) {
    throw new TopomError(`invalid group id = ${gid}, out of range`, 400);
  }
  if (ctx.groups.has(gid)) throw new TopomError(`group-[${gid}] already exists`);
  return [{ kind: "group", group: { id: gid, servers: [], promoting: {}, out_of_sync: false } }];
}

/** `group/remove`: only a group without servers. */
export function removeGroup(ctx: Context, gid: number): Write[] {
  const g = ctx.getGroup(gid);
  if (g.servers.length !== 0) throw new TopomError(`group-[${gid}] isn't empty`);
  return [{ kind: "group-remove", gid }];
}

/**
 * `group/resync`: clears `out_of_sync` once proxies have the group's slots. With long-polling proxies that is
 * as soon as they acknowledge the current revision; the caller decides when to store this.
 */
export function resyncGroup(ctx: Context, gid: number): Write[] {
  const g = ctx.getGroup(gid);
  return [{ kind: "group", group: { ...g, out_of_sync: false } }];
}

/** `group/resync-all`: {@link resyncGroup} for every group. */
export function resyncGroupAll(ctx: Context): Write[] {
  return [...ctx.groups.keys()].flatMap((gid) => resyncGroup(ctx, gid));
}

/**
 * `group/add`: append server `addr` (the first one becomes the master). The address must not be in any group
 * and the group must not be promoting; sentinels become out of sync. Reachability, AUTH and databases are
 * checked by the caller first (see {@link checkServerInfo}). Like Codis, this does not run REPLICAOF.
 */
export function groupAddServer(ctx: Context, gid: number, addr: string, datacenter = ""): Write[] {
  if (addr === "") throw new TopomError("invalid server address", 400);
  for (const g of ctx.groups.values()) {
    if (g.servers.some((x) => x.server === addr)) {
      throw new TopomError(
        g.id === gid ? `server-[${addr}] already exists` : `server-[${addr}] already exists in group-[${g.id}]`,
      );
    }
  }
  const g = ctx.getGroup(gid);
  notPromoting(g);
  g.servers.push({ server: addr, datacenter, action: {}, replica_group: false });
  return [...sentinelDirty(ctx), { kind: "group", group: g }];
}

/**
 * `group/del`: remove server `addr`. The master (index 0) goes only when it is the sole server and the group owns
 * no slot and is no migration's target. Removing a replica-group member marks the group out of sync.
 */
export function groupDelServer(ctx: Context, gid: number, addr: string): Write[] {
  const g = ctx.getGroup(gid);
  const index = ctx.getGroupIndex(g, addr);
  notPromoting(g);
  if (index === 0 && (g.servers.length !== 1 || ctx.isGroupInUse(g.id))) {
    throw new TopomError(`group-[${g.id}] can't remove master, still in use`);
  }
  if (index !== 0 && g.servers[index].replica_group) g.out_of_sync = true;
  g.servers.splice(index, 1);
  if (g.servers.length === 0) g.out_of_sync = false;
  return [...sentinelDirty(ctx), { kind: "group", group: g }];
}

/** `group/replica-groups`: set one server's `replica_group` flag; an in-use group becomes out of sync. */
export function enableReplicaGroups(ctx: Context, gid: number, addr: string, value: boolean): Write[] {
  const g = ctx.getGroup(gid);
  const index = ctx.getGroupIndex(g, addr);
  notPromoting(g);
  if (g.servers.length !== 1 && ctx.isGroupInUse(g.id)) g.out_of_sync = true;
  g.servers[index].replica_group = value;
  return [{ kind: "group", group: g }];
}

/** `group/replica-groups-all`: set the flag on every server; only changed groups are written. */
export function enableReplicaGroupsAll(ctx: Context, value: boolean): Write[] {
  const writes: Write[] = [];
  for (const gid of ctx.groups.keys()) {
    const g = ctx.getGroup(gid);
    notPromoting(g);
    let dirty = false;
    for (const x of g.servers) {
      if (x.replica_group !== value) {
        x.replica_group = value;
        dirty = true;
      }
    }
    if (!dirty) continue;
    if (g.servers.length !== 1 && ctx.isGroupInUse(g.id)) g.out_of_sync = true;
    writes.push({ kind: "group", group: g });
  }
  return writes;
}

/** `group/action/create`: queue a sync action for server `addr` (REPLICAOF its master, or NO ONE for index 0). */
export function syncCreateAction(ctx: Context, addr: string): Write[] {
  const { group: g, index } = ctx.getGroupByServer(addr);
  notPromoting(g);
  if (g.servers[index].action.state === "pending") throw new TopomError(`server-[${addr}] action already exist`);
  g.servers[index].action = { index: ctx.maxSyncActionIndex() + 1, state: "pending" };
  return [{ kind: "group", group: g }];
}

/** `group/action/remove`: cancel a server's sync action (any state). */
export function syncRemoveAction(ctx: Context, addr: string): Write[] {
  const { group: g, index } = ctx.getGroupByServer(addr);
  notPromoting(g);
  if (!g.servers[index].action.state) throw new TopomError(`server-[${addr}] action doesn't exist`, 404);
  g.servers[index].action = {};
  return [{ kind: "group", group: g }];
}

/** A sync action ready to run: the server, what it should replicate ("NO:ONE" for a master), and the write. */
export interface SyncActionStart {
  addr: string;
  /** Master address to REPLICAOF, or "NO:ONE" when the server is its group's master. */
  master: string;
  writes: Write[];
}

/**
 * The scheduler's next sync action (Codis's `SyncActionPrepare`): the pending one with the lowest index, moved to
 * `syncing`. Undefined when none is pending or its group is promoting.
 */
export function syncActionPrepare(ctx: Context): SyncActionStart | undefined {
  const addr = ctx.minSyncActionIndex();
  if (addr === "") return undefined;
  const { group: g, index } = ctx.getGroupByServer(addr);
  if (g.promoting.state) return undefined;
  g.servers[index].action = { state: "syncing" };
  const master = index === 0 ? "NO:ONE" : g.servers[0].server;
  return { addr, master, writes: [{ kind: "group", group: g }] };
}

/**
 * Records a sync action's outcome (`synced` or `synced_failed`). No writes when the server is gone, its group is
 * promoting or it is no longer `syncing` (someone changed it meanwhile).
 */
export function syncActionComplete(ctx: Context, addr: string, failed: boolean): Write[] {
  let found;
  try {
    found = ctx.getGroupByServer(addr);
  } catch {
    return [];
  }
  const { group: g, index } = found;
  if (g.promoting.state || g.servers[index].action.state !== "syncing") return [];
  g.servers[index].action = { state: failed ? "synced_failed" : "synced" };
  return [{ kind: "group", group: g }];
}

/** What the caller learned from a candidate server before `group/add`. */
export interface ServerInfo {
  /** `CONFIG GET databases`. */
  databases: number;
  /** `CONFIG GET hz`. */
  hz: number;
}

/**
 * Judges a candidate server's settings: fewer than 1024 databases is an error (slot `s` lives in database `s`);
 * `hz` below 100 is accepted with a warning, because slow active expiry leaves expired keys for migration scans.
 */
export function checkServerInfo(addr: string, info: ServerInfo): { error?: string; warning?: string } {
  if (!(info.databases >= MIN_DATABASES)) {
    return {
      error: `server-[${addr}] has ${info.databases} databases, needs at least ${MIN_DATABASES} ` +
        `(set "databases ${MIN_DATABASES}" in its redis.conf)`,
    };
  }
  if (info.hz < MIN_HZ) {
    return {
      warning: `server-[${addr}] has hz ${info.hz}, below ${MIN_HZ}: expired keys are reclaimed slowly ` +
        `and slot migration may move them`,
    };
  }
  return {};
}
