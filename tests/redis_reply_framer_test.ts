/**
 * The backend reply framer (redis/reply_framer.ts) fed the same replies in different pieces: every split point,
 * seeded random splits, one byte at a time, a big array and a big bulk in many reads. The replies it hands out must
 * not depend on where the reads end.
 * @module
 */
import assert from "node:assert/strict";
import { ReplyFramer } from "../redis/reply_framer.ts";
import { Rng } from "../raft/sim/prng.ts";
import { concat } from "../util/bytes.ts";

const enc = new TextEncoder();

/** One random reply, RESP2 and RESP3 types, arrays and maps nested up to `depth`. */
function randomReply(rng: Rng, depth: number): Uint8Array {
  const kind = rng.int(0, depth > 0 ? 9 : 6);
  switch (kind) {
    case 0:
      return enc.encode(rng.pick(["+OK\r\n", "+QUEUED\r\n", "-ERR no\r\n", ":42\r\n", ":-1\r\n", "_\r\n"]));
    case 1:
      return enc.encode("$-1\r\n");
    case 2:
      return enc.encode(rng.pick(["#t\r\n", ",3.14\r\n", "(12345678901234567890\r\n"]));
    case 7:
    case 8: {
      const n = rng.int(0, 5);
      const head = enc.encode(`${rng.pick(["*", "~", ">"])}${n}\r\n`);
      return concat([head, ...Array.from({ length: n }, () => randomReply(rng, depth - 1))]);
    }
    case 9: {
      const n = rng.int(0, 3);
      const items = Array.from({ length: 2 * n }, () => randomReply(rng, depth - 1));
      return concat([enc.encode(`%${n}\r\n`), ...items]);
    }
    default: {
      const v = new Uint8Array(rng.int(0, rng.pick([5, 50, 3000])));
      for (let i = 0; i < v.length; i++) v[i] = rng.chance(0.1) ? rng.pick([13, 10, 36, 42]) : rng.int(0, 255);
      return concat([enc.encode(`$${v.length}\r\n`), v, enc.encode("\r\n")]);
    }
  }
}

/** The replies framed from `input` cut at `cuts`, each as hex; the framer is fed fresh copies of each piece. */
function frame(input: Uint8Array, cuts: number[]): string[] {
  const out: string[] = [];
  const f = new ReplyFramer((raw) => out.push(Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join("")));
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    f.feed(input.slice(from, cut));
    from = cut;
  }
  return out;
}

/** The first difference between two framings, short, or null. */
function difference(got: string[], want: string[]): string | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] !== want[i]) return `reply ${i}: ${got[i]?.slice(0, 80)}, want ${want[i]?.slice(0, 80)}`;
  }
  return null;
}

Deno.test("reply framer: replies split at every byte boundary frame as in one read", () => {
  const rng = new Rng(3);
  const replies = Array.from({ length: 12 }, () => randomReply(rng, 2));
  const input = concat(replies);
  const whole = frame(input, []);
  assert.equal(whole.length, replies.length);
  for (let cut = 1; cut < input.length; cut++) assert.equal(difference(frame(input, [cut]), whole), null, `cut ${cut}`);
  const bytes = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
  assert.equal(difference(frame(input, bytes), whole), null, "one byte per read");
});

Deno.test("reply framer: seeded random splits of random replies frame as in one read", () => {
  for (let seed = 1; seed <= 50; seed++) {
    const rng = new Rng(seed);
    const replies = Array.from({ length: rng.int(1, 40) }, () => randomReply(rng, 3));
    const input = concat(replies);
    const whole = frame(input, []);
    assert.equal(whole.length, replies.length, `seed ${seed}`);
    const cuts = new Set<number>();
    for (let i = rng.int(1, 30); i > 0; i--) cuts.add(rng.int(1, Math.max(1, input.length - 1)));
    const sorted = [...cuts].sort((a, b) => a - b);
    assert.equal(difference(frame(input, sorted), whole), null, `seed ${seed}, cuts ${sorted}`);
  }
});

Deno.test("reply framer: an array of 200k bulks in 4 KB reads, and a 64 MB bulk in 64 KB reads, arrive whole", () => {
  const items = Array.from({ length: 200_000 }, (_, i) => enc.encode(`$${String(i).length}\r\n${i}\r\n`));
  const array = concat([enc.encode("*200000\r\n"), ...items]);
  const value = new Uint8Array(64 << 20).fill(120);
  const bulk = concat([enc.encode(`$${value.length}\r\n`), value, enc.encode("\r\n+OK\r\n")]);
  for (const [input, piece, count] of [[array, 4096, 1], [bulk, 65536, 2]] as const) {
    const got: Uint8Array[] = [];
    const f = new ReplyFramer((raw) => got.push(raw));
    for (let off = 0; off < input.length; off += piece) f.feed(input.subarray(off, off + piece));
    assert.equal(got.length, count);
    assert.equal(got[0].length, count === 1 ? input.length : input.length - 5);
    assert.equal(got[0][got[0].length - 3], count === 1 ? 57 : 120); // the last byte of "199999", of the value
  }
});

