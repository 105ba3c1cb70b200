/**
 * Streaming parser for client requests: RESP multibulk arrays and redis-cli style inline commands.
 *
 * A request inside one read is parsed in place: its arguments and raw bytes are views of the read, so nothing is
 * copied. A request that spans reads goes to a {@link SpanningRequest}, which keeps its place across reads and
 * gathers the request's bytes into one buffer, each byte looked at once (a 400k-argument request or a 64 MB value
 * arriving in pieces costs what its bytes cost). The parser never decodes strings.
 * @module
 */

import { parseIntStrict } from "../../util/bytes.ts";
import { ProtocolError } from "../../util/errors.ts";
import { splitInline } from "./inline.ts";
import {
  bulkError,
  CR,
  DOLLAR,
  findLineEnd,
  inlineMaxArgs,
  LF,
  MAX_BULK_LINE,
  multibulkError,
  type RequestLimits,
  STAR,
} from "./protocol.ts";
import { type RequestSink, SpanningRequest } from "./spanning_request.ts";
import { LAZY_ARGV_MIN } from "./lazy_argv.ts";
import type { PooledBuffer } from "../../util/buffer_pool.ts";

export type { RequestLimits } from "./protocol.ts";
export type { RequestSink } from "./spanning_request.ts";

/** Thrown by {@link RequestParser.feed} on malformed input; the message is the Redis-style error text. */
export { ProtocolError };

const INCOMPLETE = -1;

/** Incremental request parser; feed it every chunk read from a client connection, in order. */
export class RequestParser {
  #limits: RequestLimits;
  #sink: RequestSink;
  /**
   * The request that began in an earlier read and is not complete yet. Made by the first such request, as is the
   * backlog: most sessions' requests each arrive in one read, and an idle session should cost little.
   */
  #spanning: SpanningRequest | null = null;
  /** Input not parsed yet, kept while the parser is held (views of the reads, in order). */
  #backlog: Uint8Array[] | null = null;
  #backlogLen = 0;
  #held = false;

  constructor(limits: RequestLimits, sink: RequestSink) {
    this.#limits = limits;
    this.#sink = sink;
  }

  /** Replaces the limits (after AUTH, or RESET); they apply from the next request on. */
  setLimits(limits: RequestLimits): void {
    this.#limits = limits;
  }

  /** Number of bytes held back: a request not complete yet, and input kept while held. */
  get buffered(): number {
    return this.#spanning === null ? this.#backlogLen : this.#backlogLen + this.#spanning.received;
  }

  /** Bytes of earlier reads kept as views while the parser is held (the request under way is copied, not kept). */
  get keptBytes(): number {
    return this.#backlogLen;
  }

