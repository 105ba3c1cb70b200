/**
 * Key → slot hashing, Codis's rule: `crc32(hashKey) % 1024`, where the hash key is the part between the first `{`
 * and the first `}` after it, when such a `}` exists. `{}` hashes the empty string (slot 0), unlike Redis Cluster.
 * @module
 */
import { MAX_SLOT_NUM } from "../models/slots.ts";

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (IEEE) of `bytes[start, end)`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
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
