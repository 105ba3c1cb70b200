/**
 * Small helpers shared by the core modules.
 * @module
 */

import type { ConfChange, Entry } from "../types.ts";

/** Approximate encoded size of an entry, for flow control. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a conf change as a conf entry's data (UTF-8 JSON). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return enc.encode(JSON.stringify(cc));
}

/** Decodes a conf entry's data; throws on malformed input. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = JSON.parse(dec.decode(data));
  if (typeof v !== "object" || v === null || typeof v.id !== "number" || typeof v.type !== "string") {
    throw new Error("malformed conf change");
  }
  return v as ConfChange;
}

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A string key for a byte array (for maps keyed by read contexts). */
export function bytesKey(a: Uint8Array): string {
  let s = "";
  for (let i = 0; i < a.length; i++) s += a[i].toString(16).padStart(2, "0");
  return s;
}
