/**
 * CLIENT PAUSE for this proxy's sessions: while paused, a session's next command (every command in ALL mode, writes
 * and commands that may replicate in WRITE mode) waits, and the session's later commands wait behind it, as Redis
 * postpones a paused client.
 * @module
 */

/** No pause, WRITE, or ALL: a later pause keeps the stronger mode, as Redis's pauseClients does. */
export type PauseMode = 0 | 1 | 2;
export const PAUSE_NONE: PauseMode = 0;
export const PAUSE_WRITE: PauseMode = 1;
export const PAUSE_ALL: PauseMode = 2;

/** The proxy-wide pause. */
export class ClientPause {
  mode: PauseMode = PAUSE_NONE;
  /** Date.now() when the pause ends. */
  #until = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #waiters: (() => void)[] = [];
  #changed: () => void;

  /** `changed` runs when a pause begins or ends. */
  constructor(changed: () => void) {
    this.#changed = changed;
  }

  /** Pauses for `ms` milliseconds (extending, never shortening, a pause in force) in `mode`. */
  pause(ms: number, mode: PauseMode): void {
    const until = Date.now() + ms;
    const was = this.mode;
    if (mode > this.mode) this.mode = mode;
    if (until > this.#until) {
      this.#until = until;
      if (this.#timer !== null) clearTimeout(this.#timer);
      // setTimeout takes at most 2^31-1 ms; a longer pause ends then (about 24 days).
      this.#timer = setTimeout(() => this.unpause(), Math.min(Math.max(0, ms), 0x7fffffff));
    }
    if (was === PAUSE_NONE) this.#changed();
  }

  /** Ends the pause: every waiting session goes on, in the order they were paused. */
  unpause(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#until = 0;
    if (this.mode === PAUSE_NONE) return;
    this.mode = PAUSE_NONE;
    this.#changed();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Runs `resume` when the pause ends (at once if it has already). */
  wait(resume: () => void): void {
    if (this.mode === PAUSE_NONE) return resume();
    this.#waiters.push(resume);
  }

  /** Stops the timer (proxy shutdown); waiting sessions are closed by the proxy. */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#waiters = [];
  }
}
