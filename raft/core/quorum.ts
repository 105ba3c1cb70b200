/**
 * Majority arithmetic over the voter set: the committed index and election results.
 * @module
 */

import type { NodeId } from "../types.ts";

/** The highest index acknowledged by a majority of `voters`, given each voter's match index. */
export function majorityIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const idx = voters.map(match).sort((a, b) => b - a);
  return idx[Math.floor(voters.length / 2)];
}

/** Outcome of a (pre-)vote count. */
export type VoteResult = "won" | "lost" | "pending";

/** Counts `votes` (id → granted) over `voters`. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return "won";
  let yes = 0, no = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) yes++;
    else if (v === false) no++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (yes >= q) return "won";
  if (voters.length - no < q) return "lost";
  return "pending";
}
