/**
 * Removed proxies the dashboard still waits for (the proxy's side is proxy/lease.ts). A proxy removed while it is
 * alive but cut off from every dashboard keeps serving its old model until its lease (`dashboard_lease_ms` in its
 * model) runs out; until then the scheduler treats it as if it were still online with the revision it last
 * acknowledged, so that no slot step it has not applied is taken. Pure: the caller keeps the fences and the clock.
 * @module
 */
import type { ProxyAckStats, ProxyModel } from "../models/mod.ts";
import { productDir } from "../store/paths.ts";
import type { ProxyAck } from "./slot_actions.ts";

/** A removed proxy: the revision it last acknowledged, and when (performance.now() ms) it has surely stopped serving. */
export interface LeaseFence {
  token: string;
  revision: number;
  until: number;
  /** The proxy's lease, kept for a dashboard that takes over. */
  leaseMs: number;
}

/** What is added to the lease on top: the proxy's timer and the requests it sent just before its deadline. */
export function leaseMargin(leaseMs: number): number {
  return Math.max(1000, Math.ceil(leaseMs / 10));
}

/**
 * The fence of proxy `p`, removed at `now` (performance.now()), given its last long-poll (`ack`, with `last_seen` in
 * unix ms against `wallNow`); null when it has no lease (a Codis proxy, or lease 0) or its lease already ran out.
 * Never seen by this dashboard (a leader elected since): its lease is counted from now, the latest it could have
 * been renewed.
 */
export function fenceOnRemoval(
  p: ProxyModel,
  ack: ProxyAckStats | undefined,
  now: number,
  wallNow: number,
): LeaseFence | null {
  const lease = p.dashboard_lease_ms ?? 0;
  if (!(lease > 0)) return null;
  const sinceSeen = ack ? Math.max(0, wallNow - ack.last_seen) : 0;
  const until = now - sinceSeen + lease + leaseMargin(lease);
  return until > now ? { token: p.token, revision: ack?.revision ?? 0, until, leaseMs: lease } : null;
}

/** The fences still holding at `now`, as acknowledgements for the scheduler, and the tokens whose fence ended. */
export function fencedAcks(fences: Iterable<LeaseFence>, now: number): { acks: ProxyAck[]; ended: string[] } {
  const acks: ProxyAck[] = [];
  const ended: string[] = [];
  for (const f of fences) {
    if (now >= f.until) ended.push(f.token);
    else acks.push({ token: f.token, revision: f.revision });
  }
  return { acks, ended };
}

/**
 * `/codis3/{product}/proxy-fence` (not in Codis's layout, which ignores it): the fences of the active dashboard, so
 * that one that takes over still waits for the removed proxies.
 */
export function proxyFencePath(product: string): string {
  return `${productDir(product)}/proxy-fence`;
}

/** One stored fence: no clock in it, since dashboards' clocks differ. */
export interface StoredFence {
  token: string;
  revision: number;
  lease_ms: number;
}

/** The node's value for `fences`, or null when there are none (the node is deleted). */
export function encodeFences(fences: Iterable<LeaseFence>): string | null {
  const list: StoredFence[] = [...fences].map((f) => ({ token: f.token, revision: f.revision, lease_ms: f.leaseMs }));
  return list.length === 0 ? null : JSON.stringify({ fences: list });
}

/**
 * The fences a dashboard taking over at `now` holds for the stored ones: a whole lease (and margin) from now, since
 * when the previous one last saw those proxies is unknown here. Malformed entries are skipped.
 */
export function fencesOnTakeover(stored: string, now: number): LeaseFence[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return [];
  }
  const list = (parsed as { fences?: unknown })?.fences;
  if (!Array.isArray(list)) return [];
  const out: LeaseFence[] = [];
  for (const f of list as Partial<StoredFence>[]) {
    const lease = Number(f?.lease_ms);
    if (typeof f?.token !== "string" || !(lease > 0) || !Number.isFinite(lease)) continue;
    const revision = Number.isSafeInteger(f.revision) ? f.revision! : 0;
    out.push({ token: f.token, revision, until: now + lease + leaseMargin(lease), leaseMs: lease });
  }
  return out;
}
