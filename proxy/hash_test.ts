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
