/**
 * Frames the reply stream of a backend connection into whole replies without decoding them: each reply is handed
 * out as a view of the bytes it arrived in (or a shared `+OK`), so it can be written to the client as is. Replies
 * must be treated as read-only.
 * @module
 */
import { OK as OK_REPLY } from "./encode.ts";
import { parseIntStrict } from "../util/bytes.ts";
import { endLend, lendReply, type ReplyBuffer, retireReplyBuffer, takeReplyBuffer } from "./reply_buffers.ts";

const CR = 13;
const PLUS = 43;
const EMPTY = new Uint8Array(0);

/** Thrown when a backend sends bytes that are not RESP; the connection must be dropped. */
export class ReplyProtocolError extends Error {}

const INCOMPLETE = -1;

/** Where {@link scanElements} stopped in an incomplete reply, so that the scan can go on from there. */
export interface ScanPlace {
  /** Start of the element not complete yet. */
  pos: number;
  /** Elements still to scan, that one included. */
  remaining: number;
  /** The least total length the data must reach before that element can be complete. */
  need: number;
}

/**
 * Returns the end of the reply that starts at `pos`, or -1 when `data` does not hold all of it yet.
 * `needOut[0]` is set to the least total length `data` must reach before it can be complete.
 */
export function scanReply(data: Uint8Array, pos: number, needOut?: Int32Array): number {
  const place = { pos: 0, remaining: 0, need: 0 };
  const end = scanElements(data, pos, 1, place);
  if (end < 0 && needOut) needOut[0] = place.need;
  return end;
}

/**
 * Scans `remaining` elements from `pos` (a reply is one element; an array's header adds its elements). Returns the
 * end of the last one, or -1 with `place` set to where the scan stopped, from which it can resume when more bytes
 * have arrived: each byte is looked at once however many reads a reply takes.
 */
export function scanElements(data: Uint8Array, pos: number, remaining: number, place: ScanPlace): number {
  const len = data.length;
  while (remaining > 0) {
    if (pos >= len) return stopped(place, pos, remaining, pos + 1);
    const type = data[pos];
    const lineEnd = findCR(data, pos + 1);
    if (lineEnd < 0) return stopped(place, pos, remaining, len + 1);
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
          if (end > len) return stopped(place, pos, remaining, end);
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
    remaining--;
  }
  return pos;
}

function stopped(place: ScanPlace, pos: number, remaining: number, need: number): number {
  place.pos = pos;
  place.remaining = remaining;
  place.need = need;
  return INCOMPLETE;
}

function findCR(data: Uint8Array, from: number): number {
  const i = data.indexOf(CR, from);
  return i >= 0 && i + 1 < data.length ? i : -1;
}

/** Replies at least this long get a buffer sized to end with them rather than the next power of two. */
const BIG_REPLY = 64 * 1024;
/**
 * A reply with at least this much still to come is read straight into its buffer. A backend read usually carries the
 * replies of many sessions: a read limited to the rest of one reply pays off only for a big one.
 */
const DIRECT_READ_MIN = BIG_REPLY;

/**
 * Incremental framer: feed it each chunk read from a backend; it calls `onReply` once per whole reply. A reply inside
 * one read is handed out as a view of it. A reply that spans reads is gathered into one buffer as its bytes arrive,
 * and its scan goes on from where it stopped (a big array arriving in many reads is not scanned again from its start;
 * a big bulk is waited for without scanning).
 *
 * A pooled framer (a backend connection's) gathers spanning replies into buffers of the pool of `reply_buffers.ts`,
 * and lends every view it hands out, of those and of the chunks fed with their {@link ReplyBuffer}, for the call that
 * delivers it: a view nobody adopts pins its buffer (see that module).
 */
export class ReplyFramer {
  /** The reply that spans reads, from its first byte; #len bytes of it so far. */
  #buf: Uint8Array = EMPTY;
  #len = 0;
  /** The pooled buffer #buf is, when pooled; null otherwise (and while nothing spans reads). */
  #bufFrom: ReplyBuffer | null = null;
  /** The pooled buffer of the chunk being fed, if any. */
  #chunkFrom: ReplyBuffer | null = null;
  readonly #pooled: boolean;
  /** Where its scan stopped. */
  #place: ScanPlace = { pos: 0, remaining: 0, need: 0 };
  #onReply: (raw: Uint8Array) => void;

  /** @param pooled take spanning replies' buffers from the pool, and lend the views handed out (see the class doc). */
  constructor(onReply: (raw: Uint8Array) => void, pooled = false) {
    this.#onReply = onReply;
    this.#pooled = pooled;
  }

