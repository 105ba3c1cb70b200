/**
 * The dashboard's view of the per-slot migration executor: start moving slot `sid`'s keys from one master to
 * another, ask whether it is done, and read its progress. `topom/executor/`'s MigrationExecutor implements it
 * (executor_wiring.ts); tests may pass their own.
 * @module
 */
/** Progress of one slot's data move, for stats. */
export interface SlotProgressInfo {
  /** Keys still in database `sid` on the source at the last look. */
  keys_left?: number;
  keys_per_sec?: number;
  /** Set when the executor paused the slot (e.g. a key too big to move within migration_timeout). */
  error?: string;
}

/** What the scheduler needs from a migration executor. */
export interface SlotExecutor {
  /** Starts (or keeps running) the move of slot `sid` from `fromAddr` to `toAddr`; idempotent. */
  start(sid: number, fromAddr: string, toAddr: string): void;
  /** Whether slot `sid` is empty on its source (the move is complete). */
  done(sid: number): boolean;
  /** Progress of slot `sid`, when known. */
  progress(sid: number): SlotProgressInfo | undefined;
  /** Stops working on `sid` (the action left `migrating` or this dashboard lost leadership). */
  stop(sid: number): void;
  /** Number of slots being moved. */
  running(): number;
  /** Stops everything. */
  close(): Promise<void>;
}
