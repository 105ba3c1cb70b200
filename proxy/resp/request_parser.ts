/**
 * Streaming parser for client requests: RESP multibulk arrays and redis-cli style inline commands.
 *
 * Arguments are handed out as `subarray` views of the chunk they arrived in, so no argument is copied; a request
 * split across chunks is joined once, when enough bytes for it have arrived. The parser never decodes strings.
 * @module
 */

import { join, parseIntStrict } from "../../util/bytes.ts";
import { ProtocolError } from "../../util/errors.ts";

const CR = 13;
const LF = 10;
const STAR = 42; // *
const DOLLAR = 36; // $

/** Limits enforced while parsing; exceeding one is a protocol error that closes the session. */
export interface RequestLimits {
  /** Largest bulk argument, in bytes. */
  maxBulkLen: number;
  /** Most arguments in one request, the command name included. */
  maxArgs: number;
  /** Longest inline command line or multibulk header line. */
  maxInlineLen: number;
  /**
   * Set on the limits of a session that has not authenticated yet ({@link preAuthLimits}): the session's own limits,
   * which still bound inline commands and choose between Redis's "unauthenticated" errors and the ordinary ones.
   */
  afterAuth?: RequestLimits;
}

/** Redis 7's limits for a client that has not authenticated: a bulk over 16 KB or a multibulk over 10 arguments. */
export const PRE_AUTH_MAX_BULK_LEN = 16384;
export const PRE_AUTH_MAX_ARGS = 10;

/**
 * The limits for a session before AUTH, derived from its own: a client without the password cannot make the proxy
 * buffer more than about 10 x 16 KB, so a `$400000000` header is refused as soon as it is read.
 */
export function preAuthLimits(own: RequestLimits): RequestLimits {
  return {
    maxBulkLen: Math.min(PRE_AUTH_MAX_BULK_LEN, own.maxBulkLen),
    maxArgs: Math.min(PRE_AUTH_MAX_ARGS, own.maxArgs),
    maxInlineLen: own.maxInlineLen,
    afterAuth: own,
  };
}

/** Receives parsed requests. `raw` is the request's exact bytes, or null for an inline command. */
export interface RequestSink {
  onRequest(argv: Uint8Array[], raw: Uint8Array | null): void;
}

/** Thrown by {@link RequestParser.feed} on malformed input; the message is the Redis-style error text. */
export { ProtocolError };

const INCOMPLETE = -1;

/** Incremental request parser; feed it every chunk read from a client connection, in order. */
export class RequestParser {
  #limits: RequestLimits;
  #sink: RequestSink;
  /** Unparsed bytes held back from earlier chunks. */
  #parts: Uint8Array[] = [];
  #partsLen = 0;
  /** Bytes needed before another parse attempt can succeed. */
  #need = 0;
  #held = false;

  constructor(limits: RequestLimits, sink: RequestSink) {
    this.#limits = limits;
    this.#sink = sink;
  }

  /** Replaces the limits (after AUTH, or RESET); they apply from the next request on. */
  setLimits(limits: RequestLimits): void {
    this.#limits = limits;
  }

  /** Number of bytes held back waiting for the rest of a request. */
  get buffered(): number {
    return this.#partsLen;
  }

  /**
   * Backpressure: stop after the request being handed out, and keep the rest of the input (even whole requests)
   * until {@link release}. A 64 KiB read can hold thousands of small requests whose replies may each be large.
   */
  hold(): void {
    this.#held = true;
  }

  /** Ends {@link hold}; the caller then feeds an empty chunk to parse what was kept. */
  release(): void {
    this.#held = false;
  }

