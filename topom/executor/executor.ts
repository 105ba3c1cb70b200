/**
 * The leader's migration executor: one {@link SlotMigrator} per migrating slot, started and stopped by the
 * scheduler, with automatic retries after failures (a lost connection, a target that is down) and no retries
 * after a pause (a key too big for migration_timeout needs the operator).
 * @module
 */
import { logger } from "../../util/log.ts";
import { type SlotMigrationProgress, type SlotMigrationResult, SlotMigrator } from "./migrate.ts";

const log = logger("executor");

/** Settings shared by every slot's move; the dashboard.toml names are in the comments. */
export interface MigrationExecutorOptions {
  /** product_auth. */
  auth: string;
  /** migration_timeout in ms (default 30000). */
  timeoutMs?: number;
  /** Keys per batch (default 500). */
  batchKeys?: number;
  /** MIGRATE batches in flight per slot (default 2). */
  pipeline?: number;
  /** Wait before retrying a failed slot, in ms (default 1000). */
  retryMs?: number;
}

/** Stats view of one slot's move (the snake_case fields are what the dashboard shows). */
export interface SlotExecutorProgress {
  /** Keys still in the slot on the source. */
  keys_left?: number;
  /** Keys moved per second. */
  keys_per_sec?: number;
  /** Paused or failed: why (a paused slot names the key). */
  error?: string;
  /** The executor's own view. */
  state: SlotMigrationProgress["state"];
  /** The slot stopped on a key it cannot move (see `key`). */
  paused: boolean;
  /** Paused: the key that could not be moved. */
  key?: string;
  /** Keys moved. */
  moved: number;
  /** Stale source copies deleted because the target already had the key. */
  deleted: number;
}

interface Job {
  from: string;
  to: string;
  migrator: SlotMigrator;
  abort: AbortController;
  result?: SlotMigrationResult;
  /** Why the previous run of this slot failed, shown until this run ends. */
  lastError?: string;
  retry?: ReturnType<typeof setTimeout>;
  promise: Promise<void>;
}

/** Runs slot moves; safe for many slots at once (each has its own connections). */
export class MigrationExecutor {
  readonly #opts: MigrationExecutorOptions;
  readonly #jobs = new Map<number, Job>();
  /** Runs not yet finished, including stopped ones still closing their connections. */
  readonly #live = new Set<Promise<void>>();
  #closed = false;

  /** An executor with no slot running; slots start when the scheduler asks. */
  constructor(opts: MigrationExecutorOptions) {
    this.#opts = opts;
  }

  /** Starts moving slot `sid` from `fromAddr` to `toAddr`; idempotent while the addresses stay the same. */
  start(sid: number, fromAddr: string, toAddr: string): void {
    if (this.#closed) return;
    const j = this.#jobs.get(sid);
    if (j && j.from === fromAddr && j.to === toAddr) return;
    if (j) this.stop(sid);
    this.#launch(sid, fromAddr, toAddr);
  }

  #launch(sid: number, from: string, to: string, lastError?: string): void {
    const abort = new AbortController();
    const migrator = new SlotMigrator({
      slot: sid,
      from,
      to,
      auth: this.#opts.auth,
      timeoutMs: this.#opts.timeoutMs,
      batchKeys: this.#opts.batchKeys,
      pipeline: this.#opts.pipeline,
      signal: abort.signal,
    });
    const job: Job = { from, to, migrator, abort, lastError, promise: Promise.resolve() };
    job.promise = migrator.run().then((r) => {
      job.result = r;
      const what = `slot ${sid} ${from} → ${to}`;
      if (r.state === "paused") log.warn(`${what} paused: ${r.reason}`);
      else if (r.state === "failed" && r.reason !== lastError) log.warn(`${what} failed (retrying): ${r.reason}`);
      else if (r.state === "done") log.info(`${what} moved ${r.moved} keys in ${r.elapsedMs} ms`);
      if (r.state !== "failed" || this.#jobs.get(sid) !== job || this.#closed) return;
      job.retry = setTimeout(() => {
        job.retry = undefined;
        if (this.#jobs.get(sid) === job && !this.#closed) this.#launch(sid, from, to, r.reason);
      }, this.#opts.retryMs ?? 1000);
    });
    this.#jobs.set(sid, job);
    this.#live.add(job.promise);
    job.promise.finally(() => this.#live.delete(job.promise));
  }

  /** Whether slot `sid`'s database on its source is empty. */
  done(sid: number): boolean {
    return this.#jobs.get(sid)?.result?.done ?? false;
  }

  /** Whether slot `sid` is paused on a key that cannot be moved within the timeout. */
  paused(sid: number): boolean {
    return this.#jobs.get(sid)?.result?.paused ?? false;
  }

  /** Restarts a paused (or failed) slot, e.g. after the operator raised migration_timeout or removed the key. */
  resume(sid: number, opts: Partial<MigrationExecutorOptions> = {}): void {
    const j = this.#jobs.get(sid);
    Object.assign(this.#opts, opts);
    if (!j || !j.result || j.result.done) return;
    this.stop(sid);
    this.#launch(sid, j.from, j.to);
  }

  /** Progress of slot `sid`, when it has been started. */
  progress(sid: number): SlotExecutorProgress | undefined {
    const j = this.#jobs.get(sid);
    if (!j) return undefined;
    const p = j.result ?? j.migrator.progress();
    const out: SlotExecutorProgress = {
      state: p.state,
      paused: p.state === "paused",
      moved: p.moved,
      deleted: p.deleted,
      keys_per_sec: p.keysPerSec,
    };
    if (p.keysLeft >= 0) out.keys_left = p.keysLeft;
    const error = p.reason ?? (j.result ? undefined : j.lastError);
    if (error) out.error = error;
    if (p.key !== undefined) out.key = p.key;
    return out;
  }

  /** The full progress of every started slot, by slot id. */
  all(): Map<number, SlotMigrationProgress> {
    const out = new Map<number, SlotMigrationProgress>();
    for (const [sid, j] of this.#jobs) out.set(sid, j.result ?? j.migrator.progress());
    return out;
  }

  /** Stops working on `sid` (it left `migrating`, or this dashboard lost leadership). */
  stop(sid: number): void {
    const j = this.#jobs.get(sid);
    if (!j) return;
    this.#jobs.delete(sid);
    j.abort.abort();
    if (j.retry !== undefined) clearTimeout(j.retry);
  }

  /** Number of slots being moved right now. */
  running(): number {
    let n = 0;
    for (const j of this.#jobs.values()) if (!j.result) n++;
    return n;
  }

  /** Stops every slot and waits until their connections are closed. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const sid of [...this.#jobs.keys()]) this.stop(sid);
    await Promise.all([...this.#live]);
  }
}
