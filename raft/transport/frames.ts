/**
 * Length-prefixed frames over a byte stream (`len u32 big-endian | body`) and the HMAC helpers of the
 * transport handshake.
 *
 * @module
 */

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ProtocolError } from "../../util/errors.ts";

/** Raised when a peer sends something that is not a well-formed, authenticated frame. */
export { ProtocolError };

/** Reads frames from a connection, buffering partial reads. */
export class FrameReader {
  private buf = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;

  /** `maxFrame` bounds frame sizes; raise it once the peer is authenticated. */
  constructor(private readonly conn: Deno.Conn, public maxFrame: number) {}

  /** The next frame body, or `null` at a clean end of stream. Throws {@link ProtocolError} on oversize frames. */
  async next(): Promise<Uint8Array | null> {
    if (!(await this.fill(4))) return null;
    const len = new DataView(this.buf.buffer, this.start, 4).getUint32(0, false);
    if (len > this.maxFrame) throw new ProtocolError(`frame of ${len} bytes exceeds the limit`);
    if (!(await this.fill(4 + len))) throw new ProtocolError("connection closed inside a frame");
    const body = this.buf.slice(this.start + 4, this.start + 4 + len);
    this.start += 4 + len;
    return body;
  }

  private async fill(n: number): Promise<boolean> {
    while (this.end - this.start < n) {
      if (this.buf.length - this.start < n) {
        const nb = new Uint8Array(Math.max(this.buf.length, n * 2));
        nb.set(this.buf.subarray(this.start, this.end));
        this.end -= this.start;
        this.start = 0;
        this.buf = nb;
      } else if (this.buf.length - this.end < 16 * 1024 && this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      const got = await this.conn.read(this.buf.subarray(this.end));
      if (got === null) {
        if (this.end - this.start === 0) return false;
        throw new ProtocolError("connection closed inside a frame");
      }
      this.end += got;
    }
    return true;
  }
}

/** Prefixes `body` with its length. */
export function frameBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(4 + len);
  new DataView(out.buffer).setUint32(0, len, false);
  let off = 4;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** HMAC-SHA256 of the concatenated parts. */
export function hmac(key: Uint8Array | string, ...parts: (Uint8Array | string)[]): Uint8Array {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Constant-time comparison of two MACs. */
export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `n` random bytes. */
export function nonce(n = 16): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

/** An 8-byte big-endian sequence number. */
export function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(seq), false);
  return b;
}
