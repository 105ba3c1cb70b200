/**
 * Shared Raft data types: the contract between the pure core (`raft/core/`), durable storage (`raft/storage/`),
 * the transport (`raft/transport/`) and the node runtime (`raft/node/node.ts`).
 *
 * Fields may be added; existing ones keep their meaning. Everything here is plain data so that it can be
 * serialised to JSON (with `Uint8Array` data carried as base64 by the codec in `raft/codec.ts`).
 *
 * @module
 */

/** A member id. 0 means "none". */
export type NodeId = number;

/** What an entry carries. */
export type EntryType = "normal" | "conf";

/** One log entry. `data` is opaque to Raft; for `conf` entries it is an encoded {@link ConfChange}. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** State that must be on stable storage before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

/** The cluster membership at a point in the log. Learners receive the log but do not vote. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/** One single-server membership change. */
export interface ConfChange {
  type: "addLearner" | "addVoter" | "promote" | "remove";
  id: NodeId;
  /** The peer address for the transport, recorded in the log so that every node learns it. */
  addr?: string;
}

/** Snapshot metadata: the last index/term it covers and the membership at that point. */
export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
  /** Peer addresses known at that point, id → "host:port". */
  addrs: Record<string, string>;
}

/** A full snapshot: metadata plus the state machine's serialised state. */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/** Message kinds, after etcd-io/raft's raftpb. */
export type MessageType =
  | "hup" // local: start an election
  | "beat" // local: leader sends heartbeats
  | "prop" // proposal forwarded to the leader
  | "app" // append entries
  | "appResp"
  | "vote"
  | "voteResp"
  | "preVote"
  | "preVoteResp"
  | "snap" // install snapshot (one chunk)
  | "snapResp"
  | "heartbeat"
  | "heartbeatResp"
  | "readIndex"
  | "readIndexResp"
  | "transferLeader"
  | "timeoutNow";

/** Every message type, in a fixed order (the simulator indexes its counters by it). */
export const MESSAGE_TYPES: readonly MessageType[] = [
  "hup",
  "beat",
  "prop",
  "app",
  "appResp",
  "vote",
  "voteResp",
  "preVote",
  "preVoteResp",
  "snap",
  "snapResp",
  "heartbeat",
  "heartbeatResp",
  "readIndex",
  "readIndexResp",
  "transferLeader",
  "timeoutNow",
];

/** One Raft message. Unused fields are omitted. */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** app: index of the entry before `entries`; appResp: the index acknowledged (or the hint when rejected). */
  index?: number;
  /** app: term of the entry at `index`; appResp reject: term hint for fast back-off. */
  logTerm?: number;
  entries?: Entry[];
  commit?: number;
  reject?: boolean;
  rejectHint?: number;
  /** snap: the snapshot chunk; `offset`/`done` describe the chunking. */
  snapshot?: { meta: SnapshotMeta; offset: number; data: Uint8Array; done: boolean };
  /** readIndex / heartbeat: the read request context, echoed back. */
  context?: Uint8Array;
}

/** A linearizable read that may proceed once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/** Volatile role. */
export type Role = "follower" | "preCandidate" | "candidate" | "leader" | "learner";

/** Soft state: changes often and need not be persisted. */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/**
 * What the core hands to the runtime after a step or tick. The runtime must, in order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` (if any), and fsync;
 * 2. send `messages`;
 * 3. apply `committed` to the state machine (and the snapshot, if any);
 * 4. call `advance()` on the core.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committed: Entry[];
  messages: Message[];
  readStates: ReadState[];
}

/** Read access to the log the core needs; implemented in memory by the core and on disk by `raft/storage/`. */
export interface LogStorage {
  initialState(): { hardState: HardState; conf: ConfState };
  firstIndex(): number;
  lastIndex(): number;
  term(index: number): number;
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  snapshot(): Snapshot | undefined;
}

/** A state machine the runtime applies committed entries to. */
export interface StateMachine {
  apply(entry: Entry): unknown;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}
