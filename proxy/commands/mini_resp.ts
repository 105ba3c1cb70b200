/**
 * A tiny RESP2 client for scripts and tests (table generation, differential checks).
 * Not for the hot path: it opens one connection per call and buffers whole replies.
 * @module
 */

/** A decoded RESP2 value: bulk strings stay bytes, simple strings are strings, errors are `Error`s. */
export type RespValue = Uint8Array | string | number | null | Error | RespValue[];

import { encodeCommand } from "../../redis/encode.ts";

export { encodeCommand };

/** Parses one RESP2 value at `pos`; returns undefined when the buffer is incomplete. */
export function decodeReply(buf: Uint8Array, pos = 0): { value: RespValue; end: number } | undefined {
  const lineEnd = buf.indexOf(13, pos);
  if (lineEnd < 0 || lineEnd + 1 >= buf.length) return undefined;
  const type = buf[pos];
  const line = new TextDecoder().decode(buf.subarray(pos + 1, lineEnd));
  const next = lineEnd + 2;
  switch (type) {
    case 43: // +
      return { value: line, end: next };
    case 45: // -
      return { value: new Error(line), end: next };
    case 58: // :
      return { value: Number(line), end: next };
    case 36: { // $
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (next + len + 2 > buf.length) return undefined;
      return { value: buf.slice(next, next + len), end: next + len + 2 };
    }
    case 95: // _ (RESP3 null)
      return { value: null, end: next };
    case 35: // # (RESP3 boolean)
      return { value: line === "t" ? 1 : 0, end: next };
    case 44: // , (RESP3 double)
    case 40: // ( (RESP3 big number)
      return { value: Number(line), end: next };
    case 42: // *
    case 126: // ~ (RESP3 set, decoded as an array)
    case 62: // > (RESP3 push)
    case 37: { // % (RESP3 map, decoded as a flat [k, v, ...] array)
      const n = Number(line) * (type === 37 ? 2 : 1);
      if (n < 0) return { value: null, end: next };
      const arr: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = decodeReply(buf, p);
        if (!r) return undefined;
        arr.push(r.value);
        p = r.end;
      }
      return { value: arr, end: p };
    }
    default:
      throw new Error(`unexpected RESP type byte ${type}`);
  }
}

/** Sends one command to 127.0.0.1:port (or `hostname`) and returns the decoded reply. */
export async function redisCall(
  port: number,
  args: (string | Uint8Array)[],
  hostname = "127.0.0.1",
): Promise<RespValue> {
  return decodeReply(await redisCallRaw(port, args, hostname))!.value;
}

/**
 * Sends one command and returns the exact bytes of its reply frame. `setup` commands (e.g. HELLO 3) go first on the
 * same connection; their replies are skipped.
 */
export async function redisCallRaw(
  port: number,
  args: (string | Uint8Array)[],
  hostname = "127.0.0.1",
  setup: (string | Uint8Array)[][] = [],
): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname, port });
  try {
    for (const s of setup) await conn.write(encodeCommand(s));
    await conn.write(encodeCommand(args));
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    let skip = setup.length;
    for (let i = 0; i < 100_000; i++) {
      const n = await conn.read(chunk);
      if (n === null) throw new Error("connection closed before the reply was complete");
      const grown = new Uint8Array(buf.length + n);
      grown.set(buf);
      grown.set(chunk.subarray(0, n), buf.length);
      buf = grown;
      for (let r = decodeReply(buf); r; r = decodeReply(buf)) {
        if (skip === 0) return buf.slice(0, r.end);
        skip--;
        buf = buf.slice(r.end);
      }
    }
    throw new Error("reply too large");
  } finally {
    conn.close();
  }
}
