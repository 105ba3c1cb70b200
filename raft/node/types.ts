/**
 * Configuration, errors and status types of the Raft node runtime ({@link ../node.ts}).
 * @module
 */

import type { NodeId, Role } from "../types.ts";

/** Configuration of a {@link RaftNode}. */
export interface RaftNodeConfig {
  /** This node's id: positive, never reused. */
  id: NodeId;
  /** "host:port" the peer transport listens on. */
  addr: string;
  /** Address announced to peers, when it differs from `addr` (default: the bound listen address). */
  advertise?: string;
  /**
   * This node's service address (e.g. the dashboard API that forwarded writes go to). Announced to peers in the
   * transport handshake, so followers learn the leader's from its heartbeats; reported in {@link NotLeaderError}.
   */
  apiAddr?: string;
  /**
   * Founding members (id → peer address, this node included). Used only to bootstrap an empty data directory,
   * and only when this node is listed (an empty map founds a one-node cluster). A fresh node that is not listed
   * starts empty and waits to be added (addLearner). A node restarting with data ignores it.
   */
  peers: Map<NodeId, string>;
  /** Start empty and wait to be added by the leader even when listed in `peers`. */
  join?: boolean;
  /**
   * What an empty data directory means (etcd's `initial-cluster-state`); ignored when the directory holds data.
   * "new": this is the first start of a new group: found it (when listed in `peers`). "existing" (the default): the
   * group may exist and this member may have lost its data dir; start empty and wait for the leader to send the
   * group's state, voting only once it has (raft/core/step.ts), so that a member that lost its disk can never help
   * elect a leader lacking entries it had acknowledged. A group of this node alone is founded either way.
   */
  bootstrap?: "new" | "existing";
  dataDir: string;
  clusterId: string;
  /** Shared secret authenticating peer traffic. Never logged. */
  clusterSecret: string;
  /** Run the peer transport over TLS (see TransportOptions.tls); the secret's MACs still apply. */
  tls?: { cert: string; key: string; caCerts?: string[] } | null;
  /** "default": 100 ms ticks, election after 10 ticks; "fast": 50 ms ticks, election after 10 ticks. */
  profile?: "default" | "fast";
  /** Milliseconds per tick (overrides the profile). */
  tickMs?: number;
  /** Ticks before an election (randomized to [n, 2n-1]); overrides the profile. */
  electionTick?: number;
  heartbeatTick?: number;
  /** Take a snapshot every this many applied entries (default 10,000). */
  snapshotInterval?: number;
  /** Entries kept in the log behind a snapshot, so short outages catch up without one (default 1,000). */
  snapshotTrailing?: number;
  /** A proposal or membership change not applied within this many ms is rejected as unknown (default 10 s). */
  proposeTimeoutMs?: number;
  /** A read barrier not satisfied within this many ms is rejected (default 5 s). */
  readTimeoutMs?: number;
  /** WAL segment size (default 64 MiB). */
  segmentBytes?: number;
  /** Randomness for election timeouts (default Math.random). */
  random?: () => number;
  /** Called (inside the node's loop; keep it quick) whenever the known leader or this node's role changes. */
  onStateChange?: (s: { leader: NodeId; role: Role; term: number }) => void;
}

export { NotLeaderError } from "../core/errors.ts";

/** The outcome of a proposal is unknown (timed out); it may still be applied later. */
export class UnknownOutcomeError extends Error {
  override name = "UnknownOutcomeError";
}

/** The proposal was not committed (dropped, or overwritten by another leader); it was not applied. */
export class ProposalFailedError extends Error {
  override name = "ProposalFailedError";
}

/** The node is closed or stopped after a fatal storage error. */
export class NodeClosedError extends Error {
  override name = "NodeClosedError";
}

/** One member as seen by {@link RaftNode.status}. */
export interface MemberStatus {
  id: NodeId;
  addr: string | undefined;
  /** The member's service address, when it has announced one to this node. */
  apiAddr?: string;
  voter: boolean;
  /** Leader only: highest index known replicated on the member. */
  match?: number;
  /** Leader only: replication state (probe, replicate, snapshot). */
  state?: string;
  /** Leader only: entries the member is behind the leader's last index. */
  lag?: number;
  /** Leader only: heard from within the election timeout. */
  active?: boolean;
}

/** A point-in-time view of a node. */
export interface NodeStatus {
  id: NodeId;
  clusterId: string;
  addr: string;
  role: Role;
  term: number;
  leader: NodeId;
  leaderAddr: string | undefined;
  leaderApiAddr: string | undefined;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  members: MemberStatus[];
  /** Runtime health: WAL fsync counters and the event-loop lag seen by the tick timer (max over the last 10 s). */
  metrics: { fsyncs: number; fsyncMsAvg: number; fsyncMsMax: number; walSegments: number; loopLagMsMax: number };
}
