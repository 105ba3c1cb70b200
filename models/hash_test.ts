import { deepEqual as assertEquals } from "node:assert/strict";
import { crc32, slotOf } from "./hash.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("crc32 matches the IEEE check value", () => {
  assertEquals(crc32(enc("123456789")), 0xcbf43926);
});

Deno.test("slotOf follows Codis's hash-tag rule", () => {
  assertEquals(slotOf(enc("{user1}.name")), slotOf(enc("user1")));
  assertEquals(slotOf(enc("a{user1}b{x}")), slotOf(enc("user1")));
  // An empty tag hashes the empty string: slot 0 (Redis Cluster would hash the whole key).
  assertEquals(slotOf(enc("{}abc")), 0);
  // A '{' without a later '}' hashes the whole key.
  assertEquals(slotOf(enc("abc{def")), crc32(enc("abc{def")) % 1024);
  assertEquals(slotOf(enc("foo")), crc32(enc("foo")) % 1024);
});

Deno.test("crc32 over every length and offset agrees with the bit-by-bit definition", () => {
  const bitwise = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  };
  const data = new Uint8Array(64).map((_, i) => (i * 151 + 7) & 0xff);
  for (let start = 0; start < 8; start++) {
    for (let end = start; end <= data.length; end++) {
      assertEquals(crc32(data, start, end), bitwise(data.subarray(start, end)), `[${start}, ${end})`);
    }
  }
});
