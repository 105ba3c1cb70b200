/**
 * Zero-copy glue between SCAN and MIGRATE. A SCAN reply's key list is a run of RESP bulk strings, which is exactly
 * how the keys must appear in `MIGRATE ... KEYS k1 k2 ...`. So the executor slices that run out of the reply and
 * puts a MIGRATE header in front of it, instead of decoding every key into its own array and encoding it again:
 * the source Redis is the bottleneck of a slot move, and the dashboard should not compete with it for a core.
 * @module
 */
import { parseIntStrict } from "../../util/bytes.ts";
import { encodeCommand } from "../../redis/encode.ts";

/** The parts of one SCAN reply the executor needs. */
export interface ScanPage {
  /** The cursor to continue from ("0" when the scan is complete). */
  cursor: string;
  /** The raw reply; `bounds` index into it. */
  raw: Uint8Array;
  /** Byte offsets of each key's bulk string in `raw`, plus the end of the last one: `keys + 1` entries. */
  bounds: number[];
}

const decoder = new TextDecoder();

function lineEnd(raw: Uint8Array, pos: number): number {
  const cr = raw.indexOf(13, pos);
  if (cr < 0 || raw[cr + 1] !== 10) throw new Error("SCAN reply: truncated line");
  return cr;
}

/** Reads `$len\r\n` at `pos` and returns the offset just past the bulk string's CRLF. */
function skipBulk(raw: Uint8Array, pos: number): number {
  if (raw[pos] !== 36) throw new Error(`SCAN reply: expected a bulk string at byte ${pos}`);
  const cr = lineEnd(raw, pos);
  const len = parseIntStrict(raw, pos + 1, cr);
  if (len === null || len < 0) throw new Error(`SCAN reply: bad bulk length at byte ${pos}`);
  const end = cr + 2 + len + 2;
  if (end > raw.length) throw new Error("SCAN reply: truncated bulk string");
  return end;
}

/** Splits a whole SCAN reply (`*2 $cursor *n $key...`) into its cursor and key bounds; throws on any other shape. */
export function parseScanPage(raw: Uint8Array): ScanPage {
  if (raw[0] !== 42 || raw[1] !== 50 || raw[2] !== 13) throw new Error("SCAN reply: not a two-element array");
  const cursorStart = 4;
  const cursorEnd = skipBulk(raw, cursorStart);
  const cursorCr = raw.indexOf(13, cursorStart);
  const cursor = decoder.decode(raw.subarray(cursorCr + 2, cursorEnd - 2));
  if (raw[cursorEnd] !== 42) throw new Error("SCAN reply: the key list is not an array");
  const cr = lineEnd(raw, cursorEnd);
  const n = parseIntStrict(raw, cursorEnd + 1, cr);
  if (n === null || n < 0) throw new Error("SCAN reply: bad key count");
  const bounds: number[] = new Array(n + 1);
  let pos = cr + 2;
  for (let i = 0; i < n; i++) {
    bounds[i] = pos;
    pos = skipBulk(raw, pos);
  }
  bounds[n] = pos;
  return { cursor, raw, bounds };
}

/** The keys of `page` from index `from` to `to` (exclusive), as views into the reply (for the slow paths). */
export function pageKeys(page: ScanPage, from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const raw = page.raw;
  for (let i = from; i < to; i++) {
    const start = page.bounds[i];
    const cr = raw.indexOf(13, start);
    out.push(raw.subarray(cr + 2, page.bounds[i + 1] - 2));
  }
  return out;
}

/**
 * Builds MIGRATE commands whose key lists are byte ranges of SCAN replies. `head` is every argument before the
 * keys (`MIGRATE host port "" db timeout [AUTH pw] KEYS`), encoded once.
 */
export class MigrateEncoder {
  #head: Uint8Array;
  #headArgs: number;

  constructor(headArgs: string[]) {
    // encodeCommand writes `*N\r\n` then the arguments; keep only the arguments.
    const whole = encodeCommand(headArgs);
    this.#head = whole.subarray(whole.indexOf(10) + 1);
    this.#headArgs = headArgs.length;
  }

  /** `MIGRATE ... KEYS` followed by keys `from`..`to` (exclusive) of `page`, in one allocation. */
  encode(page: ScanPage, from: number, to: number): Uint8Array {
    const count = `*${this.#headArgs + (to - from)}\r\n`;
    const start = page.bounds[from];
    const end = page.bounds[to];
    const out = new Uint8Array(count.length + this.#head.length + (end - start));
    for (let i = 0; i < count.length; i++) out[i] = count.charCodeAt(i);
    out.set(this.#head, count.length);
    out.set(page.raw.subarray(start, end), count.length + this.#head.length);
    return out;
  }
}
