/**
 * A client request that did not arrive in one read: its bytes are gathered into one buffer as they come, and the
 * parse keeps its place (the argument count, the arguments done, the current bulk's length and how much of it has
 * arrived) so that each byte is looked at once, however many reads the request takes. A bulk's bytes are copied into
 * the buffer without being scanned. When the request is complete, its raw bytes and its arguments are views of that
 * buffer, as the one-read path hands out views of the read.
 *
 * The buffer grows with the bytes received (doubling, up to the size the declared bulk lengths call for), never with
 * a declared length alone: a `$500000000` header costs nothing until the bytes arrive. (A bulk of 64 KiB or more may
 * take a free buffer of the thread's pool that fits it whole: that memory is held already; so do the growth steps of a
 * request of many arguments, `big_request_buffers.ts`.)
 * @module
 */
import { parseIntStrict } from "../../util/bytes.ts";
import { ProtocolError } from "../../util/errors.ts";
import { splitInline } from "./inline.ts";
import { LAZY_ARGV_KNOWN, LAZY_ARGV_MIN, lazyArgv } from "./lazy_argv.ts";
import { type PooledBuffer, SizedBufferPool } from "../../util/buffer_pool.ts";
import { takeBigRequestBuffer } from "./big_request_buffers.ts";
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
  resumeAt,
  STAR,
} from "./protocol.ts";

/** Receives parsed requests. `raw` is the request's exact bytes, or null for an inline command. */
export interface RequestSink {
  onRequest(argv: Uint8Array[], raw: Uint8Array | null): void;
  /**
   * True when the sink counts the users of a big request's pooled buffer, or pins it, before the read is parsed
   * (`RequestParser.bufferOf`, `../../util/buffer_pool.ts`): only then does a big bulk get a buffer that is reused.
   * Otherwise each gets a fresh one, never written again whatever the sink keeps.
   */
  readonly countsBufferUsers?: boolean;
}

const IDLE = 0;
/** In the `*N` line. */
const HEADER = 1;
/** In a `$len` line (or before its `$`). */
const BULK_LINE = 2;
/** In a bulk's bytes and their CRLF. */
const BULK_DATA = 3;
/** In an inline command's line. */
const INLINE = 4;

/** Least first size of a request's buffer (it starts at twice what the first read holds of the request). */
const MIN_CAPACITY = 512;
/** A bulk at least this long gets a buffer sized to end with it rather than the next power of two. */
const BIG_BULK = 64 * 1024;
/** Room kept after a bulk when the buffer is sized for it: a few small arguments after it (SET k v EX 10). */
const TAIL_ROOM = 256;
/** Copies shorter than this go byte by byte: no view is made for them. */
const SMALL_COPY = 64;
const EMPTY = new Uint8Array(0);
/** A bulk with at least this much still to come is read straight into the request's buffer (see readTarget). */
const DIRECT_READ_MIN = 8192;
/** How far ahead of the bytes received a bulk's buffer may grow for a direct read. */
const DIRECT_READ_AHEAD = 64 * 1024;
/**
 * How much a big bulk's buffer grows at once: each growth copies what arrived so far, so few big steps (a 1 MB value
 * is copied once, at 128 KiB) rather than doubling; memory stays within this many times the bytes received.
 */
const DIRECT_READ_GROWTH = 8;
/**
 * A request of more than SPANNING_READ_ARGS arguments that has reached SPANNING_READ_MIN bytes is read straight into
 * its own buffer whatever stage it is in: the socket's slab would only be copied out of. (Not a request of a few big
 * values: its buffer is sized to end with a value, and doubling it for the few bytes after one would copy it all.)
 */
const SPANNING_READ_MIN = 16 * 1024;
const SPANNING_READ_ARGS = 256;
/** The least free room offered for such a read; the buffer doubles to keep it. */
const SPANNING_READ_ROOM = 16 * 1024;
/**
 * The most offered for one such read: the kernel may hold megabytes of a big request, and each read's arguments are
 * parsed in the same turn, so a bigger read would hold the other sessions for as long (1.5 MB: about 10 ms).
 */
