/**
 * The active dashboard's view of its slot executors: which migrating slots have an executor running, which of those
 * finished (so that `migrating → finished` need not wait for a full scheduler pass) and which paused slots were
 * already reported. It applies a scheduler plan's executor decisions and says what the progress line should read.
 * @module
 */
import type { SlotMapping } from "../../models/mod.ts";
import { progressStatus } from "./progress.ts";
import type { SlotExecutor } from "./slot_executor.ts";

/** What {@link ExecutorRuns.apply} reads of the dashboard's context (`topom/context.ts`'s Context). */
export interface RunsContext {
  readonly slots: readonly SlotMapping[];
  /** The master address of group `gid`. */
  getGroupMaster(gid: number): string;
}

/** Executors of the migrating slots, as one scheduler pass left them. */
export class ExecutorRuns {
  readonly #executor: SlotExecutor;
  readonly #running = new Set<number>();
  readonly #doneSeen = new Set<number>();
  /** Paused slots already reported in the progress line. */
  readonly #pausedSeen = new Set<number>();

  constructor(executor: SlotExecutor) {
    this.#executor = executor;
  }

  /** True when a running slot's executor finished since the last call for it: time for a scheduler pass. */
  newlyDone(): boolean {
    let any = false;
    for (const sid of this.#running) {
      if (this.#executor.done(sid) && !this.#doneSeen.has(sid)) {
        this.#doneSeen.add(sid);
        any = true;
      }
    }
    return any;
  }

  /** Leadership lost (or the dashboard closing): every executor stops. */
  stopAll(): void {
    for (const sid of this.#running) this.#executor.stop(sid);
    this.#running.clear();
    this.#doneSeen.clear();
    this.#pausedSeen.clear();
  }

  /** The operator resumed slot `sid`: its next pause is news again. */
  resumed(sid: number): void {
    this.#pausedSeen.delete(sid);
  }

  /**
   * Applies one pass: stops executors of slots that left `migrating`, stops blocked ones, starts (or keeps) the
   * runnable ones. Returns the progress line to show, or undefined to keep the current one.
   */
  apply(
    ctx: RunsContext,
    blocked: readonly { slot: SlotMapping; reason: string }[],
    runnable: readonly SlotMapping[],
  ): string | undefined {
    let progress: string | undefined;
    const ex = this.#executor;
    for (const sid of this.#running) {
      if (ctx.slots[sid].action.state !== "migrating") {
        ex.stop(sid);
        this.#running.delete(sid);
        this.#doneSeen.delete(sid);
        this.#pausedSeen.delete(sid);
      }
    }
    for (const { slot, reason } of blocked) {
      if (this.#running.delete(slot.id)) ex.stop(slot.id);
      this.#pausedSeen.delete(slot.id);
      progress = `[PAUSED] Slot[${String(slot.id).padStart(4, "0")}]: ${reason}`;
    }
    for (const m of runnable) {
      ex.start(m.id, ctx.getGroupMaster(m.group_id), ctx.getGroupMaster(m.action.target_id ?? 0));
      this.#running.add(m.id);
      // A paused move is not retried by start(): it waits for slots/action/resume. Say so once, Codis-style.
      const p = ex.progress(m.id);
      if (p?.paused && !this.#pausedSeen.has(m.id)) {
        this.#pausedSeen.add(m.id);
        progress = progressStatus(m.id, { error: `paused: ${p.error ?? "unknown reason"}` });
      }
    }
    return progress;
  }
}
