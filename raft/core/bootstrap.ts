/**
 * Bootstrapping a new group. The founding members start from a snapshot at index 1 that records the initial
 * membership, so that a node added later (with an empty log) receives the membership through that snapshot.
 * @module
 */

import type { NodeId, Snapshot } from "../types.ts";

/** The bootstrap snapshot for founding `voters`: index 1, term 1, empty state machine data. */
export function initialSnapshot(voters: NodeId[], addrs: Record<string, string> = {}): Snapshot {
  return { meta: { index: 1, term: 1, conf: { voters: [...voters], learners: [] }, addrs }, data: new Uint8Array() };
}