  /**
   * Frames every whole reply now available. `from`: the pooled buffer `chunk` is a view of, whose views are lent
   * (pooled framers only; a chunk read into {@link readTarget} needs none). Throws {@link ReplyProtocolError}.
   */
  feed(chunk: Uint8Array, from: ReplyBuffer | null = null): void {
    this.#chunkFrom = from;
    let pos = 0;
    if (this.#len > 0) {
      const before = this.#len;
      const place = this.#place;
      // The tail of a big bulk often arrives with the replies after it: only the bytes up to the end of the element
      // waited for are copied first, so that its buffer (sized to end with it) is not grown and copied again for
      // bytes that are framed in the chunk itself once the reply is whole.
      const took = before + chunk.length > this.#buf.length && place.need <= this.#buf.length
        ? place.need - before
        : chunk.length;
      this.#append(took === chunk.length ? chunk : chunk.subarray(0, took));
      if (this.#len < place.need) return;
      let end = scanElements(this.#buf.subarray(0, this.#len), place.pos, place.remaining, place);
      if (end < 0 && took < chunk.length) {
        // The reply goes on past that element: the rest of the chunk joins it.
        this.#append(chunk.subarray(took));
        if (this.#len < place.need) return;
        end = scanElements(this.#buf.subarray(0, this.#len), place.pos, place.remaining, place);
      }
      if (end < 0) return;
      const raw = this.#buf;
      const rawFrom = this.#bufFrom;
      this.#buf = EMPTY;
      this.#bufFrom = null;
      this.#len = 0;
      this.#emit(raw, 0, end, rawFrom);
      // The reply ended in this chunk: what follows it is framed in the chunk itself.
      pos = end - before;
      if (rawFrom !== null) {
        // (A chunk read in place ends with the element waited for; were it ever to go on, its views would be of the
        // gathering buffer, which then must never be reused.)
        if (pos < chunk.length && chunk.buffer === raw.buffer) rawFrom.pinned = true;
        retireReplyBuffer(rawFrom);
      }
    }
    const len = chunk.length;
    const place = this.#place;
    while (pos < len) {
      const end = scanElements(chunk, pos, 1, place);
      if (end < 0) {
        this.#start(chunk, pos);
        return;
      }
      this.#emit(chunk, pos, end, this.#chunkFrom);
      pos = end;
    }
  }

  #emit(data: Uint8Array, pos: number, end: number, from: ReplyBuffer | null): void {
    // `+OK` (every SELECT, every SET) is handed out as one shared array instead of a new view each time.
    if (end - pos === 5 && data[pos] === PLUS && data[pos + 1] === 79 && data[pos + 2] === 75) {
      return this.#onReply(OK_REPLY);
    }
    const view = new Uint8Array(data.buffer, data.byteOffset + pos, end - pos);
    if (from === null) return this.#onReply(view);
    lendReply(view, from);
    try {
      this.#onReply(view);
    } finally {
      endLend();
    }
  }

  /**
   * Moves the reply being gathered to a buffer of at least `size` bytes, with `bytes` (what it holds so far) copied
   * to its start; the buffer before it, if pooled, is retired (no view of it was handed out).
   */
  #moveTo(size: number, bytes: Uint8Array): void {
    const old = this.#bufFrom;
    if (this.#pooled) {
      this.#bufFrom = takeReplyBuffer(size);
      this.#buf = this.#bufFrom.bytes;
    } else this.#buf = new Uint8Array(size);
    this.#buf.set(bytes);
    if (old !== null) retireReplyBuffer(old);
  }

  /** Starts gathering the reply that begins at `chunk[pos]`; #place holds where its scan stopped, from `pos`. */
  #start(chunk: Uint8Array, pos: number): void {
    const place = this.#place;
    place.pos -= pos;
    place.need -= pos;
    this.#moveTo(Math.max(4096, place.need, 2 * (chunk.length - pos)), chunk.subarray(pos));
    this.#len = chunk.length - pos;
  }

  /**
   * The room where the rest of a reply being gathered goes, when at least 64 KiB of it are still to come: the socket
   * reads into it and {@link feed} of that read copies nothing. Null otherwise.
   */
  readTarget(): Uint8Array | null {
    const len = this.#len;
    const need = this.#place.need;
    if (len === 0 || need - len < DIRECT_READ_MIN) return null;
    if (this.#buf.length < need) {
      // The backend said how long the element is: its buffer is sized for it once.
      this.#moveTo(need, this.#buf.subarray(0, len));
    }
    return this.#buf.subarray(len, need);
  }

  #append(chunk: Uint8Array): void {
    const need = this.#len + chunk.length;
    if (chunk.buffer === this.#buf.buffer && chunk.byteOffset === this.#len) {
      this.#len = need; // read in place (readTarget)
      return;
    }
    if (need > this.#buf.length) {
      // Doubling; a big bulk whose end is known gets a buffer that ends with it.
      const target = this.#place.need;
      const upTo = target - this.#len >= BIG_REPLY && target >= need ? target : Infinity;
      this.#moveTo(Math.max(need, Math.min(upTo, 2 * this.#buf.length)), this.#buf.subarray(0, this.#len));
    }
    this.#buf.set(chunk, this.#len);
    this.#len = need;
  }

  /**
   * Drops held-back bytes, after the connection they came from is gone. (A pooled buffer being gathered into is not
   * reused: a read into it may still be under way.)
   */
  reset(): void {
    this.#buf = EMPTY;
    this.#bufFrom = null;
    this.#len = 0;
  }
}