const SPANNING_READ_MAX = 256 * 1024;
/**
 * This thread's buffers for big bulks: a buffer sized to end with a bulk of at least BIG_BULK bytes comes from here and
 * goes back once the request read into it is done with (`../../util/buffer_pool.ts`: the session counts its users),
 * rather than a fresh one per request (a malloc, a zero fill and page faults per byte). At most 16 free, 16 MiB.
 */
const bigBuffers = new SizedBufferPool(16 << 20, 16);

/** The request being received across reads; see the module doc. */
export class SpanningRequest {
  /** Whether big bulks get buffers of the pool (the sink counts their users: {@link RequestSink.countsBufferUsers}). */
  readonly #pooled: boolean;

  constructor(pooled = false) {
    this.#pooled = pooled;
  }

  #stage = IDLE;
  #buf: Uint8Array = EMPTY;
  /** Bytes of the request in #buf. */
  #len = 0;
  #argc = 0;
  #argi = 0;
  /** The length of #buf before the last append: what the read being consumed had added is counted from there. */
  #lenBeforeAppend = 0;
  /** Start and length in #buf of each argument done, up to #spanLimit of them (a lazy argv finds the rest). */
  #spans: number[] = [];
  #spanLimit = 0;
  /** Where the content of the current line starts in #buf, and where the search for its end resumes. */
  #lineFrom = 0;
  #scanFrom = 0;
  /** The current bulk: where its bytes start in #buf, and where its CRLF ends. */
  #bulkStart = 0;
  #bulkEnd = 0;
  /** The pooled buffer #buf is, if it is one. */
  #own: PooledBuffer | null = null;
  /**
   * Pooled buffers of requests completed in the read being parsed: the rest of that read may be views of them, so
   * they are given back ({@link settle}) only once it is parsed.
   */
  #finished: PooledBuffer[] | null = null;

  /** Whether a request is under way. */
  get active(): boolean {
    return this.#stage !== IDLE;
  }

  /** Bytes of the request under way received so far. */
  get received(): number {
    return this.#len;
  }

