/**
 * Configuration of the Raft core and its defaults.
 * @module
 */

import type { LogStorage, NodeId } from "../types.ts";

/** Configuration of one {@link RaftCore}. */
export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before campaigning (randomized in [n, 2n-1]). Default 10. */
  electionTick?: number;
  /** Ticks between leader heartbeats. Default 1. */
  heartbeatTick?: number;
  /** Default true. */
  preVote?: boolean;
  /** Default true. Also enables rejecting votes while a leader is known within the election timeout. */
  checkQuorum?: boolean;
  /** Appends in flight per follower in replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes of entries per append message (one entry is always allowed). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Bytes per InstallSnapshot chunk. Default 256 KiB. */
  maxSnapshotChunk?: number;
  /** Bytes of uncommitted entries a leader accepts before refusing proposals. Default 16 MiB. */
  maxUncommittedSize?: number;
  /** Bytes of committed entries handed out per Ready. Default 4 MiB. */
  maxCommittedSizePerReady?: number;
  /** Injected randomness in [0, 1), used for randomized election timeouts. */
  random: () => number;
  /** What is already durable at start-up. */
  storage: LogStorage;
  /** Last applied index at restart (defaults to the storage's snapshot index). */
  applied?: number;
}

/** A config with every default filled in. */
export type FullConfig = Required<Omit<RaftConfig, "applied">> & { applied?: number };

/** Fills defaults and validates. */
export function withDefaults(cfg: RaftConfig): FullConfig {
  const full: FullConfig = {
    electionTick: 10,
    heartbeatTick: 1,
    preVote: true,
    checkQuorum: true,
    maxInflightMsgs: 256,
    maxSizePerMsg: 1 << 20,
    maxSnapshotChunk: 256 << 10,
    maxUncommittedSize: 16 << 20,
    maxCommittedSizePerReady: 4 << 20,
    ...cfg,
  };
  if (!Number.isInteger(full.id) || full.id <= 0) throw new Error("raft: id must be a positive integer");
  if (full.heartbeatTick <= 0) throw new Error("raft: heartbeatTick must be > 0");
  if (full.electionTick <= full.heartbeatTick) throw new Error("raft: electionTick must exceed heartbeatTick");
  if (full.maxInflightMsgs <= 0) throw new Error("raft: maxInflightMsgs must be > 0");
  if (full.maxSnapshotChunk <= 0) throw new Error("raft: maxSnapshotChunk must be > 0");
  return full;
}
