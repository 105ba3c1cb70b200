/**
 * The pure Raft core, in the manner of etcd-io/raft: deterministic, no I/O, no clock, randomness injected.
 *
 * Contract with the runtime (`raft/node/node.ts`):
 * - Feed `tick()`, `step(message)`, `propose`, `proposeConfChange`, `readIndex`, `transferLeader`. `propose` and
 *   `proposeConfChange` return the index of the appended entry (match it against the applied entry's term).
 * - While `hasReady()`: take `ready()`, then persist (snapshot, entries, hard state; fsync), send the messages,
 *   apply `committed` (and the snapshot), and call `advance(rd)`. Membership changes in committed conf entries
 *   take effect in the core at `advance` (configuration "on apply", one change pending at a time).
 * - Storage: `term(firstIndex() - 1)` must answer (the snapshot's term); `initialState().conf` is the membership as
 *   of the stored snapshot (conf entries between it and `applied` are replayed by the core at start-up).
 * - A new group starts from {@link initialSnapshot} on every founding member; a joining node starts empty and is
 *   sent a snapshot by the leader.
 * - Snapshots travel in chunks of `maxSnapshotChunk`; the follower acknowledges each (`snapResp`, next offset in
 *   `rejectHint`) and the leader resends a stalled chunk, so lost chunks heal without the runtime's help.
 * - After a local snapshot at `applied`, call `compact(applied, snapshot)`; the runtime truncates its own storage.
 * @module
 */

export { RaftCore } from "./core.ts";
export type { PeerStatus, RaftStatus } from "./core.ts";
export type { RaftConfig } from "./config.ts";
export { ConfChangeError, LostLogError, NotLeaderError, ProposalDroppedError } from "./errors.ts";
export { MemoryLogStorage } from "./memory_storage.ts";
export { decodeConfChange, encodeConfChange } from "./util.ts";
export { initialSnapshot } from "./bootstrap.ts";