  /**
   * The free room of the buffer where the rest of the current bulk goes, when enough of it is still to come: the
   * socket reads into it, and {@link consume} of that read copies nothing. The buffer grows toward the bulk's end
   * (at most eight times its size, or 64 KiB past the bytes received), never to a declared length at once. A request
   * of many arguments and at least 16 KiB gets the free room of its buffer (up to 256 KiB) whatever it is receiving
   * (see SPANNING_READ_MIN). Null otherwise.
   */
  readTarget(): Uint8Array | null {
    const stage = this.#stage;
    if (stage === IDLE || stage === INLINE) return null;
    const len = this.#len;
    const rest = this.#bulkEnd - len;
    if (stage !== BULK_DATA || rest < DIRECT_READ_MIN) {
      if (len < SPANNING_READ_MIN || this.#argc <= SPANNING_READ_ARGS) return null;
      // A big request's next read goes to the end of its buffer, where consume() takes it in place (the read may
      // hold requests after this one too: they are parsed as views of this buffer, written again only once they are
      // done with it: util/buffer_pool.ts).
      if (this.#buf.length - len < SPANNING_READ_ROOM) {
        // An outgrown buffer of the request's own is freed at once rather than at some later collection (nothing else
        // has a view of it: views are made only of the buffer a request completes in), so that the allocator hands
        // its pages, already faulted in, to the next growth: 10-20% of such a request's CPU over repeated requests. (A
        // pooled one goes back to its pool instead: #grow.)
        const old = this.#own === null ? this.#buf.buffer as ArrayBuffer : null;
        const size = Math.max(this.#spanningSize(), len + SPANNING_READ_ROOM);
        const pooled = this.#pooled ? takeBigRequestBuffer(bigBuffers, size) : null;
        if (pooled !== null) this.#grow(pooled.bytes, pooled);
        else this.#grow(new Uint8Array(size), null);
        old?.transfer(0);
      }
      return this.#buf.subarray(len, Math.min(this.#buf.length, len + SPANNING_READ_MAX));
    }
    // The room offered covers the rest of the bulk, or 64 KiB of it: one read can take what the kernel holds.
    if (this.#buf.length - len < Math.min(rest, DIRECT_READ_AHEAD)) {
      const whole = this.#bulkEnd + TAIL_ROOM;
      // A free pooled buffer that holds the whole bulk costs nothing more to take than a small step would.
      const poolable = this.#pooled && whole >= BIG_BULK;
      let pooled = poolable ? bigBuffers.find(whole) : null;
      if (pooled === null) {
        const size = Math.min(whole, Math.max(len + DIRECT_READ_AHEAD, DIRECT_READ_GROWTH * this.#buf.length));
        if (size === whole && poolable) pooled = bigBuffers.make(size);
        else this.#grow(new Uint8Array(size), null);
      }
      if (pooled !== null) this.#grow(pooled.bytes, pooled);
    }
    return this.#buf.subarray(len, Math.min(this.#bulkEnd, this.#buf.length));
  }

  /**
   * The next size of a big request's buffer: toward what the whole request will take if its arguments to come are as
   * long as those so far, with an eighth more (so that a slightly longer tail does not copy it all again), in the
   * fewest steps of at most eight times the present size, all of the same ratio: the bench's 5 MB request grows 32
   * KiB → 169 KiB → 916 KiB → 5.1 MiB, where steps of eight left a 2 MiB buffer behind. Each step's new buffer is fresh
   * memory, a page fault per 4 KiB touched, which on this VM is most of what such a request costs; still never more
   * than eight times the bytes received, whatever the count declared. At least twice the present size.
   */
  #spanningSize(): number {
    const size = this.#buf.length;
    const argi = this.#argi;
    if (argi === 0) return 2 * size;
    const whole = (this.#len / argi) * this.#argc;
    const target = whole + whole / 8 + SPANNING_READ_ROOM;
    const steps = Math.ceil(Math.log(target / size) / Math.log(DIRECT_READ_GROWTH));
    const step = steps <= 1 ? target : size * Math.pow(target / size, 1 / steps);
    return Math.ceil(Math.min(DIRECT_READ_GROWTH * size, Math.max(2 * size, step)));
  }

  /** Moves the request's bytes to `grown`; a pooled buffer left behind goes back (nothing made views of it yet). */
  #grow(grown: Uint8Array, pooled: PooledBuffer | null): void {
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
    const old = this.#own;
    this.#own = pooled;
    old?.retire();
  }

  /** The pooled buffer `view` lies in, of the request under way or of one completed in the read being parsed. */
  bufferOf(view: Uint8Array): PooledBuffer | null {
    const own = this.#own;
    if (own !== null && own.holds(view)) return own;
    const done = this.#finished;
    if (done !== null) { for (const b of done) if (b.holds(view)) return b; }
    return null;
  }

  /** Gives back the pooled buffers of the requests completed in the read just parsed (their users hold them). */
  settle(): void {
    const done = this.#finished;
    if (done === null) return;
    this.#finished = null;
    for (const b of done) b.retire();
  }

  /** Starts a request at `data[pos]` (a `*` starts a multibulk, anything else an inline command). */
  begin(data: Uint8Array, pos: number): void {
    const multibulk = data[pos] === STAR;
    this.#stage = multibulk ? HEADER : INLINE;
    this.#buf = new Uint8Array(Math.max(MIN_CAPACITY, 2 * (data.length - pos)));
    this.#len = 0;
    this.#argc = 0;
    this.#argi = 0;
    this.#spans = [];
    this.#lineFrom = this.#scanFrom = multibulk ? 1 : 0;
  }

  /** Ends the request under way (a pooled buffer still its own is dropped, not given back). */
  reset(): void {
    this.#own = null;
    this.#stage = IDLE;
    this.#buf = EMPTY;
    this.#len = 0;
    this.#spans = [];
  }

  /**
   * Takes the request's bytes from `data[pos, end)`, and only those. Returns the position after the last byte taken;
   * when that completes the request, it has gone to `sink` and {@link active} is false. Throws {@link ProtocolError}.
   */
  consume(data: Uint8Array, pos: number, limits: RequestLimits, sink: RequestSink): number {
    const end = data.length;
    while (pos < end) {
      switch (this.#stage) {
        case HEADER: {
          const cr = this.#line(data, pos, limits.maxInlineLen);
          if (cr === -2) throw new ProtocolError("Protocol error: too big mbulk count string");
          if (cr === -1) return end;
          pos += this.#endLine(cr);
          const count = parseIntStrict(this.#buf, 1, cr);
          if (count === null || count > limits.maxArgs) throw new ProtocolError(multibulkError(limits, count));
          if (count <= 0) {
            this.reset();
            return pos;
          }
          this.#argc = count;
          this.#spanLimit = count > LAZY_ARGV_MIN ? LAZY_ARGV_KNOWN : count;
          this.#nextArg();
          break;
        }
        case BULK_LINE: {
          if (this.#len === this.#lineFrom - 1) {
            // At the start of an argument: the arguments whole in this read are taken in one pass.
            const next = this.#wholeArgs(data, pos, limits);
            if (next > pos) {
              this.#append(data, pos, next - pos, Infinity);
              pos = next;
              if (this.#argi === this.#argc) {
                this.#finishMultibulk(sink);
                return pos;
              }
              this.#nextArg();
              if (pos === end) return pos;
            }
            if (data[pos] !== DOLLAR) {
              throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(data[pos])}'`);
            }
          }
          const cr = this.#line(data, pos, MAX_BULK_LINE);
          if (cr === -2) throw new ProtocolError("Protocol error: invalid bulk length");
          if (cr === -1) return end;
          pos += this.#endLine(cr);
          const n = parseIntStrict(this.#buf, this.#lineFrom, cr);
          if (n === null || n < 0) throw new ProtocolError("Protocol error: invalid bulk length");
          if (n > limits.maxBulkLen) throw new ProtocolError(bulkError(limits, n));
          this.#bulkStart = this.#len;
          this.#bulkEnd = this.#len + n + 2;
          this.#stage = BULK_DATA;
          break;
        }
        case BULK_DATA: {
          const take = Math.min(end - pos, this.#bulkEnd - this.#len);
          // A big bulk's buffer is sized to end with it (growth still follows the bytes received); small ones double.
          const upTo = this.#bulkEnd - this.#bulkStart >= BIG_BULK ? this.#bulkEnd + TAIL_ROOM : Infinity;
          this.#append(data, pos, take, upTo);
          pos += take;
          if (this.#len < this.#bulkEnd) return pos;
          const buf = this.#buf;
          if (buf[this.#bulkEnd - 2] !== CR || buf[this.#bulkEnd - 1] !== LF) {
            throw new ProtocolError("Protocol error: bulk string is not terminated by CRLF");
          }
          if (this.#argi < this.#spanLimit) this.#spans.push(this.#bulkStart, this.#bulkEnd - 2 - this.#bulkStart);
          if (++this.#argi === this.#argc) {
            this.#finishMultibulk(sink);
            return pos;
          }
          this.#nextArg();
          break;
        }
        case INLINE:
          return this.#inline(data, pos, limits, sink);
        default:
          return pos;
      }
    }
    return pos;
  }

  /**
   * Takes the arguments that are whole in `data` from `pos` (at the `$` of one) with no state kept between them: a
   * request of many small arguments costs a few operations per argument. The spans of the first #spanLimit are
   * recorded as where they will be in #buf once the caller appends `data[pos, returned)`. Returns where it stopped:
   * after the last argument, or at the start of one not whole in `data`. Throws the errors consume() would.
   */
  #wholeArgs(data: Uint8Array, pos: number, limits: RequestLimits): number {
    const end = data.length;
    const spans = this.#spans;
    const toBuf = this.#len - pos;
    const argc = this.#argc;
    const spanLimit = this.#spanLimit;
    let argi = this.#argi;
    while (argi < argc && pos < end) {
      if (data[pos] !== DOLLAR) break; // (consume() says what is wrong)
      const lenEnd = findLineEnd(data, end, pos + 1, pos + 1, MAX_BULK_LINE);
      if (lenEnd < 0) break;
      const n = parseIntStrict(data, pos + 1, lenEnd);
      if (n === null || n < 0 || n > limits.maxBulkLen) break;
      const argStart = lenEnd + 2;
      const argEnd = argStart + n;
      if (argEnd + 2 > end || data[argEnd] !== CR || data[argEnd + 1] !== LF) break;
      if (argi < spanLimit) spans.push(toBuf + argStart, n);
      argi++;
      pos = argEnd + 2;
    }
    this.#argi = argi;
    return pos;
  }

  /** Expects the `$` of the next argument's length line. */
  #nextArg(): void {
    this.#stage = BULK_LINE;
    this.#lineFrom = this.#scanFrom = this.#len + 1;
  }

  /**
   * Appends bytes of the current line from `data[pos...]`: no more than the line may still hold, so that at most a
   * few bytes past its end are copied (and dropped again by {@link endLine}). Returns the index in #buf of the line's
   * CR, -1 when it has not arrived yet, -2 when the line is too long or malformed.
   */
  #line(data: Uint8Array, pos: number, max: number): number {
    const room = max + 3 - (this.#len - this.#lineFrom);
    this.#append(data, pos, Math.min(data.length - pos, room), Infinity);
    const cr = findLineEnd(this.#buf, this.#len, this.#lineFrom, this.#scanFrom, max);
    if (cr === -1) this.#scanFrom = resumeAt(this.#len, this.#lineFrom, this.#scanFrom, max);
    return cr;
  }

  /** Ends the current line at its CR: drops what was copied past its LF; returns how many bytes of the read it took. */
  #endLine(cr: number): number {
    this.#len = cr + 2;
    return this.#len - this.#lenBeforeAppend;
  }

  #finishMultibulk(sink: RequestSink): void {
    const buf = this.#buf.buffer;
    const spans = this.#spans;
    let argv: Uint8Array[];
    if (this.#argc > LAZY_ARGV_MIN) argv = lazyArgv(buf, this.#argc, spans);
    else {
      argv = new Array(this.#argc);
      for (let i = 0, j = 0; i < argv.length; i++, j += 2) argv[i] = new Uint8Array(buf, spans[j], spans[j + 1]);
    }
    const raw = new Uint8Array(buf, 0, this.#len);
    const own = this.#own;
    if (own !== null) {
      this.#own = null;
      (this.#finished ??= []).push(own);
    }
    this.reset();
    sink.onRequest(argv, raw);
  }

  /** An inline command's line: up to its LF, at most `maxInlineLen` bytes. */
  #inline(data: Uint8Array, pos: number, limits: RequestLimits, sink: RequestSink): number {
    const limit = limits.maxInlineLen;
    this.#append(data, pos, Math.min(data.length - pos, limit + 1 - this.#len), Infinity);
    const buf = this.#buf;
    const stop = Math.min(this.#len, limit + 1);
    let nl = -1;
    for (let i = this.#scanFrom; i < stop; i++) {
      if (buf[i] === LF) {
        nl = i;
        break;
      }
    }
    if (nl < 0) {
      if (this.#len > limit) throw new ProtocolError("Protocol error: too big inline request");
      this.#scanFrom = this.#len;
      return data.length;
    }
    const took = nl + 1 - this.#lenBeforeAppend;
    const lineEnd = nl > 0 && buf[nl - 1] === CR ? nl - 1 : nl;
    const argv = splitInline(buf, 0, lineEnd);
    const maxArgs = inlineMaxArgs(limits);
    if (argv.length > maxArgs) throw new ProtocolError(`Protocol error: too many arguments (limit ${maxArgs})`);
    this.reset();
    if (argv.length > 0) sink.onRequest(argv, null);
    return pos + took;
  }

  /** Copies `data[pos, pos + n)` to the end of #buf, growing it (doubling, up to `upTo` when that is enough). */
  #append(data: Uint8Array, pos: number, n: number, upTo: number): void {
    const len = this.#len;
    this.#lenBeforeAppend = len;
    const need = len + n;
    let buf = this.#buf;
    if (need > buf.length) {
      const grown = new Uint8Array(Math.max(need, Math.min(upTo, buf.length * 2)));
      grown.set(len === buf.length ? buf : buf.subarray(0, len));
      buf = this.#buf = grown;
      const old = this.#own;
      if (old !== null) {
        this.#own = null;
        // (Never while `data` is a view of it, as a read into its room never goes past it; pinned if it were.)
        if (old.holds(data)) old.pin();
        old.retire();
      }
    }
    if (data.buffer === buf.buffer && data.byteOffset + pos === len) {
      // Read in place (readTarget): the bytes are where they belong.
    } else if (n < SMALL_COPY) {
      for (let i = 0; i < n; i++) buf[len + i] = data[pos + i];
    } else {
      buf.set(data.subarray(pos, pos + n), len);
    }
    this.#len = need;
  }
}
