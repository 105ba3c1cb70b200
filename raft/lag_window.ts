/**
 * The worst event-loop lag seen over roughly the last 10–20 s: a stalled loop delays ticks and heartbeats, so the
 * node reports it in its status.
 * @module
 */
export class LagWindow {
  #max = 0;
  #prevMax = 0;
  #windowStart = Date.now();

  /** Records one observed lag, in ms. */
  note(ms: number): void {
    const now = Date.now();
    if (now - this.#windowStart > 10_000) {
      this.#windowStart = now;
      this.#prevMax = this.#max;
      this.#max = 0;
    }
    if (ms > this.#max) this.#max = ms;
  }

  /** The largest lag of the current and the previous window. */
  max(): number {
    return Math.max(this.#max, this.#prevMax);
  }
}
