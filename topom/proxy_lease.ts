/**
 * Removed proxies the dashboard still waits for (the proxy's side is proxy/lease.ts). A proxy removed while it is
 * alive but cut off from every dashboard keeps serving its old model until its lease (`dashboard_lease_ms` in its
 * model) runs out; until then the scheduler treats it as if it were still online with the revision it last
 * acknowledged, so that no slot step it has not applied is taken. Pure: the caller keeps the fences and the clock.
 * @module
 */
import type { ProxyAckStats, ProxyModel } from "../models/mod.ts";
import type { ProxyAck } from "./slot_actions.ts";

/** A removed proxy: the revision it last acknowledged, and when (performance.now() ms) it has surely stopped serving. */
export interface LeaseFence {
  token: string;
  revision: number;
  until: number;
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
  return until > now ? { token: p.token, revision: ack?.revision ?? 0, until } : null;
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