  /** Parses as many complete requests as `chunk` (plus held-back bytes) holds. Throws {@link ProtocolError}. */
  feed(chunk: Uint8Array): void {
    let data: Uint8Array;
    if (this.#partsLen > 0) {
      this.#parts.push(chunk);
      this.#partsLen += chunk.length;
      if (this.#partsLen < this.#need) return;
      data = join(this.#parts, this.#partsLen);
      this.#parts = [];
      this.#partsLen = 0;
    } else {
      data = chunk;
    }
    let pos = 0;
    const end = data.length;
    while (pos < end) {
      const next = data[pos] === STAR ? this.#parseMultibulk(data, pos) : this.#parseInline(data, pos);
      if (next === INCOMPLETE) {
        const rest = data.subarray(pos);
        this.#parts.push(rest);
        this.#partsLen = rest.length;
        return;
      }
      pos = next;
      if (this.#held && pos < end) {
        const rest = data.subarray(pos);
        this.#parts.push(rest);
        this.#partsLen = rest.length;
        this.#need = 0;
        return;
      }
    }
    this.#need = 0;
  }

  /** Returns the position after the request, or INCOMPLETE (setting #need). */
  #parseMultibulk(data: Uint8Array, start: number): number {
    const limits = this.#limits;
    let pos = start + 1;
    const lineEnd = findCRLF(data, pos, limits.maxInlineLen);
    if (lineEnd < 0) {
      if (lineEnd === -2) throw new ProtocolError("Protocol error: too big mbulk count string");
      this.#need = 0;
      return INCOMPLETE;
    }
    const count = parseIntStrict(data, pos, lineEnd);
    if (count === null || count > limits.maxArgs) throw new ProtocolError(multibulkError(limits, count));
    pos = lineEnd + 2;
    if (count <= 0) return pos;
    // Sized up front for ordinary requests; a huge count from a client grows as its arguments really arrive.
    const argv: Uint8Array[] = count <= 64 ? new Array(count) : [];
    // Direct views: cheaper than subarray(), which looks up a species constructor on every call.
    const buf = data.buffer;
    const base = data.byteOffset;
    for (let i = 0; i < count; i++) {
      if (pos >= data.length) return this.#incomplete(start, pos + 1);
      if (data[pos] !== DOLLAR) {
        throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(data[pos])}'`);
      }
      const lenEnd = findCRLF(data, pos + 1, 32);
      if (lenEnd < 0) {
        if (lenEnd === -2) throw new ProtocolError("Protocol error: invalid bulk length");
        return this.#incomplete(start, pos + 3);
      }
      const len = parseIntStrict(data, pos + 1, lenEnd);
      if (len === null || len < 0) throw new ProtocolError("Protocol error: invalid bulk length");
      if (len > limits.maxBulkLen) throw new ProtocolError(bulkError(limits, len));
      const argStart = lenEnd + 2;
      const argEnd = argStart + len;
      if (argEnd + 2 > data.length) return this.#incomplete(start, argEnd + 2);
      if (data[argEnd] !== CR || data[argEnd + 1] !== LF) {
        throw new ProtocolError("Protocol error: bulk string is not terminated by CRLF");
      }
      argv[i] = new Uint8Array(buf, base + argStart, len);
      pos = argEnd + 2;
    }
    this.#sink.onRequest(argv, new Uint8Array(buf, base + start, pos - start));
    return pos;
  }

  #incomplete(start: number, needAbs: number): number {
    this.#need = needAbs - start;
    return INCOMPLETE;
  }

  #parseInline(data: Uint8Array, start: number): number {
    const limit = this.#limits.maxInlineLen;
    let nl = -1;
    const stop = Math.min(data.length, start + limit + 1);
    for (let i = start; i < stop; i++) {
      if (data[i] === LF) {
        nl = i;
        break;
      }
    }
    if (nl < 0) {
      if (data.length - start > limit) throw new ProtocolError("Protocol error: too big inline request");
      this.#need = 0;
      return INCOMPLETE;
    }
    const lineEnd = nl > start && data[nl - 1] === CR ? nl - 1 : nl;
    const argv = splitInline(data, start, lineEnd);
    // Redis has no pre-auth limit on inline commands (their line is bounded anyway): the session's own applies.
    const maxArgs = (this.#limits.afterAuth ?? this.#limits).maxArgs;
    if (argv.length > maxArgs) throw new ProtocolError(`Protocol error: too many arguments (limit ${maxArgs})`);
    if (argv.length > 0) this.#sink.onRequest(argv, null);
    return nl + 1;
  }
}

