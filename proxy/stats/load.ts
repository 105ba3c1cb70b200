/**
 * The proxy's load statistics: per-slot counters, hot keys and big keys, fed from the two points of the request path
 * where the figures are known: {@link LoadStats.sent} where a request leaves for its slot (slot, size, key), and
 * {@link LoadStats.answered} where the session writes its reply (reply size, latency). Both allocate nothing unless a
 * request is sampled for the hot keys or is over the big-key threshold.
 * @module
 */
import type { PendingReply } from "../../redis/conn.ts";
import type { KeyRef } from "../forward/forward.ts";
import { Request } from "../forward/request.ts";
import { type LoadViewsJSON, mergeBigKeys, mergeHotKeys, mergeSlotStats } from "../../models/load_stats.ts";
import { BigKeys } from "./bigkeys.ts";
import { HotKeys } from "./hotkeys.ts";
import { SlotStats } from "./slot_stats.ts";

/** The settings of {@link LoadStats} (proxy.toml keys `hotkeys_*`, `bigkeys_threshold`, `load_stats_window`). */
export interface LoadStatsOptions {
  /** Sample one keyed request in this many for the hot keys; 0: no hot keys. */
  hotkeys_sample_every: number;
  /** Hot keys (and big keys) reported. */
  hotkeys_top_k: number;
  /** Window of the rates and hot keys, ms. */
  load_stats_window: number;
  /** A request or reply of at least this many bytes makes its key a big key; 0: no big keys. */
  bigkeys_threshold: number;
}

/** The three load views of one proxy thread (structured-clone safe: worker threads send it to the primary). */
export type LoadViews = LoadViewsJSON;

/** Load statistics of one proxy thread. */
export class LoadStats {
  readonly slots: SlotStats;
  readonly hot: HotKeys;
  readonly big: BigKeys;
  readonly #bigThreshold: number;

  constructor(opts: LoadStatsOptions, now: number = performance.now()) {
    const windowMs = Math.max(1000, opts.load_stats_window);
    this.slots = new SlotStats(windowMs / 1000, now);
    this.hot = new HotKeys(
      { sampleEvery: opts.hotkeys_sample_every, topK: opts.hotkeys_top_k, windowMs },
      now,
    );
    this.big = new BigKeys(opts.bigkeys_threshold, opts.hotkeys_top_k);
    this.#bigThreshold = opts.bigkeys_threshold > 0 ? opts.bigkeys_threshold : Infinity;
  }

  /** A request of `raw` leaves for `slot`; `reply` is its {@link Request} when it was sent whole. */
  sent(slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef | null): void {
    this.slots.countRequest(slot, raw.length);
    if (keys === null || keys.n === 0) return;
    const key = keys.argv[keys.pos[0]];
    if (reply instanceof Request) {
      reply.slot = slot;
      reply.key = key;
    }
    if (this.hot.tick()) this.hot.add(key, slot);
    if (raw.length >= this.#bigThreshold) this.big.add(key, slot, raw.length, "request");
  }

  /** The session writes the reply of `req`, which took `usecs`. */
  answered(req: Request, reply: Uint8Array, usecs: number): void {
    const slot = req.slot;
    this.slots.countReply(slot, reply.length, usecs, reply[0] === 45); // '-'
    if (reply.length >= this.#bigThreshold && req.key !== null) this.big.add(req.key, slot, reply.length, "reply");
  }

  /** Once a second (with the proxy's QPS sample): the snapshot the per-slot rates are computed from. */
  sample(now: number = performance.now()): void {
    this.slots.sample(now);
    this.hot.rotate(now);
  }

  /** `PUT /api/proxy/stats/reset`. */
  reset(now: number = performance.now()): void {
    this.slots.reset(now);
    this.hot.clear(now);
    this.big.clear();
  }

  views(now: number = performance.now()): LoadViews {
    return { slots: this.slots.toJSON(now), hotkeys: this.hot.top(now), bigkeys: this.big.toJSON() };
  }
}

/** Several threads' views as one (worker mode): slot figures and hot-key rates add up, big keys keep their largest. */
export function mergeLoadViews(views: LoadViews[], topK: number): LoadViews {
  return {
    slots: mergeSlotStats(views.map((v) => v.slots)),
    hotkeys: mergeHotKeys(views.map((v) => v.hotkeys), topK),
    bigkeys: mergeBigKeys(views.map((v) => v.bigkeys), topK),
  };
}
