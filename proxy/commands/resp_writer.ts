/**
 * A small growable RESP writer for replies the proxy builds itself (COMMAND and friends). RESP2 by default; with
 * `resp3` maps, sets and nulls use their RESP3 types.
 * @module
 */

const enc = new TextEncoder();

/** Builds one or more RESP frames into a single byte array. */
export class RespWriter {
  #buf = new Uint8Array(4096);
  #len = 0;

  constructor(readonly resp3 = false) {}

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const g = new Uint8Array(cap);
    g.set(this.#buf.subarray(0, this.#len));
    this.#buf = g;
  }

  #ascii(s: string): void {
    this.#ensure(s.length);
    for (let i = 0; i < s.length; i++) this.#buf[this.#len++] = s.charCodeAt(i);
  }

  /** Raw bytes, already framed. */
  raw(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** A bulk string (UTF-8 for strings). */
  bulk(v: string | Uint8Array): this {
    const b = typeof v === "string" ? enc.encode(v) : v;
    this.#ascii(`$${b.length}\r\n`);
    this.raw(b);
    this.#ascii("\r\n");
    return this;
  }

  /** A simple string; CR/LF must not appear in it. */
  status(s: string): this {
    this.raw(enc.encode(`+${s}\r\n`));
    return this;
  }

  /** An error (`ERR ...`); CR/LF must not appear in it. */
  error(s: string): this {
    this.raw(enc.encode(`-${s}\r\n`));
    return this;
  }

  /** An integer. */
  int(n: number): this {
    this.#ascii(`:${n}\r\n`);
    return this;
  }

  /** An array header. */
  array(n: number): this {
    this.#ascii(`*${n}\r\n`);
    return this;
  }

  /** A map header of `n` pairs (flattened to an array of 2n in RESP2). */
  map(n: number): this {
    this.#ascii(this.resp3 ? `%${n}\r\n` : `*${n * 2}\r\n`);
    return this;
  }

  /** A set header. */
  set(n: number): this {
    this.#ascii(this.resp3 ? `~${n}\r\n` : `*${n}\r\n`);
    return this;
  }

  /** A null (`$-1` in RESP2, `_` in RESP3). */
  null(): this {
    this.#ascii(this.resp3 ? "_\r\n" : "$-1\r\n");
    return this;
  }

  /** The bytes written so far (a copy). */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