/**
 * The error for a multibulk count over the limit, in Redis 7's words: `session_max_args` is stricter than Redis's
 * INT_MAX, but a client sees the text Redis gives for a count out of its range; before AUTH, Redis's own check.
 */
function multibulkError(limits: RequestLimits, count: number | null): string {
  const own = limits.afterAuth;
  if (count !== null && own !== undefined && count <= own.maxArgs) {
    return "Protocol error: unauthenticated multibulk length";
  }
  return "Protocol error: invalid multibulk length";
}

/**
 * The error for a bulk over the limit: Redis 7 checks its proto-max-bulk-len first (`session_max_bulk_len` here),
 * answering `invalid bulk length`, then the pre-auth 16 KB.
 */
function bulkError(limits: RequestLimits, len: number): string {
  const own = limits.afterAuth;
  if (own !== undefined && len <= own.maxBulkLen) return "Protocol error: unauthenticated bulk length";
  return "Protocol error: invalid bulk length";
}

/** Index of the CR of the next CRLF at or after `from`; -1 when not yet there; -2 when longer than `max`. */
function findCRLF(data: Uint8Array, from: number, max: number): number {
  const stop = Math.min(data.length - 1, from + max + 1);
  for (let i = from; i < stop; i++) {
    if (data[i] === CR) return data[i + 1] === LF ? i : -2;
  }
  return data.length - from > max + 1 ? -2 : -1;
}

/** isspace() in the C locale: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The byte a double-quoted `\c` stands for (sdssplitargs: \n \r \t \b \a, any other byte as itself). */
function escaped(c: number): number {
  switch (c) {
    case 110:
      return 10;
    case 114:
      return 13;
    case 116:
      return 9;
    case 98:
      return 8;
    case 97:
      return 7;
    default:
      return c;
  }
}

/**
 * Splits an inline command line as Redis's sdssplitargs does: blanks separate arguments; a quote may open anywhere in
 * an argument; in double quotes `\xHH` and `\n \r \t \b \a` are escapes and `\c` is `c`; in single quotes only `\'`
 * is; a closing quote must be followed by a blank or the end of the line.
 */
function splitInline(data: Uint8Array, from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = from;
  for (;;) {
    while (i < to && isSpace(data[i])) i++;
    if (i >= to) return out;
    const s = i;
    while (
      i < to && data[i] !== 32 && data[i] !== 9 && data[i] !== 10 && data[i] !== 13 && data[i] !== 34 && data[i] !== 39
    ) i++;
    if (i >= to || data[i] !== 34 && data[i] !== 39) {
      out.push(data.subarray(s, i)); // the common case: a plain word, kept as a view
      continue;
    }
    const bytes: number[] = Array.from(data.subarray(s, i));
    i = quotedWord(data, i, to, bytes);
    out.push(Uint8Array.from(bytes));
  }
}

/** Reads the rest of a word from the quote at `i` (appending to `bytes`); returns the index after the word. */
function quotedWord(data: Uint8Array, i: number, to: number, bytes: number[]): number {
  let q = 0; // the open quote, 0 outside quotes
  for (; i < to; i++) {
    const c = data[i];
    if (q === 0) {
      if (c === 32 || c === 9 || c === 10 || c === 13) return i;
      if (c === 34 || c === 39) q = c;
      else bytes.push(c);
    } else if (c === 92 && q === 34 && i + 1 < to) {
      const hi = i + 3 < to && data[i + 1] === 120 ? hexValue(data[i + 2]) : -1;
      const lo = hi >= 0 ? hexValue(data[i + 3]) : -1;
      if (lo >= 0) {
        bytes.push(hi * 16 + lo);
        i += 3;
      } else {
        bytes.push(escaped(data[++i]));
      }
    } else if (c === 92 && q === 39 && i + 1 < to && data[i + 1] === 39) {
      bytes.push(39);
      i++;
    } else if (c === q) {
      if (i + 1 < to && !isSpace(data[i + 1])) break;
      return i + 1;
    } else {
      bytes.push(c);
    }
  }
  if (q === 0) return i;
  throw new ProtocolError("Protocol error: unbalanced quotes in request");
}
