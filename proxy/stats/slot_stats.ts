/**
 * Per-slot counters of one proxy: requests, errors, bytes in and out, and total latency for each of the 1024 slots,
 * in flat typed arrays so that counting a request allocates nothing. Rates (ops/s, bytes/s) come from a ring of
 * snapshots taken once a second over a sliding window (`load_stats_window`).
 * @module
 */
import { MAX_SLOT_NUM } from "../../models/mod.ts";
import type { SlotStatsEntry, SlotStatsJSON } from "../../models/load_stats.ts";

export type { SlotStatsEntry, SlotStatsJSON };

/** Counters for the 1024 slots. The `count*` methods are on the request path. */
export class SlotStats {
  readonly requests: Float64Array = new Float64Array(MAX_SLOT_NUM);
  readonly errors: Uint32Array = new Uint32Array(MAX_SLOT_NUM);
  readonly bytesIn: Float64Array = new Float64Array(MAX_SLOT_NUM);
  readonly bytesOut: Float64Array = new Float64Array(MAX_SLOT_NUM);
  readonly usecs: Float64Array = new Float64Array(MAX_SLOT_NUM);

  /** Ring of (time, requests, bytes) snapshots, one a second, the oldest first to be overwritten. */
  #ringAt: Float64Array;
  #ringReq: Float64Array[];
  #ringBytes: Float64Array[];
  #ringNext = 0;
  #ringFilled = 0;

  /** `windowSecs`: how far back the rates look (at least 1). */
  constructor(windowSecs: number, now: number = performance.now()) {
    // One snapshot a second: the oldest of `windowSecs` is between windowSecs - 1 and windowSecs seconds old.
    const n = Math.max(2, Math.round(windowSecs));
    this.#ringAt = new Float64Array(n);
    this.#ringReq = Array.from({ length: n }, () => new Float64Array(MAX_SLOT_NUM));
    this.#ringBytes = Array.from({ length: n }, () => new Float64Array(MAX_SLOT_NUM));
    this.sample(now);
  }

  /** A request of `bytes` sent to `slot`. */
  countRequest(slot: number, bytes: number): void {
    this.requests[slot]++;
    this.bytesIn[slot] += bytes;
  }

  /** The reply to a request sent whole to `slot`. */
  countReply(slot: number, bytes: number, usecs: number, error: boolean): void {
    this.bytesOut[slot] += bytes;
    this.usecs[slot] += usecs;
    if (error) this.errors[slot]++;
  }

  /** Takes the once-a-second snapshot the rates are computed from. */
  sample(now: number = performance.now()): void {
    const i = this.#ringNext;
    this.#ringAt[i] = now;
    this.#ringReq[i].set(this.requests);
    const bytes = this.#ringBytes[i];
    for (let s = 0; s < MAX_SLOT_NUM; s++) bytes[s] = this.bytesIn[s] + this.bytesOut[s];
    this.#ringNext = (i + 1) % this.#ringAt.length;
    if (this.#ringFilled < this.#ringAt.length) this.#ringFilled++;
  }

  /** Index of the oldest snapshot in the ring. */
  #oldest(): number {
    return this.#ringFilled < this.#ringAt.length ? 0 : this.#ringNext;
  }

  /** Ops/s and bytes/s per slot: the live counters against the oldest snapshot of the window. */
  rates(now: number = performance.now()): { windowMs: number; ops: Float64Array; bytes: Float64Array } {
    const o = this.#oldest();
    const windowMs = Math.max(1, now - this.#ringAt[o]);
    const ops = new Float64Array(MAX_SLOT_NUM);
    const bytes = new Float64Array(MAX_SLOT_NUM);
    const req0 = this.#ringReq[o];
    const bytes0 = this.#ringBytes[o];
    for (let s = 0; s < MAX_SLOT_NUM; s++) {
      ops[s] = Math.max(0, this.requests[s] - req0[s]) * 1000 / windowMs;
      bytes[s] = Math.max(0, this.bytesIn[s] + this.bytesOut[s] - bytes0[s]) * 1000 / windowMs;
    }
    return { windowMs, ops, bytes };
  }

  /** Clears the counters (`PUT /api/proxy/stats/reset`); the ring restarts too, so rates never go negative. */
  reset(now: number = performance.now()): void {
    for (const a of [this.requests, this.errors, this.bytesIn, this.bytesOut, this.usecs]) a.fill(0);
    this.#ringFilled = 0;
    this.#ringNext = 0;
    this.sample(now);
  }

  /** The busy slots' figures (structured-clone safe: a worker thread sends it to the primary). */
  toJSON(now: number = performance.now()): SlotStatsJSON {
    const r = this.rates(now);
    const slots: SlotStatsEntry[] = [];
    for (let s = 0; s < MAX_SLOT_NUM; s++) {
      if (this.requests[s] === 0 && this.bytesOut[s] === 0) continue;
      slots.push({
        id: s,
        requests: this.requests[s],
        errors: this.errors[s],
        bytes_in: this.bytesIn[s],
        bytes_out: this.bytesOut[s],
        usecs: Math.round(this.usecs[s]),
        ops_per_sec: Math.round(r.ops[s] * 100) / 100,
        bytes_per_sec: Math.round(r.bytes[s] * 100) / 100,
      });
    }
    return { window_ms: Math.round(r.windowMs), slots };
  }
}
