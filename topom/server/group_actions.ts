/**
 * The leader's group I/O steps: promotions that reached their switch (the replica becomes master between two
 * stored states) and sync actions (REPLICAOF with masterauth, one at a time, Codis's `ProcessSyncAction`).
 * @module
 */
import { logger } from "../../util/log.ts";
import { cloneGroup, type Context } from "../context.ts";
import { promoteToMaster, replicaOf } from "../executor/mod.ts";
import { syncActionComplete, syncActionPrepare } from "../group_ops.ts";
import type { TickPlan } from "../scheduler.ts";
import { sentinelGroupName } from "../sentinel_plan.ts";
import type { GroupActionsHost } from "./host.ts";
import { repointAfterPromotion, waitCaughtUp } from "./promote_io.ts";
import { readAndRemoveSentinelGroup } from "./sentinel_io.ts";
import { promotionFence, withSentinelFence } from "../sentinel_fence.ts";

const log = logger("topom");

/** Runs one promotion step of the scheduler's plan (under the model lock). */
export async function runPromotion(
  t: GroupActionsHost,
  ctx: Context,
  p: TickPlan["promotions"][number],
): Promise<void> {
  let writes = p.step.writes;
  if (p.step.kind === "switch") {
    await t.write(p.step.before);
    if (p.step.removeSentinelGroup) {
      // Sentinels must not fail the group over under the manual promotion (best effort, as Codis). What they had
      // before is stored with the new master, so that a sentinel this missed cannot undo it later (sentinel_fence.ts).
      const views = await readAndRemoveSentinelGroup(ctx.sentinel.servers ?? [], sentinelGroupName(t.product, p.gid));
      const fence = promotionFence(t.product, p.gid, views, ctx.groups.get(p.gid)?.sentinel_fence);
      writes = withSentinelFence(writes, p.gid, fence);
    }
    const oldMaster = ctx.groups.get(p.gid)?.servers[0]?.server;
    if (oldMaster) await waitCaughtUp(oldMaster, p.step.newMaster, t.config.product_auth);
    await promoteToMaster(p.step.newMaster, t.config.product_auth).catch((e) =>
      log.warn(`promote group-[${p.gid}]: ${(e as Error).message}`)
    );
  }
  const [first, ...rest] = writes;
  if (first && await t.casWrite({ write: first, expectRevision: p.expectRevision })) {
    await t.write(rest);
    if (p.step.kind === "switch") {
      // The old master (stored last) and the other replicas follow the new master, once each answers.
      const g = t.context().groups.get(p.gid);
      const servers = g?.servers.map((x) => x.server) ?? [];
      repointAfterPromotion(t, p.gid, p.step.newMaster, servers.slice(1), servers[servers.length - 1]);
    }
  }
}

/** Sync actions: at most one REPLICAOF in flight. */
export class SyncActions {
  running = false;

  constructor(private readonly t: GroupActionsHost) {}

  /** Sync actions a previous leader left `syncing` (it died mid-REPLICAOF) run again. */
  async requeue(): Promise<void> {
    if (this.running) return;
    const ctx = this.t.context();
    let index = ctx.maxSyncActionIndex();
    for (const g of ctx.groups.values()) {
      if (g.promoting.state || !g.servers.some((x) => x.action.state === "syncing")) continue;
      const group = cloneGroup(g);
      for (const x of group.servers) if (x.action.state === "syncing") x.action = { index: ++index, state: "pending" };
      await this.t.write([{ kind: "group", group }]);
    }
  }

  /** Starts the next pending sync action, if none runs (under the model lock). */
  async startNext(ctx: Context): Promise<void> {
    if (this.running) return;
    const s = syncActionPrepare(ctx);
    if (!s) return;
    const t = this.t;
    await t.write(s.writes);
    this.running = true;
    (async () => {
      let failed = false;
      try {
        await replicaOf(s.addr, s.master, t.config.product_auth, { timeoutMs: 30_000 });
      } catch (e) {
        failed = true;
        log.warn(`sync action ${s.addr}: ${(e as Error).message}`);
      }
      // A dashboard that lost leadership during the REPLICAOF must not write: the new leader re-runs the action
      // (requeue), and this write would overwrite its newer view of the group.
      await t.exclusive(async () => {
        if (t.isLeader() && !t.closed) await t.write(syncActionComplete(t.context(), s.addr, failed));
      });
    })().catch((e) => log.warn(`sync action ${s.addr}: ${(e as Error).message}`)).finally(() => {
      this.running = false;
      t.kick();
    });
  }
}
