/**
 * The pure Raft core: deterministic, no I/O, no clock, randomness injected.
 * @module
 */

export { RaftCore } from "./core.ts";
export type { PeerStatus, RaftStatus } from "./core.ts";
export type { RaftConfig } from "./config.ts";
export { ConfChangeError, NotLeaderError, ProposalDroppedError } from "./errors.ts";
export { MemoryLogStorage } from "./memory_storage.ts";
export { decodeConfChange, encodeConfChange } from "./util.ts";
export { initialSnapshot } from "./bootstrap.ts";
