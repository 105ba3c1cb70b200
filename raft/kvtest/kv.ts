/**
 * A tiny key-value state machine used by the Raft real-process tests and the benchmark.
 * Commands are UTF-8 JSON `{"op":"put","k":..,"v":..}` or `{"op":"del","k":..}`.
 * @module
 */

import type { Entry, StateMachine } from "../types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a put command. */
export function putCmd(k: string, v: string): Uint8Array {
  return enc.encode(JSON.stringify({ op: "put", k, v }));
}

/** The key-value state machine. */
export class KvStateMachine implements StateMachine {
  readonly data = new Map<string, string>();
  /** Index of the last applied command (restored from snapshots). */
  lastIndex = 0;

  /** Applies one command; returns the index it was applied at. */
  apply(e: Entry): unknown {
    const c = JSON.parse(dec.decode(e.data));
    if (c.op === "put") this.data.set(String(c.k), String(c.v));
    else if (c.op === "del") this.data.delete(String(c.k));
    this.lastIndex = e.index;
    return { index: e.index };
  }

  /** Serialises the whole map. */
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ lastIndex: this.lastIndex, data: [...this.data] }));
  }

  /** Replaces the map with a snapshot's contents. */
  restore(b: Uint8Array): void {
    this.data.clear();
    if (b.length === 0) return;
    const s = JSON.parse(dec.decode(b));
    this.lastIndex = s.lastIndex;
    for (const [k, v] of s.data) this.data.set(k, v);
  }
}
