/**
 * A raw RESP connection for pipelines of binary values: writes bytes in pieces of a chosen size (so that requests span
 * the server's reads), and reads replies back as raw bytes, in order.
 * @module
 */
import { scanReply } from "../redis/reply_framer.ts";
import { concat } from "../util/bytes.ts";

/** `parts` as one buffer (the one part itself when there is only one). */
export const concatBytes: (parts: Uint8Array[]) => Uint8Array = concat;

const enc = new TextEncoder();

/** One command as RESP bytes. */
export function respCommand(...args: (string | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [enc.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? enc.encode(a) : a;
    parts.push(enc.encode(`$${b.length}\r\n`), b, enc.encode("\r\n"));
  }
  return concat(parts);
}

/** A raw connection to a RESP server. */
export class RawPipe {
  readonly conn: Deno.TcpConn;
  #buf = new Uint8Array(64 * 1024);
  #len = 0;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async connect(port: number): Promise<RawPipe> {
    return new RawPipe(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes `bytes` in writes of `piece(i)` bytes each (all at once without `piece`). */
  async write(bytes: Uint8Array, piece?: (i: number) => number): Promise<void> {
    let off = 0;
    for (let i = 0; off < bytes.length; i++) {
      const end = piece === undefined ? bytes.length : Math.min(bytes.length, off + Math.max(1, piece(i)));
      for (let k = off; k < end;) k += await this.conn.write(bytes.subarray(k, end));
      off = end;
    }
  }

  /** Reads the next `n` replies, each as its raw bytes; throws when they do not all come within `timeoutMs`. */
  async replies(n: number, timeoutMs = 30_000): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    const deadline = Date.now() + timeoutMs;
    let pos = 0;
    while (out.length < n) {
      const end = pos < this.#len ? scanReply(this.#buf.subarray(0, this.#len), pos) : -1;
      if (end >= 0) {
        out.push(this.#buf.slice(pos, end));
        pos = end;
        continue;
      }
      this.#buf.copyWithin(0, pos, this.#len);
      this.#len -= pos;
      pos = 0;
      if (this.#buf.length - this.#len < 16 * 1024) {
        const grown = new Uint8Array(2 * this.#buf.length);
        grown.set(this.#buf.subarray(0, this.#len));
        this.#buf = grown;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${out.length} of ${n} replies within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        this.conn.read(this.#buf.subarray(this.#len)),
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
      ]).finally(() => clearTimeout(timer));
      if (got === "timeout") continue;
      if (got === null) throw new Error(`connection closed after ${out.length} of ${n} replies`);
      this.#len += got;
    }
    this.#buf.copyWithin(0, pos, this.#len);
    this.#len -= pos;
    return out;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}
