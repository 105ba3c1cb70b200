/**
 * WAL record framing: `len u32 | type u8 | crc u32 | hcrc u32 | payload`, little-endian.
 * `crc` covers type and payload; `hcrc` covers the first 9 header bytes so that a damaged length is detected
 * instead of being mistaken for a torn tail.
 *
 * @module
 */

import zlib from "node:zlib";

/** Header size in bytes. */
export const HEADER = 13;
/** Largest payload accepted (a bound against garbage lengths). */
export const MAX_RECORD = 256 * 1024 * 1024;

/** Record types. */
export const RecType = { entry: 1, hardState: 2, snapshot: 3, compact: 4 } as const;

const crc32: (d: Uint8Array, init?: number) => number = (zlib as unknown as {
  crc32: (d: Uint8Array, init?: number) => number;
}).crc32;

/** CRC-32 (IEEE) of `data`, optionally continuing from `init`. */
export function crc(data: Uint8Array, init = 0): number {
  return crc32(data, init) >>> 0;
}

/** Frames one record. */
export function frame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payload.length, true);
  out[4] = type;
  out.set(payload, HEADER);
  dv.setUint32(5, crc(payload, crc(out.subarray(4, 5))), true);
  dv.setUint32(9, crc(out.subarray(0, 9)), true);
  return out;
}

/** One decoded record and where it starts. */
export interface RawRecord {
  type: number;
  payload: Uint8Array;
  offset: number;
}

/** Checks for a valid record at `off`; returns its total length or 0. */
export function validAt(buf: Uint8Array, off: number): number {
  if (buf.length - off < HEADER) return 0;
  const dv = new DataView(buf.buffer, buf.byteOffset + off, HEADER);
  if (dv.getUint32(9, true) !== crc(buf.subarray(off, off + 9))) return 0;
  const len = dv.getUint32(0, true);
  if (len > MAX_RECORD || off + HEADER + len > buf.length) return 0;
  const want = dv.getUint32(5, true);
  const got = crc(buf.subarray(off + HEADER, off + HEADER + len), crc(buf.subarray(off + 4, off + 5)));
  return want === got ? HEADER + len : 0;
}

/** Result of scanning one segment. */
export interface ScanResult {
  records: RawRecord[];
  /** Offset of the first bad byte, or `buf.length` when the whole segment is valid. */
  badOffset: number;
  /** True when a valid record exists after `badOffset` (so the damage is not a torn tail). */
  validAfter: boolean;
}

/** Scans a segment buffer into records, stopping at the first invalid one. */
export function scan(buf: Uint8Array): ScanResult {
  const records: RawRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    const n = validAt(buf, off);
    if (n === 0) break;
    records.push({ type: buf[off + 4], payload: buf.subarray(off + HEADER, off + n), offset: off });
    off += n;
  }
  if (off >= buf.length) return { records, badOffset: buf.length, validAfter: false };
  // A torn write only damages the tail: if any valid record follows, this is corruption in the middle.
  let validAfter = false;
  for (let p = off + 1; p + HEADER <= buf.length; p++) {
    if (validAt(buf, p) > 0) {
      validAfter = true;
      break;
    }
  }
  return { records, badOffset: off, validAfter };
}

/** Encodes an entry payload: term f64 | index f64 | type u8 | data. */
export function encodeEntry(e: { term: number; index: number; type: "normal" | "conf"; data: Uint8Array }): Uint8Array {
  const out = new Uint8Array(17 + e.data.length);
  const dv = new DataView(out.buffer);
  dv.setFloat64(0, e.term, true);
  dv.setFloat64(8, e.index, true);
  out[16] = e.type === "conf" ? 1 : 0;
  out.set(e.data, 17);
  return out;
}

/** Decodes an entry payload (the data is copied so the segment buffer can be released). */
export function decodeEntry(p: Uint8Array): { term: number; index: number; type: "normal" | "conf"; data: Uint8Array } {
  if (p.length < 17) throw new Error("entry record too short");
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return {
    term: dv.getFloat64(0, true),
    index: dv.getFloat64(8, true),
    type: p[16] === 1 ? "conf" : "normal",
    data: p.slice(17),
  };
}

/** Encodes a list of numbers as f64s (hard state, snapshot marker, compact marker). */
export function encodeNums(nums: number[]): Uint8Array {
  const out = new Uint8Array(8 * nums.length);
  const dv = new DataView(out.buffer);
  nums.forEach((n, i) => dv.setFloat64(8 * i, n, true));
  return out;
}

/** Decodes `count` f64s; throws when the payload has another size. */
export function decodeNums(p: Uint8Array, count: number): number[] {
  if (p.length !== 8 * count) throw new Error("numeric record has the wrong size");
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return Array.from({ length: count }, (_, i) => dv.getFloat64(8 * i, true));
}
