/**
 * Byte-array helpers shared by the RESP encoder and parsers and the Raft transport.
 * @module
 */

/** Concatenates byte arrays into one (the array itself when there is only one). */
export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Concatenates `parts` (total length `len`) into one new array. */
export function join(parts: Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Parses an optionally negative decimal integer from `data[from, to)`; null when it is not one. */
export function parseIntStrict(data: Uint8Array, from: number, to: number): number | null {
  if (from >= to || to - from > 18) return null;
  let neg = false;
  let i = from;
  if (data[i] === 45) {
    neg = true;
    i++;
    if (i === to) return null;
  }
  let v = 0;
  for (; i < to; i++) {
    const d = data[i] - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}
