/**
 * Redis's `client-output-buffer-limit pubsub` for the proxy's subscribed sessions: a subscriber whose unsent output
 * reaches the hard limit, or stays at or over the soft limit for longer than the soft time, is closed. A subscriber
 * that does not read would otherwise hold every message published to its channels in the proxy's memory.
 * @module
 */

/** The limits, from proxy.toml's session_pubsub_* keys. 0 disables a limit. */
export interface PubSubOutputLimits {
  /** Bytes of unsent output at which the session is closed at once. */
  hardBytes: number;
  /** Bytes of unsent output that may last at most `softMs`. */
  softBytes: number;
  softMs: number;
}

/** True when some limit is set. */
export function hasPubSubLimits(l: PubSubOutputLimits): boolean {
  return l.hardBytes > 0 || l.softBytes > 0;
}

/**
 * One session's state against the limits, checked as Redis checks them: each time output is added, with the
 * bytes then waiting. As in Redis the soft clock starts when the output is first seen at or over the soft limit, is
 * cleared when it is seen under it, and closes the session when seen over it for longer than the soft time.
 */
export class PubSubOutputLimit {
  readonly limits: PubSubOutputLimits;
  /** When the output was first seen at or over the soft limit (ms), or 0. */
  #softSince = 0;

  constructor(limits: PubSubOutputLimits) {
    this.limits = limits;
  }

  /**
   * Whether a session with `waiting` bytes of unsent output at time `now` (ms) must be closed: the reason (for the
   * log), or null.
   */
  exceeded(waiting: number, now: number): string | null {
    const l = this.limits;
    if (l.hardBytes > 0 && waiting >= l.hardBytes) {
      return `${waiting} bytes of unsent pub/sub output reached session_pubsub_hard_limit (${l.hardBytes})`;
    }
    if (l.softBytes === 0 || waiting < l.softBytes) {
      this.#softSince = 0;
      return null;
    }
    if (this.#softSince === 0) {
      this.#softSince = now;
      return null;
    }
    if (now - this.#softSince <= l.softMs) return null;
    return `unsent pub/sub output stayed over session_pubsub_soft_limit (${l.softBytes}) for more than ` +
      `session_pubsub_soft_time (${l.softMs} ms)`;
  }
}
