/**
 * The load views' JSON (per-slot statistics, hot keys, big keys) as proxies serve them and the dashboard merges
 * them, and the merges themselves: a proxy in worker mode merges its threads' views the same way the dashboard merges
 * its proxies'.
 * @module
 */

/** One slot's figures (slots with no traffic are left out of the lists). */
export interface SlotStatsEntry {
  /** Slot id. */
  id: number;
  /** Requests sent to the slot since start (or the last reset); the parts of a split MGET/MSET/DEL count one each. */
  requests: number;
  /** Error replies (the backend's or the proxy's) to requests sent whole to the slot. */
  errors: number;
  /** Request bytes sent to the slot. */
  bytes_in: number;
  /** Reply bytes of requests sent whole to the slot. */
  bytes_out: number;
  /** Total latency, microseconds, of the requests sent whole to the slot. */
  usecs: number;
  /** Requests per second over the window. */
  ops_per_sec: number;
  /** Bytes in + out per second over the window. */
  bytes_per_sec: number;
}

/** Per-slot statistics: `GET /api/proxy/slots/stats/:xauth`, `GET /topom/slots/stats`. */
export interface SlotStatsJSON {
  /** How long the rates cover, ms (the window, or less since start). */
  window_ms: number;
  /** The slots with traffic, by id. */
  slots: SlotStatsEntry[];
}

/** One hot key. */
export interface HotKeyEntry {
  /** The key, decoded as UTF-8. */
  key: string;
  /** The key's slot. */
  slot: number;
  /** Estimated requests per second (samples × the sampling interval ÷ the time covered). */
  ops_per_sec: number;
  /** Upper bound of the overestimate in `ops_per_sec` (Space-Saving's error), same unit. */
  error: number;
}

/** Hot keys: `GET /api/proxy/hotkeys/:xauth`, `GET /api/topom/hotkeys/:xauth`. */
export interface HotKeysJSON {
  /** How long the rates cover, ms. */
  window_ms: number;
  /** One request in this many is sampled (0: hot keys are off). */
  sample_every: number;
  /** The hottest first. */
  keys: HotKeyEntry[];
}

/** One big key: a request or reply of at least `bigkeys_threshold` bytes. */
export interface BigKeyEntry {
  /** The key, decoded as UTF-8. */
  key: string;
  /** The key's slot. */
  slot: number;
  /** The largest request or reply seen for the key, bytes. */
  bytes: number;
  /** Whether that largest one was a "request" (a big write) or a "reply" (a big read). */
  kind: "request" | "reply";
  /** Unix ms when it was last seen over the threshold. */
  last_seen: number;
}

/** Big keys: `GET /api/proxy/bigkeys/:xauth`, `GET /api/topom/bigkeys/:xauth`. */
export interface BigKeysJSON {
  /** bytes; 0: big keys are off. */
  threshold: number;
  /** The largest first. */
  keys: BigKeyEntry[];
}

/** The three views together (`GET /api/proxy/load/:xauth`; a worker thread's report). */
export interface LoadViewsJSON {
  /** Per-slot statistics. */
  slots: SlotStatsJSON;
  /** Hot keys. */
  hotkeys: HotKeysJSON;
  /** Big keys. */
  bigkeys: BigKeysJSON;
}

/** A group's share of the per-slot figures. */
export interface GroupLoad {
  /** Slots the group owns. */
  slots: number;
  /** Requests to its slots. */
  requests: number;
  /** Error replies from its slots. */
  errors: number;
  /** Requests per second over the window. */
  ops_per_sec: number;
  /** Bytes in + out per second over the window. */
  bytes_per_sec: number;
}

/** `GET /topom/slots/stats`: the proxies' per-slot figures summed, each slot with its group, and per group. */
export interface ClusterSlotStats extends SlotStatsJSON {
  /** The slots with traffic, each with its group. */
  slots: (SlotStatsEntry & { group_id: number })[];
  /** Per group id. */
  groups: Record<string, GroupLoad>;
  /** Proxies that could not be read, by token: their traffic is missing from the figures. */
  errors?: Record<string, string>;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Sums per-slot statistics slot by slot. */
export function mergeSlotStats(views: SlotStatsJSON[]): SlotStatsJSON {
  const by = new Map<number, SlotStatsEntry>();
  let windowMs = 0;
  for (const v of views) {
    windowMs = Math.max(windowMs, v.window_ms);
    for (const e of v.slots) {
      const m = by.get(e.id);
      if (m === undefined) {
        by.set(e.id, { ...e });
        continue;
      }
      m.requests += e.requests;
      m.errors += e.errors;
      m.bytes_in += e.bytes_in;
      m.bytes_out += e.bytes_out;
      m.usecs += e.usecs;
      m.ops_per_sec = round2(m.ops_per_sec + e.ops_per_sec);
      m.bytes_per_sec = round2(m.bytes_per_sec + e.bytes_per_sec);
    }
  }
  return { window_ms: windowMs, slots: [...by.values()].sort((a, b) => a.id - b.id) };
}

/** Sums each key's rate over the views (a key is hot through every proxy together), then keeps the top `k`. */
export function mergeHotKeys(views: HotKeysJSON[], k: number): HotKeysJSON {
  const by = new Map<string, HotKeyEntry>();
  let windowMs = 0;
  let sampleEvery = 0;
  for (const v of views) {
    windowMs = Math.max(windowMs, v.window_ms);
    sampleEvery = Math.max(sampleEvery, v.sample_every);
    for (const e of v.keys) {
      const m = by.get(e.key);
      if (m === undefined) by.set(e.key, { ...e });
      else {
        m.ops_per_sec = round2(m.ops_per_sec + e.ops_per_sec);
        m.error = round2(m.error + e.error);
      }
    }
  }
  const keys = [...by.values()].sort((a, b) => b.ops_per_sec - a.ops_per_sec || (a.key < b.key ? -1 : 1));
  return { window_ms: windowMs, sample_every: sampleEvery, keys: keys.slice(0, k) };
}

/** Keeps each key's largest size over the views, then the `max` largest keys. */
export function mergeBigKeys(views: BigKeysJSON[], max: number): BigKeysJSON {
  const by = new Map<string, BigKeyEntry>();
  let threshold = 0;
  for (const v of views) {
    if (v.threshold > 0 && (threshold === 0 || v.threshold < threshold)) threshold = v.threshold;
    for (const e of v.keys) {
      const m = by.get(e.key);
      if (m === undefined) by.set(e.key, { ...e });
      else {
        if (e.bytes > m.bytes) {
          m.bytes = e.bytes;
          m.kind = e.kind;
        }
        m.last_seen = Math.max(m.last_seen, e.last_seen);
      }
    }
  }
  const keys = [...by.values()].sort((a, b) => b.bytes - a.bytes || (a.key < b.key ? -1 : 1));
  return { threshold, keys: keys.slice(0, max) };
}
