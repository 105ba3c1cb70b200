/**
 * Keeping Sentinel from promoting a replica that does not hold the data, pure. Sentinel picks among the servers it
 * knows as replicas by `replica-priority`, then offset, and does not check that a replica ever synced: a killed
 * master restarted without persistence comes back empty, as a master, and stays on Sentinel's replica list; for
 * 8 s Sentinel leaves it so (before its `+convert-to-slave`), and then its full sync takes `repl-diskless-sync-delay`
 * (5 s by default) and more. If the current master fails in that window, Sentinel promotes the empty server and every
 * write of the group is gone, acknowledged by WAIT or not.
 *
 * So, for a product with sentinels, each stats round the active dashboard
 * - sets `replica-priority 0` on a group's replica that has not synced (a server in replica position that reports
 *   itself master, a replica in a full sync, or a replica whose link has never been up since it was pointed at its
 *   master: `master_link_down_since_seconds:-1`), remembering the priority it had, so that Sentinel skips it;
 * - makes such a returning master a replica of the group's master at once, when the sentinels agree with the model
 *   on that master, see it healthy and know the server as its replica (what Sentinel itself does 8 s later);
 * - gives the remembered priority back once the replica's link to the group's master is up and not syncing.
 * A replica whose link went down after it had synced (its master just died) is not touched: it holds the data and is
 * what Sentinel must promote.
 * @module
 */
import type { Group, SentinelGroupInfo } from "../models/mod.ts";
import type { Context } from "./context.ts";
import { sentinelGroupName } from "./sentinel_plan.ts";
import { sameServer } from "./sentinel_staleness.ts";

/** What one group server answered to `INFO` (parsed), or undefined when it did not answer this round. */
export type ServerInfo = Readonly<Record<string, string>> | undefined;

/** One sentinel's `{"{product}-{gid}": {master, slaves}}`, or null when it did not answer this round. */
export type SentinelView = Readonly<Record<string, SentinelGroupInfo>> | null;

/** One step for the I/O side. */
export type GuardAction =
  /** `CONFIG SET replica-priority 0`, remembering the priority it had (none when it is 0 already). */
  | { kind: "guard"; gid: number; addr: string; why: string }
  /** Guard, then `REPLICAOF master` (normal clients killed: the server was a master and may have stale writers). */
  | { kind: "repoint"; gid: number; addr: string; master: string; why: string }
  /** `CONFIG SET replica-priority priority`: the replica has synced. */
  | { kind: "restore"; gid: number; addr: string; priority: string };

/** Why a server in replica position does not hold its group's data yet, or undefined when it may (or we cannot tell). */
export function unsyncedReason(info: Readonly<Record<string, string>>): string | undefined {
  if (info.role === "master") return "reports itself master";
  if (info.role !== "slave") return undefined;
  if (info.master_sync_in_progress === "1") return "full sync in progress";
  if (info.master_link_status !== "up" && info.master_link_down_since_seconds === "-1") {
    return "link to its master never up since it was pointed at it";
  }
  return undefined;
}

/** A replica whose link to `master` is up and not in a full sync. */
export function syncedWith(info: Readonly<Record<string, string>>, master: string): boolean {
  if (info.role !== "slave" || info.master_link_status !== "up" || info.master_sync_in_progress === "1") return false;
  return sameServer(master, `${info.master_host}:${info.master_port}`);
}

const UNSETTLED = /(^|,)(s_down|o_down|failover_in_progress|promoted|disconnected)(,|$)/;

/**
 * Whether the sentinels vouch for `master` as group `g`'s healthy master and know `addr` as its replica: a majority
 * of `sentinelCount` answered, every answer for the group names `master` in a settled state, and one lists `addr`
 * among its replicas. Only then is a server claiming to be master a stale one Sentinel itself will demote.
 */
function sentinelsVouch(
  product: string,
  g: Group,
  master: string,
  addr: string,
  views: readonly SentinelView[],
  sentinelCount: number,
): boolean {
  const name = sentinelGroupName(product, g.id);
  let agreeing = 0;
  let listed = false;
  for (const v of views) {
    const info = v?.[name];
    if (!info) continue;
    const m = info.master;
    if (!sameServer(master, `${m.ip}:${m.port}`) || UNSETTLED.test(m.flags ?? "")) return false;
    agreeing++;
    if ((info.slaves ?? []).some((s) => sameServer(addr, `${s.ip}:${s.port}`))) listed = true;
  }
  return listed && agreeing >= 1 + Math.floor(sentinelCount / 2);
}

/**
 * This round's steps for `product`. `servers` maps each group server to its `INFO` (undefined: no answer),
 * `sentinels` holds the answers of the model's sentinels, `guarded` the servers the guard set to priority 0 (its
 * stored record), with the priority to give back. Nothing for a product without sentinels, nor for a group in a
 * promotion.
 */
export function replicaGuardActions(
  product: string,
  ctx: Context,
  servers: ReadonlyMap<string, ServerInfo>,
  sentinels: readonly SentinelView[],
  guarded: ReadonlyMap<string, string>,
): GuardAction[] {
  const sentinelCount = (ctx.sentinel.servers ?? []).length;
  if (sentinelCount === 0) return [];
  const out: GuardAction[] = [];
  for (const g of ctx.groups.values()) {
    if (g.servers.length < 2 || (g.promoting.state && g.promoting.state !== "finished")) continue;
    const master = g.servers[0].server;
    const masterInfo = servers.get(master);
    for (const [i, x] of g.servers.entries()) {
      const info = servers.get(x.server);
      if (!info) continue;
      const remembered = guarded.get(x.server);
      if (i === 0) {
        // Promoted by an operator while guarded: a master's priority matters again once it is demoted.
        if (remembered !== undefined && info.role === "master") {
          out.push({ kind: "restore", gid: g.id, addr: x.server, priority: remembered });
        }
        continue;
      }
      // A sync action of its own is running (a finished one, "synced" or "synced_failed", stays in the model).
      if (x.action.state === "pending" || x.action.state === "syncing") continue;
      let why = unsyncedReason(info);
      const masterHealthy = masterInfo?.role === "master";
      // While the group's master does not answer, a replica Sentinel is promoting reports itself master too; it holds
      // the data (it was a replica since it started: second_repl_offset set). A master that never was one since it
      // started is a restarted server.
      if (info.role === "master" && !masterHealthy && info.second_repl_offset !== "-1") why = undefined;
      if (why === undefined) {
        if (remembered !== undefined && syncedWith(info, master)) {
          out.push({ kind: "restore", gid: g.id, addr: x.server, priority: remembered });
        }
        continue;
      }
      if (
        info.role === "master" && masterHealthy &&
        sentinelsVouch(product, g, master, x.server, sentinels, sentinelCount)
      ) {
        out.push({ kind: "repoint", gid: g.id, addr: x.server, master, why });
      } else if (remembered === undefined && info.slave_priority !== "0") {
        out.push({ kind: "guard", gid: g.id, addr: x.server, why });
      }
    }
  }
  return out;
}

/** The remembered servers that left every group (their entries are dropped). */
export function forgottenGuards(ctx: Context, guarded: ReadonlyMap<string, string>): string[] {
  const members = new Set<string>();
  for (const g of ctx.groups.values()) for (const x of g.servers) members.add(x.server);
  return [...guarded.keys()].filter((a) => !members.has(a));
}
