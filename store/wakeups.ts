/**
 * The parking lot of a long poll: callers wait for "something changed", a timeout or an abort, whichever comes
 * first, and the writer wakes them all at once. Used by the stores that serve `waitForChanges` themselves.
 * @module
 */

/** Waiters parked until the next {@link Wakeups.wakeAll}. */
export class Wakeups {
  private readonly waiters = new Set<() => void>();

  /**
   * Resolves on the next {@link wakeAll}, after `ms`, or when `signal` aborts; at once when `ms <= 0` or the signal
   * has already aborted. Never rejects; the timer and the abort listener are removed when it resolves.
   */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Resolves every pending {@link wait}. */
  wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }
}
