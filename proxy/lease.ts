/**
 * The proxy's dashboard lease (`dashboard_lease_timeout`): a proxy serves its slots only while it has heard from the
 * active dashboard within the lease. The lease runs from the moment the confirming request was *sent*, which is no
 * later than the moment the dashboard saw it, so the dashboard (which waits a lease from the last request it saw
 * before it stops waiting for a proxy's acknowledgement) never moves on while the proxy still serves an old model.
 * The decisions are pure functions; {@link LeaseTimer} only arms the timer that fences an idle proxy.
 * @module
 */

/** Whether a lease confirmed at `confirmedAt` (ms, monotonic) has run out at `now`; a lease of 0 never does. */
export function leaseExpired(confirmedAt: number, now: number, leaseMs: number): boolean {
  return leaseMs > 0 && now - confirmedAt > leaseMs;
}

/**
 * The long-poll timeout asked of the dashboard: at most a third of the lease, so that a healthy idle proxy renews
 * its lease twice before it could run out even when one answer is lost.
 */
export function pollTimeoutFor(leaseMs: number, defaultMs: number): number {
  return leaseMs > 0 ? Math.max(100, Math.min(defaultMs, Math.floor(leaseMs / 3))) : defaultMs;
}

/** The error a client gets from a proxy whose lease ran out `sinceMs` ago of contact (without the leading `-`). */
export function leaseErrorText(sinceMs: number): string {
  return `ERR proxy lease expired: no dashboard reached for ${Math.round(sinceMs / 1000)}s`;
}

/** Calls `onExpire` once the lease confirmed last runs out; confirming again re-arms it. */
export class LeaseTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #confirmedAt = -Infinity;
  #expired = false;

  constructor(readonly leaseMs: number, private readonly onExpire: () => void) {}

  /** When the lease was last confirmed (performance.now() of the confirming request's send), or -Infinity. */
  get confirmedAt(): number {
    return this.#confirmedAt;
  }

  /** Whether the lease ran out and has not been confirmed since. */
  get expired(): boolean {
    return this.#expired;
  }

  /** The lease is good from `sentAt` (performance.now() when the confirming request left). */
  confirm(sentAt: number): void {
    if (this.leaseMs <= 0) return;
    this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
    const wasExpired = this.#expired;
    this.#expired = leaseExpired(this.#confirmedAt, performance.now(), this.leaseMs);
    // An answer that took longer than the lease to arrive (a pause, a slow network) confirms nothing.
    if (this.#expired && !wasExpired) this.#expire();
    else this.#arm();
  }

  /** Stops the timer. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#expired) return;
    const left = this.#confirmedAt + this.leaseMs - performance.now();
    this.#timer = setTimeout(() => {
      // Timers can fire early by a millisecond or late after a pause: decide on the clock, not on the timer.
      if (!leaseExpired(this.#confirmedAt, performance.now(), this.leaseMs)) return this.#arm();
      this.#expired = true;
      this.#expire();
    }, Math.max(0, left) + 1);
  }

  #expire(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.onExpire();
  }
}
