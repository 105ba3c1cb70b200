/**
 * The wire shape of `GET /api/topom/raft/status`: one dashboard's view of the embedded Raft store. The server
 * (topom/server/raft_api.ts) builds it from the node's status, codis-admin prints it and the tests poll it, so it
 * is declared once here rather than in each of them.
 * @module
 */

/** A Raft node's role; `learner` is a non-voting member that only receives the log. */
export type RaftRole = "follower" | "preCandidate" | "candidate" | "leader" | "learner";

/**
 * One member as the status lists it. The replication fields (`match`, `state`, `lag`, `active`) are known only on
 * the leader, so a follower's answer omits them.
 */
export interface RaftMemberJson {
  /** The member's node id. */
  id: number;
  /** Raft peer address; absent while this node has not learned it. */
  addr?: string;
  /** The member's service (HTTP) address, once it has announced one. */
  apiAddr?: string;
  /** Whether it votes (a learner only receives the log). */
  voter: boolean;
  /** `voter` or `learner`, spelled out for people reading the JSON. */
  role: "voter" | "learner";
  /** Leader only: highest index known replicated on the member. */
  match?: number;
  /** Leader only: replication state (probe, replicate, snapshot). */
  state?: string;
  /** Leader only: entries the member is behind the leader's last index. */
  lag?: number;
  /** Leader only: heard from within the election timeout. */
  active?: boolean;
}

/** A node's status: its role and log positions, the leader it follows, and every member. */
export interface RaftStatusJson {
  /** This node's id. */
  id: number;
  /** The cluster's id, the same on every member. */
  clusterId: string;
  /** This node's Raft peer address. */
  addr: string;
  /** Leader, follower, candidate or learner. */
  role: RaftRole;
  /** The current term. */
  term: number;
  /** The leader's id, 0 when unknown; `leaderAddr`/`leaderApiAddr` are absent then. */
  leader: number;
  /** The leader's Raft peer address. */
  leaderAddr?: string;
  /** The leader's service (HTTP) address. */
  leaderApiAddr?: string;
  /** Highest log index known committed. */
  commit: number;
  /** Highest log index applied to the state machine. */
  applied: number;
  /** First index still in the log (after compaction). */
  firstIndex: number;
  /** Last index in the log. */
  lastIndex: number;
  /** Index of the latest snapshot. */
  snapshotIndex: number;
  /** Every member of the cluster. */
  members: RaftMemberJson[];
  /** Runtime health: WAL fsync counters and the event-loop lag seen by the tick timer (max over the last 10 s). */
  metrics: { fsyncs: number; fsyncMsAvg: number; fsyncMsMax: number; walSegments: number; loopLagMsMax: number };
}
