/**
 * Key → slot hashing, Codis's rule: `crc32(hashKey) % 1024`, where the hash key is the part between the first `{`
 * and the first `}` after it, when such a `}` exists. `{}` hashes the empty string (slot 0), unlike Redis Cluster.
 * @module
 */
import { MAX_SLOT_NUM } from "./slots.ts";

/**
 * Four CRC tables for slicing-by-4: CRC_TABLES[k][b] is the CRC of byte b followed by k zero bytes, so four input
 * bytes fold into the CRC with four lookups and no per-byte dependency chain (about twice as fast on 16-byte keys).
 */
const CRC_TABLES = (() => {
  const t = new Int32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = t[prev & 0xff] ^ (prev >>> 8);
    }
  }
  return t;
})();

/** CRC-32 (IEEE) of `bytes[start, end)`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = CRC_TABLES;
  let c = -1;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/** The slot of a key given as raw bytes; no string is made. */
export function slotOf(key: Uint8Array): number {
  const n = key.length;
  let open = -1;
  for (let i = 0; i < n; i++) {
    if (key[i] === OPEN) {
      open = i;
      break;
    }
  }
  if (open >= 0) {
    for (let j = open + 1; j < n; j++) {
      if (key[j] === CLOSE) return crc32(key, open + 1, j) % MAX_SLOT_NUM;
    }
  }
  return crc32(key, 0, n) % MAX_SLOT_NUM;
}
