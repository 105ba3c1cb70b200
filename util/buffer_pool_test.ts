import { deepEqual, equal, ok } from "node:assert/strict";
import {
  BufferPool,
  POISON_BYTE,
  setPoisonReusedBuffers,
  SizedBufferPool,
  trimIdleBufferPools,
} from "./buffer_pool.ts";

Deno.test("buffer pool: a buffer comes back only once retired, unpinned and without users", () => {
  const pool = new BufferPool(16, 4);
  const a = pool.take();
  a.users += 2;
  a.retire();
  equal(pool.free, 0, "users still read it");
  a.release();
  equal(pool.free, 0, "one user still reads it");
  a.release();
  equal(pool.free, 1, "back once the last user is done");
  const b = pool.take();
  ok(b === a, "the free buffer is taken again");
  deepEqual([b.users, b.pinned, b.retired], [0, false, false]);
  b.users++;
  b.release();
  equal(pool.free, 0, "not back while its writer still writes into it");
  b.retire();
  equal(pool.free, 1);
});

Deno.test("buffer pool: a pinned buffer is never reused, and a release too many does not put a buffer in twice", () => {
  const pool = new BufferPool(16, 4);
  const a = pool.take();
  a.users++;
  a.pin();
  a.retire();
  a.release();
  equal(pool.free, 0, "pinned: left to the collector");
  const b = pool.take();
  ok(b !== a);
  b.retire();
  equal(pool.free, 1);
  b.retire();
  b.users = 1;
  b.release();
  equal(pool.free, 1, "already free: not added again");
});

Deno.test("buffer pool: at most maxFree buffers are kept, and an idle pool drops them", () => {
  const pool = new BufferPool(16, 2);
  const bufs = [pool.take(), pool.take(), pool.take()];
  for (const b of bufs) b.retire();
  equal(pool.free, 2);
  trimIdleBufferPools(); // taken from since the last trim: kept
  equal(pool.free, 2);
  trimIdleBufferPools(); // nothing taken since: dropped
  equal(pool.free, 0);
});

Deno.test("buffer pool: with the poison on, a released buffer is filled with the poison byte", () => {
  setPoisonReusedBuffers(true);
  try {
    const pool = new BufferPool(8, 2);
    const a = pool.take();
    a.bytes.fill(1);
    const view = a.bytes.subarray(2, 5);
    a.retire();
    deepEqual([...view], [POISON_BYTE, POISON_BYTE, POISON_BYTE], "a view that outlived its buffer reads poison");
  } finally {
    setPoisonReusedBuffers(false);
  }
});

Deno.test("sized buffer pool: takes the smallest free buffer of need to twice need, within its byte and count bounds", () => {
  const pool = new SizedBufferPool(1000, 3);
  for (const size of [100, 300, 500, 900]) pool.make(size).retire();
  equal(pool.freeBytes, 900, "900 was over the byte bound");
  equal(pool.find(600), null, "none of 600 to 1200 bytes");
  equal(pool.find(250)?.bytes.length, 300);
  equal(pool.find(90)?.bytes.length, 100);
  equal(pool.find(40), null, "100 is more than twice 40 (and taken)");
  equal(pool.freeBytes, 500);
  for (const size of [10, 20, 30]) pool.make(size).retire();
  equal(pool.freeBytes, 500 + 10 + 20, "at most 3 buffers free");
});
