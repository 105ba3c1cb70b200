/**
 * A deadline that a process stall does not trip on its own. After the process did not run for a while (stopped,
 * starved, its machine paused or short of memory), its overdue timers fire before the I/O that completed meanwhile
 * is read: a connect that succeeded during the stall would be taken for one that timed out. A timer that fires late
 * therefore judges nothing and is armed once more for its whole period, so the work it guards gets that much running
 * time; a timer that fires on time expires at once, so a real timeout is not delayed.
 * @module
 */

/** How late a timer may fire and still count as on time: a quarter of its period, and never less than this. */
const MIN_LATENESS_MS = 50;

/** Whether a timer due at `dueAt` that fired at `now` fired late: the process did not run for part of its period. */
export function firedLate(dueAt: number, now: number, periodMs: number): boolean {
  return now - dueAt > Math.max(MIN_LATENESS_MS, periodMs / 4);
}

/** A timeout that calls `onExpiry` after `periodMs`, re-armed once if it fired late (see the module's note). */
export class StallTolerantTimeout {
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(periodMs: number, onExpiry: () => void) {
    const arm = (confirming: boolean) => {
      const dueAt = Date.now() + periodMs;
      this.#timer = setTimeout(() => {
        if (!confirming && firedLate(dueAt, Date.now(), periodMs)) return arm(true);
        this.#timer = undefined;
        onExpiry();
      }, periodMs);
    };
    arm(false);
  }

  /** Cancels the timeout; safe to call more than once. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
