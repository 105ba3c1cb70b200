/**
 * The dashboard's view of the per-slot migration executor: start moving slot `sid`'s keys from one master to
 * another, ask whether it is done, and read its progress. The real executor lives in `topom/executor/`; until it
 * is wired, {@link EmptySlotExecutor} only checks that the slot's database on the source is empty.
 * @module
 */
import { redisCall } from "./redis.ts";

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

/**
 * A stand-in executor that moves nothing: it polls `DBSIZE` of database `sid` on the source and reports done once
 * it is 0. Correct for empty slots; a slot with keys stays `migrating` (with keys_left in stats).
 */
export class EmptySlotExecutor implements SlotExecutor {
  readonly #jobs = new Map<number, { from: string; done: boolean; left?: number; error?: string; busy: boolean }>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(private readonly auth: string, pollMs = 50) {
    this.#timer = setInterval(() => this.#poll(), pollMs);
  }

  #poll(): void {
    for (const [sid, j] of this.#jobs) {
      if (j.done || j.busy) continue;
      j.busy = true;
      redisCall(j.from, this.auth, ["DBSIZE"], sid, 1000).then((n) => {
        j.left = Number(n);
        j.done = j.left === 0;
        j.error = undefined;
      }, (e) => {
        j.error = (e as Error).message;
      }).finally(() => j.busy = false);
    }
  }

  start(sid: number, fromAddr: string): void {
    if (!this.#jobs.has(sid)) this.#jobs.set(sid, { from: fromAddr, done: false, busy: false });
  }
  done(sid: number): boolean {
    return this.#jobs.get(sid)?.done ?? false;
  }
  progress(sid: number): SlotProgressInfo | undefined {
    const j = this.#jobs.get(sid);
    if (!j) return undefined;
    const p: SlotProgressInfo = {};
    if (j.left !== undefined) p.keys_left = j.left;
    if (j.error) p.error = j.error;
    return p;
  }
  stop(sid: number): void {
    this.#jobs.delete(sid);
  }
  running(): number {
    let n = 0;
    for (const j of this.#jobs.values()) if (!j.done) n++;
    return n;
  }
  close(): Promise<void> {
    clearInterval(this.#timer);
    this.#jobs.clear();
    return Promise.resolve();
  }
}
