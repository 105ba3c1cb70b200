/**
 * The dashboard's Redis I/O: the slot migration executor (behind the SlotExecutor interface, with the scheduler's
 * bookkeeping of running executors) and the group server operations.
 * @module
 */
export {
  runSlotMigration,
  type SlotMigrationOptions,
  type SlotMigrationProgress,
  type SlotMigrationResult,
  type SlotMigrationState,
  SlotMigrator,
} from "./migrate.ts";
export { MigrationExecutor, type MigrationExecutorOptions, type SlotExecutorProgress } from "./executor.ts";
export {
  checkServer,
  flushSlot,
  promoteToMaster,
  replicaOf,
  type ReplicaOfOptions,
  SERVER_OP_TIMEOUT_MS,
  ServerCheckError,
  type ServerCheckFailure,
  type ServerFacts,
  slotKeyCounts,
  type SyncState,
  syncState,
} from "./server_ops.ts";
export { parseInfoText, parseKeyspace } from "./conn.ts";
export { createExecutor, type ExecutorConfig } from "./create.ts";
export type { SlotExecutor, SlotProgressInfo } from "./slot_executor.ts";
export { ExecutorRuns, type RunsContext } from "./runs.ts";
export { progressStatus } from "./progress.ts";
