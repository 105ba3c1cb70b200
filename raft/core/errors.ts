/**
 * Errors thrown by the Raft core to its caller.
 * @module
 */

import type { NodeId } from "../types.ts";

/** Thrown by `propose`/`readIndex` when this node cannot take the request; `leader` is the known leader or 0. */
export class NotLeaderError extends Error {
  /** The leader this node currently believes in (0 when unknown). */
  readonly leader: NodeId;
  constructor(leader: NodeId, reason = "not the leader") {
    super(leader ? `${reason} (leader is ${leader})` : `${reason} (leader unknown)`);
    this.name = "NotLeaderError";
    this.leader = leader;
  }
}

/** Thrown when a proposal is refused although this node leads (leader transfer in progress, removed, …). */
export class ProposalDroppedError extends Error {
  constructor(reason: string) {
    super(`proposal dropped: ${reason}`);
    this.name = "ProposalDroppedError";
  }
}

/** Thrown by `proposeConfChange` when the change cannot be accepted now. */
export class ConfChangeError extends Error {
  constructor(reason: string) {
    super(`conf change refused: ${reason}`);
    this.name = "ConfChangeError";
  }
}
