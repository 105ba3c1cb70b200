import assert from "node:assert/strict";
import { encodeCommand } from "../../redis/encode.ts";
import { MigrateEncoder, pageKeys, parseScanPage } from "./scan_batch.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function scanReply(cursor: string, keys: (string | Uint8Array)[]): Uint8Array {
  const parts = [`*2\r\n$${cursor.length}\r\n${cursor}\r\n*${keys.length}\r\n`];
  const bytes: number[] = [...enc.encode(parts[0])];
  for (const k of keys) {
    const b = typeof k === "string" ? enc.encode(k) : k;
    bytes.push(...enc.encode(`$${b.length}\r\n`), ...b, 13, 10);
  }
  return new Uint8Array(bytes);
}

Deno.test("parseScanPage reads the cursor and the bounds of each key, binary keys included", () => {
  const binary = new Uint8Array([0, 13, 10, 255]);
  const page = parseScanPage(scanReply("1536", ["a", "{tag}key:1", binary, ""]));
  assert.equal(page.cursor, "1536");
  assert.equal(page.bounds.length, 5);
  const keys = pageKeys(page, 0, 4);
  assert.deepEqual(keys.map((k) => Array.from(k)), [
    Array.from(enc.encode("a")),
    Array.from(enc.encode("{tag}key:1")),
    Array.from(binary),
    [],
  ]);
  assert.deepEqual(pageKeys(page, 1, 2).map((k) => dec.decode(k)), ["{tag}key:1"]);
});

Deno.test("parseScanPage accepts an empty page and the final cursor", () => {
  const page = parseScanPage(scanReply("0", []));
  assert.equal(page.cursor, "0");
  assert.deepEqual(page.bounds, [page.raw.length]);
});

Deno.test("MigrateEncoder output equals encoding the whole command argument by argument", () => {
  const head = ["MIGRATE", "127.0.0.1", "6380", "", "423", "30000", "AUTH", "s3cret", "KEYS"];
  const keys = ["k1", "{x}k2", "k3", "key-number-four"];
  const page = parseScanPage(scanReply("77", keys));
  const encoder = new MigrateEncoder(head);
  assert.deepEqual(encoder.encode(page, 0, 4), encodeCommand([...head, ...keys]));
  assert.deepEqual(encoder.encode(page, 1, 3), encodeCommand([...head, "{x}k2", "k3"]));
});

Deno.test("parseScanPage refuses replies of another shape instead of sending garbage to MIGRATE", () => {
  const bad = [
    "-ERR nope\r\n",
    "*3\r\n$1\r\n0\r\n*0\r\n",
    "*2\r\n$1\r\n0\r\n$1\r\nx\r\n",
    "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n", // one key short
    "*2\r\n$1\r\n0\r\n*1\r\n$9\r\nab\r\n", // bulk longer than the reply
    "*2\r\n$1\r\n0\r\n*1\r\n:5\r\n",
  ];
  for (const text of bad) assert.throws(() => parseScanPage(enc.encode(text)), /SCAN reply/, text);
});
