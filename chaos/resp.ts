/**
 * A deliberately small RESP2 client for the workloads: one connection, one request at a time, a deadline per
 * request. It never retries and never reconnects on its own, so every outcome is one of three things the history
 * can record honestly: a reply, an error reply, or unknown (timeout, connection lost: the command may have run).
 * @module
 */

/** A RESP2 reply. */
export type Reply = string | number | null | ReplyError | Reply[];

/** An error reply (`-ERR ...`): the command was refused, so it did not take effect. */
export class ReplyError extends Error {}

/** The connection failed or the deadline passed: the command may or may not have taken effect. */
export class UnknownOutcome extends Error {}

const enc = new TextEncoder();
const dec = new TextDecoder();

function encode(args: string[]): Uint8Array {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${enc.encode(a).length}\r\n${a}\r\n`;
  return enc.encode(s);
}

/** Parses one reply from `buf` at `pos`; undefined when incomplete. */
function parse(buf: Uint8Array, pos: number): { reply: Reply; end: number } | undefined {
  const eol = buf.indexOf(13, pos);
  if (eol < 0 || eol + 1 >= buf.length) return undefined;
  const line = dec.decode(buf.subarray(pos + 1, eol));
  const next = eol + 2;
  switch (buf[pos]) {
    case 43: // +
      return { reply: line, end: next };
    case 45: // -
      return { reply: new ReplyError(line), end: next };
    case 58: // :
      return { reply: Number(line), end: next };
    case 36: { // $
      const n = Number(line);
      if (n < 0) return { reply: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      return { reply: dec.decode(buf.subarray(next, next + n)), end: next + n + 2 };
    }
    case 42: { // *
      const n = Number(line);
      if (n < 0) return { reply: null, end: next };
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, at);
        if (!r) return undefined;
        items.push(r.reply);
        at = r.end;
      }
      return { reply: items, end: at };
    }
    default:
      throw new Error(`bad RESP type byte ${buf[pos]}`);
  }
}

/** One client connection to `host:port`, opened on first use and after any unknown outcome. */
export class RespClient {
  #conn: Deno.TcpConn | undefined;
  #buf = new Uint8Array(0);

  constructor(readonly host: string, readonly port: number) {}

  /** Sends one command and waits at most `timeoutMs` for its reply. */
  async call(args: string[], timeoutMs: number): Promise<Reply> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnknownOutcome(`timeout after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.#roundTrip(args), deadline]);
    } catch (e) {
      this.close();
      if (e instanceof UnknownOutcome) throw e;
      throw new UnknownOutcome((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  async #roundTrip(args: string[]): Promise<Reply> {
    if (!this.#conn) {
      this.#conn = await Deno.connect({ hostname: this.host, port: this.port });
      this.#conn.setNoDelay(true);
      this.#buf = new Uint8Array(0);
    }
    const conn = this.#conn;
    const out = encode(args);
    for (let off = 0; off < out.length;) off += await conn.write(out.subarray(off));
    const chunk = new Uint8Array(16384);
    for (;;) {
      if (this.#buf.length > 0) {
        const r = parse(this.#buf, 0);
        if (r) {
          this.#buf = this.#buf.slice(r.end);
          return r.reply;
        }
      }
      const n = await conn.read(chunk);
      if (n === null) throw new UnknownOutcome("connection closed");
      const grown = new Uint8Array(this.#buf.length + n);
      grown.set(this.#buf);
      grown.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = grown;
    }
  }

  /** Closes the connection (the next call opens a new one). */
  close(): void {
    try {
      this.#conn?.close();
    } catch { /* closed */ }
    this.#conn = undefined;
    this.#buf = new Uint8Array(0);
  }
}
