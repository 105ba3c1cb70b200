/**
 * The client request parser (proxy/resp/) fed the same bytes in different pieces: one read, every split point of a
 * pipeline, seeded random splits, one byte at a time. Requests, their raw bytes and their errors must not depend on
 * where the reads end.
 * @module
 */
import assert from "node:assert/strict";
import { ProtocolError, type RequestLimits, RequestParser } from "../proxy/resp/request_parser.ts";
import { LAZY_ARGV_MIN } from "../proxy/resp/lazy_argv.ts";
import { Rng } from "../raft/sim/prng.ts";
import { concat } from "../util/bytes.ts";

const enc = new TextEncoder();
const LIMITS: RequestLimits = { maxBulkLen: 512 << 20, maxArgs: 1 << 20, maxInlineLen: 64 * 1024 };

/** What one parse produced: each request's arguments (hex) and raw bytes (hex, or null for inline), or the error. */
interface Parsed {
  requests: [string[], string | null][];
  error: string | null;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Parses `input` cut at `cuts` (sorted positions); with `holdEvery`, holds the parser after every that many requests. */
function parse(input: Uint8Array, cuts: number[], limits = LIMITS, holdEvery = 0): Parsed {
  const out: Parsed = { requests: [], error: null };
  const parser: RequestParser = new RequestParser(limits, {
    onRequest(argv, raw) {
      // Copies: a view must stay valid after later reads, which this checks too (compared at the end).
      out.requests.push([argv.map(hex), raw === null ? null : hex(raw)]);
      if (holdEvery > 0 && out.requests.length % holdEvery === 0) parser.hold();
    },
  });
  let from = 0;
  try {
    for (const cut of [...cuts, input.length]) {
      // Fresh copies: the parser may keep views of what it is fed, never of a buffer reused for the next read.
      parser.feed(input.slice(from, cut));
      from = cut;
      for (let i = 0; i < 1000 && holdEvery > 0 && parser.buffered > 0; i++) {
        const before = out.requests.length;
        parser.release();
        parser.feed(new Uint8Array(0));
        if (out.requests.length === before) break;
      }
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    out.error = e.message;
  }
  return out;
}

/** Where `got` first differs from `want` (a short text, so that a failure prints fast), or null when they agree. */
function difference(got: Parsed, want: Parsed): string | null {
  if (got.error !== want.error) return `error ${JSON.stringify(got.error)}, want ${JSON.stringify(want.error)}`;
  const n = Math.max(got.requests.length, want.requests.length);
  for (let i = 0; i < n; i++) {
    const [g, w] = [JSON.stringify(got.requests[i]), JSON.stringify(want.requests[i])];
    if (g !== w) return `request ${i}: ${g?.slice(0, 200)}, want ${w?.slice(0, 200)}`;
  }
  return null;
}

/** Asserts that `got` parses as `want`; `what` says how the input was cut. */
function assertSame(got: Parsed, want: Parsed, what: string): void {
  const d = difference(got, want);
  assert.equal(d, null, `${what}: ${d}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** RESP encoding of one multibulk request. */
function multibulk(args: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [enc.encode(`*${args.length}\r\n`)];
  for (const a of args) parts.push(enc.encode(`$${a.length}\r\n`), a, enc.encode("\r\n"));
  return concat(parts);
}

/** A pipeline of random requests: binary arguments (CR and LF inside), empty ones, `*0`, and inline commands. */
function randomPipeline(rng: Rng, n: number, maxArg: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.int(0, 9);
    if (kind === 0) {
      parts.push(enc.encode(rng.chance(0.5) ? "PING\r\n" : `SET k${i} "a b\\x41"\n`));
    } else if (kind === 1) {
      parts.push(enc.encode("*0\r\n"));
    } else {
      const args = Array.from({ length: rng.int(1, 6) }, () => {
        const a = new Uint8Array(rng.int(0, maxArg));
        for (let j = 0; j < a.length; j++) a[j] = rng.chance(0.1) ? rng.pick([13, 10, 42, 36]) : rng.int(0, 255);
        return a;
      });
      parts.push(multibulk(args));
    }
  }
  return concat(parts);
}

Deno.test("request parser: a pipeline split at every byte boundary parses as in one read", () => {
  const input = randomPipeline(new Rng(7), 12, 20);
  const whole = parse(input, []);
  assert.equal(whole.error, null);
  assert.ok(whole.requests.length >= 8, `${whole.requests.length} requests`);
  for (let cut = 1; cut < input.length; cut++) assertSame(parse(input, [cut]), whole, `cut at ${cut}`);
  const bytes = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
  assertSame(parse(input, bytes), whole, "one byte per read");
});

Deno.test("request parser: seeded random splits of random pipelines, with and without hold, parse as in one read", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new Rng(seed);
    const input = randomPipeline(rng, rng.int(1, 60), rng.pick([8, 300, 5000]));
    const whole = parse(input, []);
    assert.equal(whole.error, null, `seed ${seed}`);
    const cuts = new Set<number>();
    const n = rng.int(1, 40);
    for (let i = 0; i < n; i++) cuts.add(rng.int(1, input.length - 1));
    const sorted = [...cuts].sort((a, b) => a - b);
    assertSame(parse(input, sorted), whole, `seed ${seed}, cuts ${sorted}`);
    assertSame(parse(input, sorted, LIMITS, rng.int(1, 3)), whole, `seed ${seed} held, cuts ${sorted}`);
  }
});

Deno.test("request parser: malformed input gives the same error wherever the reads end", () => {
  const small: RequestLimits = { maxBulkLen: 100, maxArgs: 5, maxInlineLen: 40 };
  const cases = [
    "*1\r\n!!!!\r\n",
    "*1\r\n$-5\r\nabc\r\n",
    "*1\r\n$99999999999999999999999999999999999\r\n",
    "*1\r\n$200\r\n",
    "*x\r\n",
    "*9\r\n",
    "*1\r\n$3\r\nGETXX",
    "*2\r\n$3\r\nGET\r\n$3\r\nabc\rX",
    'SET "a b\r\n',
    "A".repeat(50),
    "*" + "1".repeat(50),
    "*1\r\n$3\rX",
  ];
  for (const c of cases) {
    const input = enc.encode(c);
    const whole = parse(input, [], small);
    assert.notEqual(whole.error, null, `${JSON.stringify(c)} is an error`);
    for (let cut = 1; cut < input.length; cut++) {
      assertSame(parse(input, [cut], small), whole, `${JSON.stringify(c)} cut at ${cut}`);
    }
  }
});

Deno.test("request parser: a 64 MB bulk in 64 KB reads arrives whole, its raw bytes exact", () => {
  const value = new Uint8Array(64 << 20);
  for (let i = 0; i < value.length; i += 4096) value[i] = (i >> 12) & 0xff;
  const input = multibulk([enc.encode("SET"), enc.encode("big"), value, enc.encode("EX"), enc.encode("100")]);
  let got: [Uint8Array[], Uint8Array | null] | undefined;
  const parser = new RequestParser(LIMITS, { onRequest: (argv, raw) => got = [argv, raw] });
  for (let off = 0; off < input.length; off += 65536) parser.feed(input.subarray(off, off + 65536));
  assert.ok(got, "the request is complete");
  const [argv, raw] = got;
  assert.equal(argv.length, 5);
  assert.equal(argv[2].length, value.length);
  assert.ok(sameBytes(argv[2], value), "the value's bytes");
  assert.ok(raw !== null && sameBytes(raw, input), "the request's raw bytes");
  assert.equal(parser.buffered, 0);
});

Deno.test("request parser: a request of 200k arguments in 4 KB reads arrives whole", () => {
  const args = Array.from({ length: 200_000 }, (_, i) => enc.encode(i === 0 ? "MSET" : `k${i}`));
  const input = multibulk(args);
  let got: Uint8Array[] | undefined;
  const parser = new RequestParser(LIMITS, { onRequest: (argv) => got = argv });
  for (let off = 0; off < input.length; off += 4096) parser.feed(input.slice(off, off + 4096));
  assert.equal(got?.length, args.length);
  assert.equal(new TextDecoder().decode(got![199_999]), "k199999");
  assert.equal(parser.buffered, 0);
});

Deno.test("request parser: requests of many arguments read into the room they offer, among others, parse as in one read and their views stay intact", () => {
  for (let seed = 1; seed <= 6; seed++) {
    const rng = new Rng(seed);
    const many = Array.from({ length: rng.int(3000, 6000) }, () => {
      const a = new Uint8Array(rng.int(0, 12));
      for (let j = 0; j < a.length; j++) a[j] = rng.chance(0.1) ? rng.pick([13, 10, 42, 36]) : rng.int(0, 255);
      return a;
    });
    const input = concat([
      randomPipeline(rng, 3, 20),
      multibulk(many),
      randomPipeline(rng, rng.int(1, 20), 300),
      multibulk(many.slice(0, 2500)),
      randomPipeline(rng, 3, 20),
    ]);
    const whole = parse(input, []);
    assert.equal(whole.error, null, `seed ${seed}`);
    // A socket: each read goes into the room the parser offers, or into a fresh buffer; reads of random sizes.
    const views: [Uint8Array[], Uint8Array | null][] = [];
    const parser = new RequestParser(LIMITS, { onRequest: (argv, raw) => views.push([argv, raw]) });
    let pos = 0;
    let direct = 0;
    for (let i = 0; i < 100_000 && pos < input.length; i++) {
      const room = parser.readTarget();
      const n = Math.min(rng.int(1, 8000), input.length - pos, room?.length ?? Infinity);
      if (room === null) parser.feed(input.slice(pos, pos + n));
      else {
        room.set(input.subarray(pos, pos + n));
        parser.feed(room.subarray(0, n));
        direct += n;
      }
      pos += n;
    }
    assert.equal(pos, input.length);
    // Compared only now: every view handed out must still hold its bytes after all the reads that followed.
    const got: Parsed = {
      requests: views.map(([argv, raw]) => [argv.map(hex), raw === null ? null : hex(raw)]),
      error: null,
    };
    assertSame(got, whole, `seed ${seed}`);
    assert.ok(direct > input.length / 3, `seed ${seed}: only ${direct} of ${input.length} bytes were read in place`);
  }
});

Deno.test("request parser: a big bulk read into the room it offers arrives whole, in that buffer, with the next request after it", () => {
  const value = new Uint8Array(300_000);
  for (let i = 0; i < value.length; i++) value[i] = (i * 7 + 3) & 0xff;
  const head = enc.encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`);
  const tail = enc.encode("\r\n*1\r\n$4\r\nPING\r\n");
  const input = new Uint8Array(head.length + value.length + tail.length);
  input.set(head);
  input.set(value, head.length);
  input.set(tail, head.length + value.length);
  const got: Uint8Array[][] = [];
  const parser = new RequestParser(LIMITS, { onRequest: (argv) => got.push(argv) });
  // The header and the first 1000 bytes of the value in an ordinary read, then what the parser offers, in reads of
  // at most 50 KB (a socket reads into the room, the parser is fed a view of it).
  let pos = head.length + 1000;
  parser.feed(input.slice(0, pos));
  let direct = 0;
  const rooms = new Set<ArrayBufferLike>();
  for (let i = 0; i < 1000 && pos < input.length; i++) {
    const room = parser.readTarget();
    if (room === null) {
      parser.feed(input.slice(pos));
      pos = input.length;
      break;
    }
    const n = Math.min(room.length, 50_000, input.length - pos);
    room.set(input.subarray(pos, pos + n));
    rooms.add(room.buffer);
    parser.feed(room.subarray(0, n));
    pos += n;
    direct += n;
  }
  assert.equal(pos, input.length);
  assert.ok(direct > 250_000, `only ${direct} bytes were read in place`);
  assert.equal(got.length, 2);
  assert.equal(hex(got[0][2]), hex(value));
  assert.ok(rooms.has(got[0][2].buffer), "the value is a view of the buffer the reads went into");
  assert.equal(new TextDecoder().decode(got[1][0]), "PING");
  assert.equal(parser.readTarget(), null, "no room is offered once the request is done");
});

Deno.test("request parser: the arguments of a request of very many arguments read, slice, map and iterate as a plain array", () => {
  const args = Array.from({ length: LAZY_ARGV_MIN + 10 }, (_, i) => enc.encode(`a${i}`));
  const input = multibulk(args);
  let argv: Uint8Array[] = [];
  const parser = new RequestParser(LIMITS, { onRequest: (a) => argv = a });
  // Across reads, as such a request arrives.
  for (let pos = 0; pos < input.length; pos += 4096) parser.feed(input.slice(pos, pos + 4096));
  const want = args.map(hex);
  assert.equal(argv.length, args.length);
  assert.equal(hex(argv[7]), want[7]);
  assert.equal(argv[7], argv[7], "an element is made once");
  assert.equal(argv[args.length], undefined);
  assert.ok(5 in argv && !(args.length in argv));
  assert.deepEqual(argv.slice(2, 5).map(hex), want.slice(2, 5));
  assert.deepEqual(argv.map(hex), want);
  assert.deepEqual([...argv].map(hex), want);
  assert.deepEqual(Array.from(argv, hex), want);
  assert.ok(Array.isArray(argv));
});

Deno.test("request parser: a request of very many arguments whole in one read, among others, has exactly its arguments, read in any order", () => {
  const rng = new Rng(11);
  // Binary arguments with CR, LF, `$` and `*` inside, empty ones and a long one: the lazy argv must walk by lengths.
  const many = Array.from({ length: LAZY_ARGV_MIN * 2 + 3 }, (_, i) => {
    const a = new Uint8Array(i === 5000 ? 70_000 : rng.int(0, 14));
    for (let j = 0; j < a.length; j++) a[j] = rng.chance(0.2) ? rng.pick([13, 10, 42, 36]) : rng.int(0, 255);
    return a;
  });
  const input = concat([enc.encode("*1\r\n$4\r\nPING\r\n"), multibulk(many), enc.encode("*1\r\n$4\r\nPING\r\n")]);
  for (const holdEvery of [0, 1]) {
    const got = parse(input, [], LIMITS, holdEvery);
    assert.equal(got.error, null);
    assert.deepEqual(got.requests.map(([argv]) => argv.length), [1, many.length, 1], `hold every ${holdEvery}`);
    assert.deepEqual(got.requests[1][0], many.map(hex), `hold every ${holdEvery}`);
    assert.equal(got.requests[1][1], hex(multibulk(many)));
  }
  // Random access first (a late argument before the early ones), then everything again.
  let argv: Uint8Array[] = [];
  const parser = new RequestParser(LIMITS, { onRequest: (a) => a.length > 1 && (argv = a) });
  parser.feed(input.slice());
  for (const i of [many.length - 1, 5000, 9, 7, 8, 0, LAZY_ARGV_MIN, 5001]) {
    assert.equal(hex(argv[i]), hex(many[i]), `${i}`);
  }
  assert.deepEqual(argv.map(hex), many.map(hex));
  assert.equal(argv[many.length], undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(argv, String(many.length - 2))?.value, many[many.length - 2]);
  // A malformed argument late in such a request is the error the one-read parse gives for a short request.
  const bad = multibulk(many);
  bad[bad.length - 2] = 88; // the last argument's CR
  for (const cuts of [[], [100], [bad.length - 10]]) {
    assert.equal(parse(bad, cuts).error, "Protocol error: bulk string is not terminated by CRLF", `cuts ${cuts}`);
  }
});
