import { deepEqual } from "node:assert/strict";
import { encodeCommand } from "./encode.ts";

Deno.test("encodeCommand writes RESP multibulk with exact lengths", () => {
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  deepEqual(dec(encodeCommand(["SET", "k", "héllo"])), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nhéllo\r\n");
  const big = new Uint8Array(12345).fill(120);
  const out = encodeCommand(["X", big, ""]);
  deepEqual(dec(out.subarray(0, 19)), "*3\r\n$1\r\nX\r\n$12345\r\n");
  deepEqual(dec(out.subarray(out.length - 8)), "\r\n$0\r\n\r\n");
});
