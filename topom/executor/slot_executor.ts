/**
 * The dashboard's view of the per-slot migration executor: start moving slot `sid`'s keys from one master to
 * another, ask whether it is done, and read its progress. `topom/executor/`'s MigrationExecutor implements it
 * (create.ts); tests may pass their own.
 * @module
 */
/** Progress of one slot's data move, for stats. */
export interface SlotProgressInfo {
  /** Keys still in database `sid` on the source at the last look. */
  keys_left?: number;
  keys_per_sec?: number;
  /** Why the slot is paused, or why its last run failed (it is then retried by itself). */
  error?: string;
  /**
   * The executor stopped on a key it cannot move (too big for migration_timeout, refused by the target) and will
   * not try again by itself: the operator fixes the cause, then resumes the slot ({@link SlotExecutor.resume}).
   */
  paused?: boolean;
}

/** What the scheduler needs from a migration executor. */
export interface SlotExecutor {
  /** Starts (or keeps running) the move of slot `sid` from `fromAddr` to `toAddr`; idempotent. */
  start(sid: number, fromAddr: string, toAddr: string): void;
  /** Whether slot `sid` is empty on its source (the move is complete). */
  done(sid: number): boolean;
  /** Progress of slot `sid`, when known. */
  progress(sid: number): SlotProgressInfo | undefined;
  /** Runs a paused slot again from the start of its database (a no-op for a slot that is not paused or failed). */
  resume(sid: number): void;
  /** Stops working on `sid` (the action left `migrating` or this dashboard lost leadership). */
  stop(sid: number): void;
  /** Number of slots being moved. */
  running(): number;
  /** Stops everything. */
  close(): Promise<void>;
}
