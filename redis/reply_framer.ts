/**
 * Frames the reply stream of a backend connection into whole replies without decoding them: each reply is handed
 * out as a view of the bytes it arrived in (or a shared `+OK`), so it can be written to the client as is. Replies
 * must be treated as read-only.
 * @module
 */
import { OK as OK_REPLY } from "./encode.ts";
import { join, parseIntStrict } from "../util/bytes.ts";

const CR = 13;
const PLUS = 43;

/** Thrown when a backend sends bytes that are not RESP; the connection must be dropped. */
export class ReplyProtocolError extends Error {}

const INCOMPLETE = -1;

/**
 * Returns the end of the reply that starts at `pos`, or -1 when `data` does not hold all of it yet.
 * `needOut[0]` is set to the least total length `data` must reach before it can be complete.
 */
export function scanReply(data: Uint8Array, pos: number, needOut?: Int32Array): number {
  let remaining = 1;
  const len = data.length;
  while (remaining > 0) {
    if (pos >= len) return incomplete(needOut, pos + 1);
    const type = data[pos];
    const lineEnd = findCR(data, pos + 1);
    if (lineEnd < 0) return incomplete(needOut, len + 1);
    switch (type) {
      case 43: // + simple string
      case 45: // - error
      case 58: // : integer
      case 95: // _ null (RESP3)
      case 35: // # boolean
      case 44: // , double
      case 40: // ( big number
        pos = lineEnd + 2;
        break;
      case 36: // $ bulk
      case 61: // = verbatim
      case 33: { // ! blob error
        const n = parseIntStrict(data, pos + 1, lineEnd);
        if (n === null) throw new ReplyProtocolError("invalid bulk length in backend reply");
        if (n < 0) {
          pos = lineEnd + 2;
        } else {
          const end = lineEnd + 2 + n + 2;
          if (end > len) return incomplete(needOut, end);
          pos = end;
        }
        break;
      }
      case 42: // * array
      case 126: // ~ set
      case 62: // > push
      case 37: // % map
      case 124: { // | attribute: its map precedes the reply it annotates
        const n = parseIntStrict(data, pos + 1, lineEnd);
        if (n === null) throw new ReplyProtocolError("invalid multibulk length in backend reply");
        pos = lineEnd + 2;
        if (n > 0) remaining += type === 37 || type === 124 ? 2 * n : n;
        if (type === 124) remaining++;
        break;
      }
      default:
        throw new ReplyProtocolError(`unexpected byte 0x${type.toString(16)} in backend reply`);
    }
    if (pos > len) return incomplete(needOut, pos);
    remaining--;
  }
  return pos;
}

function incomplete(needOut: Int32Array | undefined, need: number): number {
  if (needOut) needOut[0] = need;
  return INCOMPLETE;
}

function findCR(data: Uint8Array, from: number): number {
  const i = data.indexOf(CR, from);
  return i >= 0 && i + 1 < data.length ? i : -1;
}

/** Incremental framer: feed it each chunk read from a backend; it calls `onReply` once per whole reply. */
export class ReplyFramer {
  #parts: Uint8Array[] = [];
  #partsLen = 0;
  #need = new Int32Array(1);
  #onReply: (raw: Uint8Array) => void;

  constructor(onReply: (raw: Uint8Array) => void) {
    this.#onReply = onReply;
  }

  /** Frames every whole reply now available. Throws {@link ReplyProtocolError}. */
  feed(chunk: Uint8Array): void {
    let data: Uint8Array;
    if (this.#partsLen > 0) {
      this.#parts.push(chunk);
      this.#partsLen += chunk.length;
      if (this.#partsLen < this.#need[0]) return;
      data = join(this.#parts, this.#partsLen);
      this.#parts = [];
      this.#partsLen = 0;
    } else {
      data = chunk;
    }
    let pos = 0;
    const len = data.length;
    const need = this.#need;
    while (pos < len) {
      const end = scanReply(data, pos, need);
      if (end < 0) {
        const rest = data.subarray(pos);
        this.#parts.push(rest);
        this.#partsLen = rest.length;
        need[0] -= pos;
        return;
      }
      // `+OK` (every SELECT, every SET) is handed out as one shared array instead of a new view each time.
      if (end - pos === 5 && data[pos] === PLUS && data[pos + 1] === 79 && data[pos + 2] === 75) {
        this.#onReply(OK_REPLY);
      } else this.#onReply(new Uint8Array(data.buffer, data.byteOffset + pos, end - pos));
      pos = end;
    }
  }

  /** Drops held-back bytes, after the connection they came from is gone. */
  reset(): void {
    this.#parts = [];
    this.#partsLen = 0;
  }
}