  /** Where the next read should go: the room of a big bulk under way (see {@link SpanningRequest.readTarget}). */
  readTarget(): Uint8Array | null {
    return this.#backlogLen === 0 && this.#spanning !== null ? this.#spanning.readTarget() : null;
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

  /**
   * The reused buffer `view` lies in, when it is a big request's buffer from the read being parsed (the session counts
   * the request's users of it, util/buffer_pool.ts); null otherwise.
   */
  bufferOf(view: Uint8Array): PooledBuffer | null {
    return this.#spanning === null ? null : this.#spanning.bufferOf(view);
  }

  /** Parses as many complete requests as `chunk` (after the input kept earlier) holds. Throws {@link ProtocolError}. */
  feed(chunk: Uint8Array): void {
    this.#feeding++;
    this.#feed(chunk);
    // A big request's buffer goes back to its users only once the whole read is parsed (later requests in it are
    // views of it too). (Not after a ProtocolError: the session closes, and the buffer is left to the collector.)
    if (--this.#feeding === 0 && this.#spanning !== null) this.#spanning.settle();
  }

  #feeding = 0;

  #feed(chunk: Uint8Array): void {
    if (this.#backlogLen === 0) return this.#parse(chunk, 0);
    // (A backlog exists: something was kept.)
    const backlog = this.#backlog!;
    if (chunk.length > 0) {
      backlog.push(chunk);
      this.#backlogLen += chunk.length;
    }
    // Kept input is parsed in order, until the parser is held again (the rest of a read goes back to the front).
    while (backlog.length > 0 && !this.#held) {
      const next = backlog.shift()!;
      this.#backlogLen -= next.length;
      this.#parse(next, 0);
    }
  }

  /** Parses `data` from `pos`; what is left when the parser is held goes to the front of the backlog. */
  #parse(data: Uint8Array, pos: number): void {
    const end = data.length;
    const spanning = this.#spanning;
    if (spanning !== null && spanning.active) {
      pos = spanning.consume(data, pos, this.#limits, this.#sink);
      if (spanning.active) return;
      if (this.#held && pos < end) return this.#keep(data, pos);
    }
    while (pos < end) {
      const next = data[pos] === STAR ? this.#parseMultibulk(data, pos) : this.#parseInline(data, pos);
      if (next === INCOMPLETE) {
        // The rest of the read is the start of a request: from here on it is received across reads. (Or one of very
        // many arguments, which may also end in this read: then what follows it is parsed as usual.)
        const started = this.#spanning ??= new SpanningRequest(this.#sink.countsBufferUsers === true);
        started.begin(data, pos);
        pos = started.consume(data, pos, this.#limits, this.#sink);
        if (started.active) return;
      } else pos = next;
      if (this.#held && pos < end) return this.#keep(data, pos);
    }
  }

  #keep(data: Uint8Array, pos: number): void {
    // Views kept where nothing counts them: a big request's buffer they lie in is never reused.
    this.#spanning?.bufferOf(data)?.pin();
    const rest = data.subarray(pos);
    (this.#backlog ??= []).unshift(rest);
    this.#backlogLen += rest.length;
  }

  /** Returns the position after the request, or INCOMPLETE when it does not end in `data`. */
  #parseMultibulk(data: Uint8Array, start: number): number {
    const limits = this.#limits;
    let pos = start + 1;
    const end = data.length;
    const lineEnd = findLineEnd(data, end, pos, pos, limits.maxInlineLen);
    if (lineEnd < 0) {
      if (lineEnd === -2) throw new ProtocolError("Protocol error: too big mbulk count string");
      return INCOMPLETE;
    }
    const count = parseIntStrict(data, pos, lineEnd);
    if (count === null || count > limits.maxArgs) throw new ProtocolError(multibulkError(limits, count));
    pos = lineEnd + 2;
    if (count <= 0) return pos;
    // Hardly ever whole in one read: views made here would be dropped when it turns out not to be (14 ms of a
    // 400k-argument request's first read), so it goes to the spanning request at once, which takes it in place.
    if (count > LAZY_ARGV_MIN) return INCOMPLETE;
    // Sized up front for ordinary requests; a huge count from a client grows as its arguments really arrive.
    const argv: Uint8Array[] = count <= 64 ? new Array(count) : [];
    // Direct views: cheaper than subarray(), which looks up a species constructor on every call.
    const buf = data.buffer;
    const base = data.byteOffset;
    for (let i = 0; i < count; i++) {
      if (pos >= end) return INCOMPLETE;
      if (data[pos] !== DOLLAR) {
        throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(data[pos])}'`);
      }
      const lenEnd = findLineEnd(data, end, pos + 1, pos + 1, MAX_BULK_LINE);
      if (lenEnd < 0) {
        if (lenEnd === -2) throw new ProtocolError("Protocol error: invalid bulk length");
        return INCOMPLETE;
      }
      const len = parseIntStrict(data, pos + 1, lenEnd);
      if (len === null || len < 0) throw new ProtocolError("Protocol error: invalid bulk length");
      if (len > limits.maxBulkLen) throw new ProtocolError(bulkError(limits, len));
      const argStart = lenEnd + 2;
      const argEnd = argStart + len;
      if (argEnd + 2 > end) {
        // Not in this read: a bulk that cannot fit a read of the usual size is taken across reads anyway, and one
        // that could but did not arrive in full goes the same way.
        return INCOMPLETE;
      }
      if (data[argEnd] !== CR || data[argEnd + 1] !== LF) {
        throw new ProtocolError("Protocol error: bulk string is not terminated by CRLF");
      }
      argv[i] = new Uint8Array(buf, base + argStart, len);
      pos = argEnd + 2;
    }
    this.#sink.onRequest(argv, new Uint8Array(buf, base + start, pos - start));
    return pos;
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
      return INCOMPLETE;
    }
    const lineEnd = nl > start && data[nl - 1] === CR ? nl - 1 : nl;
    const argv = splitInline(data, start, lineEnd);
    const maxArgs = inlineMaxArgs(this.#limits);
    if (argv.length > maxArgs) throw new ProtocolError(`Protocol error: too many arguments (limit ${maxArgs})`);
    if (argv.length > 0) this.#sink.onRequest(argv, null);
    return nl + 1;
  }
}
