/**
 * Hot keys: the most requested keys of one proxy over a sliding window, estimated with Space-Saving (Metwally et al.)
 * on sampled requests. Only a sampled request's key is decoded; the others cost one countdown. The window is two
 * halves, each with its own Space-Saving table: the older half is dropped when a new one starts, so the estimate
 * covers between half the window and the whole of it.
 * @module
 */
import type { HotKeyEntry, HotKeysJSON } from "../../models/load_stats.ts";

export type { HotKeyEntry, HotKeysJSON };

/** One Space-Saving counter; `key` is the key's bytes as a binary string (see {@link binaryKey}). */
interface Counter {
  key: string;
  slot: number;
  count: number;
  error: number;
  /** Its place in the heap. */
  at: number;
}

/**
 * A Space-Saving summary holding at most `capacity` counters: a key not held replaces the smallest counter and
 * inherits its count as its error. Counts are therefore overestimates by at most the error, and every key whose true
 * count exceeds total/capacity is held. The counters form a min-heap on count, so both a hit and a replacement cost
 * O(log capacity), and a replacement reuses the evicted counter.
 */
export class SpaceSaving {
  #byKey = new Map<string, Counter>();
  #heap: Counter[] = [];
  total = 0;

  constructor(readonly capacity: number) {}

  /** Counts one occurrence of `key`. */
  add(key: string, slot: number): void {
    this.total++;
    const c = this.#byKey.get(key);
    if (c !== undefined) {
      c.count++;
      this.#down(c.at);
      return;
    }
    const heap = this.#heap;
    if (heap.length < this.capacity) {
      const n: Counter = { key, slot, count: 1, error: 0, at: heap.length };
      heap.push(n);
      this.#byKey.set(key, n);
      this.#up(n.at);
      return;
    }
    const min = heap[0];
    this.#byKey.delete(min.key);
    min.key = key;
    min.slot = slot;
    min.error = min.count;
    min.count++;
    this.#byKey.set(key, min);
    this.#down(0);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const c = heap[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p].count <= c.count) break;
      heap[i] = heap[p];
      heap[i].at = i;
      i = p;
    }
    heap[i] = c;
    c.at = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const c = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && heap[r].count < heap[l].count ? r : l;
      if (heap[m].count >= c.count) break;
      heap[i] = heap[m];
      heap[i].at = i;
      i = m;
    }
    heap[i] = c;
    c.at = i;
  }

  counters(): Iterable<Counter> {
    return this.#heap;
  }

  clear(): void {
    this.#byKey.clear();
    this.#heap.length = 0;
    this.total = 0;
  }
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Decodes a key for display: UTF-8, with bytes that are not valid UTF-8 replaced. */
export function keyText(key: Uint8Array): string {
  return decoder.decode(key);
}

/** Keys longer than this are counted by their first this many bytes (a long key is rarely told apart by its tail). */
const MAX_KEY_BYTES = 256;

/**
 * A key's bytes as a string of one char per byte: binary-safe, and built in JavaScript, much cheaper per sample than
 * a UTF-8 decode (a call into the runtime). Decoded for display only when reported ({@link displayKey}).
 */
export function binaryKey(key: Uint8Array): string {
  const n = key.length > MAX_KEY_BYTES ? MAX_KEY_BYTES : key.length;
  // Through a reused plain array: apply() over a typed array (or a subarray view of it) is slower.
  const chars = scratch;
  chars.length = n;
  for (let i = 0; i < n; i++) chars[i] = key[i];
  return String.fromCharCode.apply(null, chars);
}

const scratch: number[] = [];

/** The UTF-8 text of a {@link binaryKey} string. */
export function displayKey(binary: string): string {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return decoder.decode(bytes);
}

/** A windowed top-K of sampled keys. */
export class HotKeys {
  /** Sample one request in this many; 0 disables. */
  readonly sampleEvery: number;
  readonly topK: number;
  readonly windowMs: number;
  #countdown: number;
  #halves: [SpaceSaving, SpaceSaving];
  /** When the current half started, and the previous one. */
  #curStart: number;
  #prevStart: number;

  constructor(opts: { sampleEvery: number; topK: number; windowMs: number }, now: number = performance.now()) {
    this.sampleEvery = opts.sampleEvery;
    this.topK = opts.topK;
    this.windowMs = opts.windowMs;
    // More counters than reported: Space-Saving's estimates near the bottom of its table are the least accurate.
    const capacity = Math.max(16, opts.topK * 4);
    this.#halves = [new SpaceSaving(capacity), new SpaceSaving(capacity)];
    this.#curStart = this.#prevStart = now;
    this.#countdown = this.#nextCountdown();
  }

  /** The first interval is random so that proxies started together do not sample the same requests of a pattern. */
  #nextCountdown(): number {
    return this.sampleEvery <= 1 ? this.sampleEvery : 1 + Math.floor(Math.random() * this.sampleEvery);
  }

  /** Called for every request with a key; true when this one is to be sampled (then call {@link add}). */
  tick(): boolean {
    if (this.sampleEvery === 0) return false;
    if (--this.#countdown > 0) return false;
    this.#countdown = this.sampleEvery;
    return true;
  }

  /** Counts a sampled request's key. */
  add(key: Uint8Array, slot: number): void {
    this.#halves[1].add(binaryKey(key), slot);
  }

  /**
   * Starts a new half once the current one is half a window old; halves older than a window are dropped. Called once
   * a second (with the per-slot sample) and before a report, not per sample: reading the clock costs more than a
   * sample.
   */
  rotate(now: number): void {
    const half = this.windowMs / 2;
    if (now - this.#curStart < half) return;
    if (now - this.#curStart >= this.windowMs) {
      // Idle for a whole window: both halves are out of it.
      this.#halves[0].clear();
      this.#halves[1].clear();
      this.#curStart = this.#prevStart = now;
      return;
    }
    const old = this.#halves[0];
    old.clear();
    this.#halves = [this.#halves[1], old];
    this.#prevStart = this.#curStart;
    this.#curStart = now;
  }

  /** The top keys by estimated ops/s, at most `topK`. */
  top(now: number = performance.now()): HotKeysJSON {
    this.rotate(now);
    const covered = Math.max(1, now - this.#prevStart);
    const merged = new Map<string, Counter>();
    for (const h of this.#halves) {
      for (const c of h.counters()) {
        const m = merged.get(c.key);
        if (m === undefined) merged.set(c.key, { ...c });
        else {
          m.count += c.count;
          m.error += c.error;
        }
      }
    }
    const scale = this.sampleEvery * 1000 / covered;
    const keys: HotKeyEntry[] = [...merged.values()]
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, this.topK)
      .map((c) => ({
        key: displayKey(c.key),
        slot: c.slot,
        ops_per_sec: Math.round(c.count * scale * 100) / 100,
        error: Math.round(c.error * scale * 100) / 100,
      }));
    return { window_ms: Math.round(covered), sample_every: this.sampleEvery, keys };
  }

  clear(now: number = performance.now()): void {
    this.#halves[0].clear();
    this.#halves[1].clear();
    this.#curStart = this.#prevStart = now;
  }
}
