/**
 * RESP2 encoders for the replies the proxy makes itself and the commands it sends on its own behalf.
 * @module
 */
import { concat } from "../util/bytes.ts";

const encoder = new TextEncoder();

/** `+OK\r\n` */
export const OK = encoder.encode("+OK\r\n");
/** Redis Cluster's error for a command whose keys span slots. */
export const CROSSSLOT = encoder.encode("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
/** `+PONG\r\n` */
export const PONG = encoder.encode("+PONG\r\n");
/** `$-1\r\n` */
export const NULL_BULK = encoder.encode("$-1\r\n");
/** `*-1\r\n` */
export const NULL_ARRAY = encoder.encode("*-1\r\n");

/** `-<msg>\r\n`; CR and LF in `msg` are replaced by spaces so the reply stays one line. */
export function errorReply(msg: string): Uint8Array {
  return encoder.encode(`-${msg.replace(/[\r\n]+/g, " ")}\r\n`);
}

/** `+<msg>\r\n` */
export function simpleReply(msg: string): Uint8Array {
  return encoder.encode(`+${msg}\r\n`);
}

/** `:<n>\r\n` */
export function integerReply(n: number | bigint): Uint8Array {
  return encoder.encode(`:${n}\r\n`);
}

/** A bulk string reply, from text (UTF-8) or bytes; null gives the null bulk. */
export function bulkReply(v: string | Uint8Array | null): Uint8Array {
  if (v === null) return NULL_BULK;
  const body = typeof v === "string" ? encoder.encode(v) : v;
  const head = encoder.encode(`$${body.length}\r\n`);
  const out = new Uint8Array(head.length + body.length + 2);
  out.set(head, 0);
  out.set(body, head.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** A nested value the proxy can encode as a RESP2 reply. */
export type ReplyValue = string | number | bigint | Uint8Array | null | ReplyValue[] | { raw: Uint8Array };

/** Encodes a nested value: strings and bytes become bulk strings, numbers integers, `{raw}` is copied verbatim. */
export function encodeValue(v: ReplyValue): Uint8Array {
  const parts: Uint8Array[] = [];
  collect(v, parts);
  return concat(parts);
}

function collect(v: ReplyValue, parts: Uint8Array[]): void {
  if (v === null) parts.push(NULL_BULK);
  else if (typeof v === "number" || typeof v === "bigint") parts.push(integerReply(v));
  else if (typeof v === "string" || v instanceof Uint8Array) parts.push(bulkReply(v));
  else if (Array.isArray(v)) {
    parts.push(encoder.encode(`*${v.length}\r\n`));
    for (const e of v) collect(e, parts);
  } else parts.push(v.raw);
}

/** Encodes a command as a RESP multibulk array, into one allocation. */
export function encodeCommand(args: (string | Uint8Array)[]): Uint8Array {
  const n = args.length;
  const bytes: Uint8Array[] = new Array(n);
  let size = 1 + digits(n) + 2;
  for (let i = 0; i < n; i++) {
    const a = args[i];
    const b = typeof a === "string" ? encoder.encode(a) : a;
    bytes[i] = b;
    size += bulkSize(b);
  }
  const out = new Uint8Array(size);
  let off = writeArrayHeader(out, 0, n);
  for (let i = 0; i < n; i++) off = writeBulk(out, off, bytes[i]);
  return out;
}

/** Decimal digits of a non-negative integer. */
export function digits(v: number): number {
  let d = 1;
  while (v >= 10) {
    v = Math.floor(v / 10);
    d++;
  }
  return d;
}

/** Bytes `b` takes as a RESP bulk string (`$len\r\n...\r\n`). */
export function bulkSize(b: Uint8Array): number {
  return 1 + digits(b.length) + 2 + b.length + 2;
}

/** Writes `*n\r\n` at `off`; returns the offset after it. */
export function writeArrayHeader(out: Uint8Array, off: number, n: number): number {
  out[off++] = 42; // *
  off = writeUint(out, off, n);
  out[off++] = 13;
  out[off++] = 10;
  return off;
}

/** Writes `b` as a bulk string at `off`; returns the offset after it. */
export function writeBulk(out: Uint8Array, off: number, b: Uint8Array): number {
  out[off++] = 36; // $
  off = writeUint(out, off, b.length);
  out[off++] = 13;
  out[off++] = 10;
  out.set(b, off);
  off += b.length;
  out[off++] = 13;
  out[off++] = 10;
  return off;
}

function writeUint(out: Uint8Array, off: number, v: number): number {
  const d = digits(v);
  for (let i = off + d - 1; i >= off; i--) {
    out[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return off + d;
}

export { concat };