Deno.test("reply framer: a big bulk read into the room it offers arrives whole in a buffer of its size, with the next reply after it", () => {
  const value = new Uint8Array(1 << 20).map((_, i) => (i * 13 + 1) & 0xff);
  const input = concat([enc.encode(`$${value.length}\r\n`), value, enc.encode("\r\n+OK\r\n")]);
  const got: Uint8Array[] = [];
  const buffers: number[] = [];
  const framer = new ReplyFramer((raw) => {
    got.push(raw.slice());
    buffers.push(raw.buffer.byteLength);
  });
  let pos = 70_000;
  framer.feed(input.slice(0, pos));
  let direct = 0;
  for (let i = 0; i < 1000 && pos < input.length; i++) {
    const room = framer.readTarget();
    if (room === null) {
      framer.feed(input.slice(pos));
      pos = input.length;
      break;
    }
    const n = Math.min(room.length, 100_000, input.length - pos);
    room.set(input.subarray(pos, pos + n));
    framer.feed(room.subarray(0, n));
    pos += n;
    direct += n;
  }
  assert.equal(pos, input.length);
  assert.ok(direct > 900_000, `only ${direct} bytes were read in place`);
  assert.equal(got.length, 2);
  assert.deepEqual(got[0], input.subarray(0, input.length - 5));
  assert.equal(new TextDecoder().decode(got[1]), "+OK\r\n");
  // Its tail came with the reply after it: the bulk's buffer still ends with it (it was not grown for that reply).
  assert.equal(buffers[0], got[0].length);
  assert.equal(framer.readTarget(), null);
});

/** A random stream of small replies and big ones (bulks and arrays of bulks past the 64 KiB direct-read mark). */
function mixedStream(rng: Rng): { input: Uint8Array; count: number } {
  const big = (n: number) => {
    const v = new Uint8Array(n).map(() => rng.chance(0.05) ? rng.pick([13, 10, 36, 42, 72]) : rng.int(0, 255));
    return concat([enc.encode(`$${n}\r\n`), v, enc.encode("\r\n")]);
  };
  const sizes = [65_535, 65_536, 65_537, 65_540, 70_000, 131_072, 300_000];
  const parts: Uint8Array[] = [];
  const count = rng.int(5, 25);
  for (let i = count; i > 0; i--) {
    const kind = rng.int(0, 3);
    if (kind === 0) parts.push(big(rng.pick(sizes)));
    else if (kind === 1) {
      const n = rng.int(1, 4);
      parts.push(
        enc.encode(`*${n}\r\n`),
        ...Array.from({ length: n }, () => rng.chance(0.5) ? big(rng.pick(sizes)) : randomReply(rng, 1)),
      );
    } else parts.push(randomReply(rng, 2));
  }
  return { input: concat(parts), count };
}

/**
 * Feeds `input` the way redis/socket.ts does: when the framer offers room for a big bulk, a read fills part or all
 * of it (never past it); otherwise a read lands in the free tail of a slab that is never written twice. Returns the
 * replies handed out (the views themselves) and how many reads went into the offered room.
 */
function feedLikeSocket(input: Uint8Array, rng: Rng): { replies: Uint8Array[]; direct: number } {
  const replies: Uint8Array[] = [];
  const framer = new ReplyFramer((raw) => replies.push(raw));
  let slab = new Uint8Array(64 * 1024);
  let used = 0;
  let direct = 0;
  for (let pos = 0, reads = 0; pos < input.length && reads < 1_000_000; reads++) {
    const room = framer.readTarget();
    // A read returns what has arrived: often a little, sometimes all there is room for.
    const arrived = rng.chance(0.3) ? rng.int(1, 16) : rng.int(1, rng.pick([600, 20_000, 200_000]));
    const n = Math.min(arrived, input.length - pos, room?.length ?? Infinity);
    if (room !== null) {
      room.set(input.subarray(pos, pos + n));
      framer.feed(room.subarray(0, n));
      direct++;
    } else {
      if (slab.length - used < n) {
        slab = new Uint8Array(Math.max(64 * 1024, n));
        used = 0;
      }
      slab.set(input.subarray(pos, pos + n), used);
      framer.feed(slab.subarray(used, used + n));
      used += n;
    }
    pos += n;
  }
  return { replies, direct };
}

/** Whether two byte ranges are equal. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test("reply framer: seeded streams read partly into the room it offers frame as in one read, and stay so", () => {
  let direct = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new Rng(1000 + seed);
    const { input, count } = mixedStream(rng);
    const whole: Uint8Array[] = [];
    new ReplyFramer((raw) => whole.push(raw)).feed(input);
    assert.equal(whole.length, count, `seed ${seed}`);
    const got = feedLikeSocket(input, rng);
    // Compared once every read is done: a view handed out early must not have changed under later reads.
    assert.equal(got.replies.length, whole.length, `seed ${seed}`);
    got.replies.forEach((raw, i) => assert.ok(sameBytes(raw, whole[i]), `seed ${seed}, reply ${i}`));
    direct += got.direct;
  }
  assert.ok(direct > 200, `only ${direct} reads went into the offered room`);
});

Deno.test("reply framer: reset drops a half-read big bulk; the next stream frames from its first byte", () => {
  const got: string[] = [];
  const framer = new ReplyFramer((raw) => got.push(new TextDecoder().decode(raw)));
  framer.feed(enc.encode(`$200000\r\n${"x".repeat(70_000)}`));
  const room = framer.readTarget();
  assert.ok(room !== null && room.length === 200_002 - 70_000);
  room.set(enc.encode("y".repeat(1000)));
  framer.feed(room.subarray(0, 1000));
  framer.reset();
  assert.equal(framer.readTarget(), null);
  framer.feed(enc.encode("+PONG\r\n$2\r\nhi\r\n:1"));
  framer.feed(enc.encode("\r\n"));
  assert.deepEqual(got, ["+PONG\r\n", "$2\r\nhi\r\n", ":1\r\n"]);
});
