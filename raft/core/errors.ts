/**
 * Errors thrown by the Raft core to its caller.
 * @module
 */

import type { NodeId } from "../types.ts";

/**
 * Thrown when a request needs the leader: by the core's `propose`/`readIndex` with the leader's id only, and by the
 * node runtime (`raft/node/`) with the leader's addresses too. `leader` is 0 when unknown.
 */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
  constructor(
    /** The leader this node currently believes in (0 when unknown). */
    readonly leader: NodeId,
    /** The leader's Raft peer address, when known. */
    readonly leaderAddr: string | undefined = undefined,
    /** The leader's service address (`RaftNodeConfig.apiAddr`), when known. */
    readonly leaderApiAddr: string | undefined = undefined,
    reason = "not the leader",
  ) {
    super(leader ? `${reason}; leader is ${leader} at ${leaderAddr ?? "unknown address"}` : `${reason}; no leader`);
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

/**
 * Thrown when the leader's heartbeat says this node holds entries it does not: the leader only counts entries a
 * member acknowledged after persisting them, so this member's log was lost (an emptied data dir restarted under
 * the same id). Such a member can neither catch up (the leader never probes below what it acknowledged) nor be
 * trusted with a vote; the runtime stops it.
 */
export class LostLogError extends Error {
  constructor(commit: number, lastIndex: number) {
    super(
      `the leader counts entries up to ${commit} as held here but this node's log ends at ${lastIndex}: its data ` +
        `was lost; remove this member and add it again under a new id with an empty data dir`,
    );
    this.name = "LostLogError";
  }
}
