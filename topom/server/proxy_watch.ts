/**
 * The proxies' long-poll on the leader (/tmp/dashapi.md §2): record the applied revision as the proxy's ack, then
 * answer once the routing model (slots, groups, sentinels) is newer than what the proxy holds.
 * @module
 */
import type { Slot } from "../../models/mod.ts";
import { TopomError } from "../context.ts";
import type { Topom } from "./topom.ts";

/** A long-poll answer. */
export interface WatchAnswer {
  revision: number;
  full: boolean;
  slots: Slot[];
  sentinels?: { servers: string[] };
  online?: boolean;
}

/**
 * Answers proxy `token`'s poll: `applied` is its ack, `since` the revision it holds. Waits at most `timeoutMs`
 * for a change. Throws TopomError 404 for an unknown token.
 */
export async function watchProxy(
  t: Topom,
  token: string,
  applied: number,
  since: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WatchAnswer> {
  if (!t.cache.context().proxies.has(token)) throw new TopomError(`proxy-[${token}] doesn't exist`, 404);
  t.ack(token, applied);
  if (since > t.routingRevision && since > (await t.coord.client.revision())) {
    // The proxy holds a revision this store never reached (the store was recreated): start it over.
    since = 0;
  }
  const deadline = Date.now() + timeoutMs;
  // A proxy without a model (since 0, or reinit) gets every slot at once, even before any slot was written: at
  // the store's revision, which is at least every routing revision it contains.
  const fullNow = () => since <= 0 || t.reinitPending.has(token);
  const current = () => fullNow() ? Math.max(t.routingRevision, t.cache.revision) : t.routingRevision;
  // An operation's writes are answered together, never half of them.
  const ready = () => t.writing === 0 && (fullNow() ? current() > 0 : current() > since);
  while (!ready() && Date.now() < deadline && !signal?.aborted && !t.closed) {
    await t.waitChange(deadline - Date.now(), signal);
  }
  const ctx = t.context();
  const p = ctx.proxies.get(token);
  if (!p) throw new TopomError(`proxy-[${token}] doesn't exist`, 404);
  if (!ready()) return { revision: since, full: false, slots: [] };
  const full = fullNow();
  t.reinitPending.delete(token);
  const revision = current();
  const ids = full ? ctx.slots.map((m) => m.id) : t.cache.changedSlotIds(since);
  const out: WatchAnswer = { revision, full, slots: ids.map((sid) => ctx.toSlot(ctx.slots[sid], p)), online: true };
  if (full || t.cache.sentinelRevision() > since) out.sentinels = { servers: [...(ctx.sentinel.servers ?? [])] };
  return out;
}
