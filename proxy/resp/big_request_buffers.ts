/**
 * Reused buffers for requests of many arguments (the bench's 400k-argument RPUSH: ~5 MB). Such a request's buffer
 * grows in a few steps toward its estimated size (`spanning_request.ts`), and each step's buffer was fresh memory: on
 * this VM a page fault per 4 KiB touched, 15-50 µs each, ~1250 of them for the final 5 MB alone. Taken from the
 * thread's pool of big buffers instead (the one big bulks use, `../../util/buffer_pool.ts`), a repeated big request
 * writes into pages already faulted in. The rule is that pool's: an outgrown step goes back at once (nothing made
 * views of it), the final buffer once the request's counted users are done with it (a request forwarded on the plain
 * path, its reply written); anything else pins it, and it is left to the collector as before.
 *
 * Bounds: sizes are rounded up to an eighth of their power of two (5.1 MiB → 5.5 MiB), so that the next request of
 * about the same size finds the same buffer; no buffer over {@link MAX_POOLED_REQUEST_BUFFER} comes from the pool (a
 * bigger request takes fresh memory, as before). The pool keeps at most 16 MiB free per thread: two such requests'
 * buffers (about 6.5 MiB each: the final buffer and the step before it); an idle proxy drops them within 2 s
 * (`trimIdleBufferPools`).
 * @module
 */
import type { PooledBuffer, SizedBufferPool } from "../../util/buffer_pool.ts";

/** The largest buffer a request of many arguments takes from the pool: half of what the pool keeps free. */
export const MAX_POOLED_REQUEST_BUFFER = 8 << 20;

/** Buffers taken for requests of many arguments: made new, or reused from the pool (for tests and the bench). */
export const bigRequestBufferCounts = { made: 0, reused: 0 };

/** `size` rounded up to a multiple of an eighth of the largest power of two not above it (at most 12.5% more). */
export function roundedRequestBufferSize(size: number): number {
  if (size <= 8) return size;
  const granule = 2 ** (Math.floor(Math.log2(size)) - 3);
  return Math.ceil(size / granule) * granule;
}

/**
 * A pooled buffer of at least `size` bytes for a request of many arguments: a free one of the pool, or a new one that
 * goes back to it once released; null when `size` is over {@link MAX_POOLED_REQUEST_BUFFER}.
 */
export function takeBigRequestBuffer(pool: SizedBufferPool, size: number): PooledBuffer | null {
  const rounded = roundedRequestBufferSize(size);
  if (rounded > MAX_POOLED_REQUEST_BUFFER) return null;
  const free = pool.find(rounded);
  if (free !== null) {
    bigRequestBufferCounts.reused++;
    return free;
  }
  bigRequestBufferCounts.made++;
  return pool.make(rounded);
}
