/**
 * Following sentinel failovers (Codis's dashboard side of `+switch-master`), by polling instead of subscribing:
 * each stats round asks every sentinel for this product's masters; when a majority answered and a group's master
 * (highest config-epoch) is another of its servers, that server moves to index 0. Proxies learn the new master by
 * long-poll, since the group's node changed.
 * @module
 */
import type { SentinelGroupInfo } from "../../models/mod.ts";
import { logger } from "../../util/log.ts";
import { chooseSentinelMasters, switchGroupMaster } from "../sentinel_plan.ts";
import type { Topom } from "../topom.ts";

const log = logger("ha");

/** Applies the masters reported by the sentinels (`null` for one that did not answer). */
export async function followSentinelMasters(
  t: Topom,
  replies: readonly (Record<string, SentinelGroupInfo> | null)[],
): Promise<void> {
  if (replies.length === 0) return;
  const chosen = chooseSentinelMasters(
    t.product,
    replies.map((r) => r === null ? null : Object.values(r).map((x) => x.master)),
  );
  if ("error" in chosen) return;
  await t.exclusive(async () => {
    const ctx = t.context();
    for (const [gid, addr] of chosen.masters) {
      const g = ctx.groups.get(gid);
      if (!g || g.promoting.state || g.servers.length === 0 || g.servers[0].server === addr) continue;
      try {
        const writes = switchGroupMaster(ctx, gid, addr);
        if (writes.length > 0) {
          log.warn(`group-[${gid}]: sentinels report master ${addr} (was ${g.servers[0].server}); switching`);
          await t.write(writes);
        }
      } catch (e) {
        log.warn(`group-[${gid}]: ${(e as Error).message}`);
      }
    }
  });
}
