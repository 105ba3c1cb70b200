/**
 * The dashboard's Redis I/O: the slot migration executor and the group server operations.
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
