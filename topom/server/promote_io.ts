/**
 * The I/O around the dashboard's own promotions: probing a group's replicas for {@link promoteBest}, and, once a
 * promotion switched, making every other server of the group — the old master included — a replica of the new
 * master. A server that does not answer (the old master is down or cut off) is retried until it comes back, so that
 * it rejoins as a replica instead of serving its stale data as a second master (Sentinel does the same).
 * @module
 */
import { logger } from "../../util/log.ts";
import type { Context } from "../context.ts";
import { replicaOf } from "../executor/mod.ts";
import { promoteBest, type ReplicaProbe } from "../promote_choice.ts";
import type { Topom } from "./topom.ts";
import { parseInfo, redisCall } from "./redis.ts";
import { textOf } from "../../redis/decode.ts";

const log = logger("topom");

/** `INFO replication` of each replica of group `gid` (null for one that does not answer within `timeoutMs`). */
export async function probeReplicas(t: Topom, gid: number, timeoutMs = 1000): Promise<Map<string, ReplicaProbe>> {
  const g = t.context().getGroup(gid);
  const out = new Map<string, ReplicaProbe>();
  await Promise.all(
    g.servers.slice(1).map(async (x) => {
      try {
        const raw = await redisCall(x.server, t.config.product_auth, ["INFO", "replication"], 0, timeoutMs);
        out.set(x.server, parseInfo(textOf(raw)));
      } catch {
        out.set(x.server, null);
      }
    }),
  );
  return out;
}

/**
 * Whether `addr` should still be made a replica of `master`: the group still has that master, holds `addr` as a
 * replica, and is not in another promotion.
 */
export function repointWanted(ctx: Context, gid: number, addr: string, master: string): boolean {
  const g = ctx.groups.get(gid);
  if (!g || g.servers[0]?.server !== master) return false;
  if (g.promoting.state && g.promoting.state !== "finished") return false;
  return g.servers.some((x, i) => i > 0 && x.server === addr);
}

/** How often a server that did not answer is tried again, and for how long at most (ms). */
const RETRY_MS = 1000;
const GIVE_UP_MS = 3600_000;

/**
 * After the switch of group `gid` to `master`: `REPLICAOF master` on each of `others` (normal clients killed on the
 * old master, so no connection keeps writing to it), retried every second while the server does not answer and the
 * repoint is still wanted, while this dashboard leads. Runs in the background.
 */
export function repointAfterPromotion(
  t: Topom,
  gid: number,
  master: string,
  others: string[],
  oldMaster: string,
): void {
  for (const addr of others) {
    (async () => {
      const deadline = Date.now() + GIVE_UP_MS;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        if (t.closed || !t.isLeader() || !repointWanted(t.context(), gid, addr, master)) return;
        try {
          await replicaOf(addr, master, t.config.product_auth, { timeoutMs: 2000, killClients: addr === oldMaster });
          log.info(`group-[${gid}]: ${addr} is a replica of the new master ${master}`);
          return;
        } catch (e) {
          if (attempt === 0) {
            log.warn(`group-[${gid}]: ${addr} not yet a replica of ${master} (${(e as Error).message}); retrying`);
          }
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    })().catch((e) => log.warn(`group-[${gid}]: repointing ${addr}: ${(e as Error).message}`));
  }
}

/**
 * Before the switch (proxies hold the group's requests, so the old master takes no new write): waits until
 * `replica` has processed everything the old master has, as Redis's FAILOVER does, so that a planned promotion loses
 * nothing even with `backend_write_acks = 0`. Gives up after `timeoutMs`, or at once when the old master does not
 * answer (it is down: what it had and the replica lacks is lost either way).
 */
export async function waitCaughtUp(
  oldMaster: string,
  replica: string,
  auth: string,
  timeoutMs = 2000,
): Promise<boolean> {
  const offsetOf = async (addr: string, field: string) => {
    const info = parseInfo(textOf(await redisCall(addr, auth, ["INFO", "replication"], 0, Math.min(1000, timeoutMs))));
    return Number(info[field] ?? NaN);
  };
  let target: number;
  try {
    target = await offsetOf(oldMaster, "master_repl_offset");
  } catch {
    return false;
  }
  if (!Number.isFinite(target)) return false;
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    const have = await offsetOf(replica, "slave_repl_offset").catch(() => NaN);
    if (have >= target) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  log.warn(`promotion: ${replica} did not catch up with ${oldMaster} (offset ${target}) within ${timeoutMs} ms`);
  return false;
}

/**
 * Promotes, in each of `gids`, the replica with the most data (`promote_after_master_down`): the same steps as
 * `group/promote` without an address. A group that cannot be promoted now (no replica answers, a migration runs)
 * is logged and tried again on a later round.
 */
export async function promoteLostMasters(t: Topom, gids: number[]): Promise<void> {
  for (const gid of gids) {
    try {
      const probes = await probeReplicas(t, gid);
      await t.exclusive(async () => {
        if (!t.isLeader() || t.closed) return;
        const g = t.context().groups.get(gid);
        if (!g || g.promoting.state) return;
        const out = promoteBest(t.context(), gid, probes, t.executor.running());
        log.warn(`group-[${gid}]: master ${g.servers[0].server} lost; promoting ${out.addr}`);
        await t.write(out.writes);
      });
    } catch (e) {
      log.warn(`group-[${gid}]: master lost, no promotion yet: ${(e as Error).message}`);
    }
  }
}
