/**
 * Big keys: keys whose request (a big write) or reply (a big read) reached `bigkeys_threshold` bytes, the largest
 * `max` of them. Only a request or reply over the threshold has its key decoded.
 * @module
 */
import type { BigKeyEntry, BigKeysJSON } from "../../models/load_stats.ts";
import { keyText } from "./hotkeys.ts";

export type { BigKeyEntry, BigKeysJSON };

/** The largest keys seen, at most `max` of them: a new one replaces the smallest when full. */
export class BigKeys {
  #keys = new Map<string, BigKeyEntry>();

  constructor(readonly threshold: number, readonly max: number) {}

  /** Records a big request or reply (the caller checked the threshold; this decodes the key). */
  add(key: Uint8Array, slot: number, bytes: number, kind: "request" | "reply"): void {
    const text = keyText(key);
    const now = Date.now();
    const e = this.#keys.get(text);
    if (e !== undefined) {
      e.last_seen = now;
      if (bytes > e.bytes) {
        e.bytes = bytes;
        e.kind = kind;
      }
      return;
    }
    if (this.#keys.size >= this.max) {
      let min: BigKeyEntry | null = null;
      for (const x of this.#keys.values()) if (min === null || x.bytes < min.bytes) min = x;
      if (min!.bytes >= bytes) return;
      this.#keys.delete(min!.key);
    }
    this.#keys.set(text, { key: text, slot, bytes, kind, last_seen: now });
  }

  /** Largest first. */
  toJSON(): BigKeysJSON {
    const keys = [...this.#keys.values()].map((e) => ({ ...e })).sort((a, b) => b.bytes - a.bytes);
    return { threshold: this.threshold, keys };
  }

  clear(): void {
    this.#keys.clear();
  }
}
