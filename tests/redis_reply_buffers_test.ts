/**
 * The pool of reply buffers (redis/reply_buffers.ts) and the pooled reply framer: when a buffer may be written again
 * (retired, every adopted view released, nothing pinned), what a view nobody adopts does, the poison fill, the
 * bounds, and the trim that empties the pool of an idle proxy.
 * @module
 */
const POISON_ENV = "CODIS_POISON_REUSED_BUFFERS";
const poisonWasSet = Deno.env.get(POISON_ENV) !== undefined;
Deno.env.set(POISON_ENV, "1");

import assert from "node:assert/strict";
import {
  adoptReply,
  endLend,
  lendReply,
  MAX_POOLED_BYTES,
  POISON_BYTE,
  poisonReusedBuffers,
  pooledReplyBuffers,
  releaseReply,
  retireReplyBuffer,
  takeReplyBuffer,
  trimReplyBuffers,
} from "../redis/reply_buffers.ts";
import { ReplyFramer } from "../redis/reply_framer.ts";

assert.equal(poisonReusedBuffers(), true);
if (!poisonWasSet) Deno.env.delete(POISON_ENV);

/** Empties the pool (two trims with nothing taken in between). */
function emptyPool(): void {
  trimReplyBuffers();
  trimReplyBuffers();
  assert.equal(pooledReplyBuffers().buffers, 0);
}

Deno.test("reply buffers: a buffer returns to the pool only once retired and every adopted view is released", () => {
  emptyPool();
  const b = takeReplyBuffer(64 * 1024);
  b.bytes.fill(1);
  const v1 = b.bytes.subarray(0, 10);
  const v2 = b.bytes.subarray(10, 20);
  lendReply(v1, b);
  assert.equal(adoptReply(v1), b);
  endLend();
  lendReply(v2, b);
  assert.equal(adoptReply(v1), null, "only the view being delivered can be adopted");
  assert.equal(adoptReply(v2), b);
  assert.equal(adoptReply(v2), null, "a view is adopted once");
  endLend();
  releaseReply(b);
  assert.equal(pooledReplyBuffers().buffers, 0, "not retired yet");
  retireReplyBuffer(b);
  assert.equal(pooledReplyBuffers().buffers, 0, "a view still adopted");
  assert.equal(v2[0], 1);
  releaseReply(b);
  assert.equal(pooledReplyBuffers().buffers, 1);
  assert.equal(v2[0], POISON_BYTE, "poisoned as it went back");
  assert.equal(takeReplyBuffer(60_000), b, "taken again");
  emptyPool();
});

Deno.test("reply buffers: a view nobody adopts pins its buffer for good", () => {
  emptyPool();
  const b = takeReplyBuffer(4096);
  lendReply(b.bytes.subarray(0, 5), b);
  endLend(); // (delivered to a consumer that keeps no account)
  retireReplyBuffer(b);
  assert.equal(pooledReplyBuffers().buffers, 0);
  assert.equal(b.pinned, true);
  // An adopted view of a pinned buffer: released, still not reused.
  const c = takeReplyBuffer(4096);
  lendReply(c.bytes.subarray(0, 5), c);
  adoptReply(c.bytes.subarray(0, 5)); // (another object for the same bytes: not the view lent)
  endLend();
  retireReplyBuffer(c);
  assert.equal(pooledReplyBuffers().buffers, 0, "a different view object is not the one lent");
});

Deno.test("reply buffers: the pool is bounded and an idle pool empties within two trims", () => {
  emptyPool();
  const taken = Array.from({ length: 40 }, () => takeReplyBuffer(1 << 20));
  for (const b of taken) retireReplyBuffer(b);
  const { bytes } = pooledReplyBuffers();
  assert.ok(bytes <= MAX_POOLED_BYTES && bytes > 0, `${bytes} bytes pooled`);
  const huge = takeReplyBuffer(32 << 20);
  retireReplyBuffer(huge);
  assert.equal(pooledReplyBuffers().bytes, bytes, "a buffer over the size limit is not pooled");
  trimReplyBuffers(); // (taken from since the last trim: the low-water mark was 0)
  trimReplyBuffers();
  assert.equal(pooledReplyBuffers().buffers, 0);
});

Deno.test("reply buffers: a pooled framer's big reply keeps its bytes while adopted, and its buffer is reused after", () => {
  emptyPool();
  const value = new Uint8Array(200_000).map((_, i) => i % 251);
  const head = new TextEncoder().encode(`$${value.length}\r\n`);
  const got: { raw: Uint8Array; from: ReturnType<typeof adoptReply> }[] = [];
  const framer = new ReplyFramer((raw) => got.push({ raw, from: adoptReply(raw) }), true);
  framer.feed(head);
  framer.feed(value.subarray(0, 100_000));
  framer.feed(value.subarray(100_000));
  framer.feed(new Uint8Array([13, 10]));
  assert.equal(got.length, 1);
  const { raw, from } = got[0];
  assert.ok(from !== null, "the reply was lent");
  assert.deepEqual(raw.subarray(head.length, head.length + value.length), value);
  assert.equal(pooledReplyBuffers().buffers, 0, "its buffer waits for the release");
  releaseReply(from);
  assert.equal(pooledReplyBuffers().buffers, 1);
  assert.equal(raw[0], POISON_BYTE);
  emptyPool();
});

Deno.test("reply buffers: a lend within another view's delivery pins that view's buffer unless it was adopted", () => {
  emptyPool();
  const outer = takeReplyBuffer(4096);
  const inner = takeReplyBuffer(4096);
  const o = outer.bytes.subarray(0, 4);
  const i = inner.bytes.subarray(0, 4);
  lendReply(o, outer); // (delivered to a consumer that makes a reply of its own and delivers it)
  lendReply(i, inner);
  assert.equal(adoptReply(i), inner);
  endLend();
  assert.equal(adoptReply(o), null, "the outer view can no longer be adopted");
  endLend();
  assert.equal(outer.pinned, true);
  assert.equal(inner.pinned, false);
  retireReplyBuffer(outer);
  retireReplyBuffer(inner);
  releaseReply(inner);
  assert.equal(pooledReplyBuffers().buffers, 1, "only the adopted one is reused");
  emptyPool();
});
