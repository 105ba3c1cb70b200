/**
 * Decoding of whole replies, for the few places that must look inside one: coalescing split commands and the
 * proxy's own queries to backends (INFO, COMMAND, CONFIG GET). The forwarding path never decodes.
 * @module
 */
import { parseIntStrict } from "../util/bytes.ts";
import { scanReply } from "./reply_framer.ts";

/** An error reply from Redis. */
export class RespError {
  constructor(readonly message: string) {}
}

/** A decoded reply: bulk strings stay bytes, simple strings become text. */
export type RespValue = string | number | Uint8Array | null | RespError | RespValue[];

const decoder = new TextDecoder();

/** True when the raw reply is an error (`-...`). */
export function isErrorReply(raw: Uint8Array): boolean {
  return raw[0] === 45;
}

/** The text of an error reply, without the leading `-` and the CRLF. */
export function errorText(raw: Uint8Array): string {
  return decoder.decode(raw.subarray(1, raw.length - 2));
}

/** The value of an integer reply; NaN when the reply is not an integer. */
export function integerOf(raw: Uint8Array): number {
  if (raw[0] !== 58) return NaN;
  const v = parseIntStrict(raw, 1, raw.length - 2);
  return v === null ? NaN : v;
}

/** Splits a whole array reply into the raw bytes of each element; null for a null or non-array reply. */
export function arrayElements(raw: Uint8Array): Uint8Array[] | null {
  if (raw[0] !== 42) return null;
  const cr = raw.indexOf(13);
  const n = parseIntStrict(raw, 1, cr);
  if (n === null || n < 0) return null;
  const out: Uint8Array[] = new Array(n);
  let pos = cr + 2;
  for (let i = 0; i < n; i++) {
    const end = scanReply(raw, pos);
    out[i] = raw.subarray(pos, end);
    pos = end;
  }
  return out;
}

/** Decodes one whole reply. */
export function decodeReply(raw: Uint8Array): RespValue {
  const out: [RespValue, number] = [null, 0];
  decodeAt(raw, 0, out);
  return out[0];
}

function decodeAt(raw: Uint8Array, pos: number, out: [RespValue, number]): void {
  const cr = raw.indexOf(13, pos);
  const type = raw[pos];
  const next = cr + 2;
  switch (type) {
    case 43:
      out[0] = decoder.decode(raw.subarray(pos + 1, cr));
      out[1] = next;
      return;
    case 45:
      out[0] = new RespError(decoder.decode(raw.subarray(pos + 1, cr)));
      out[1] = next;
      return;
    case 58:
      out[0] = Number(decoder.decode(raw.subarray(pos + 1, cr)));
      out[1] = next;
      return;
    case 36: {
      const n = parseIntStrict(raw, pos + 1, cr) ?? -1;
      if (n < 0) {
        out[0] = null;
        out[1] = next;
      } else {
        out[0] = raw.slice(next, next + n);
        out[1] = next + n + 2;
      }
      return;
    }
    case 42: {
      const n = parseIntStrict(raw, pos + 1, cr) ?? -1;
      if (n < 0) {
        out[0] = null;
        out[1] = next;
        return;
      }
      const arr: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        decodeAt(raw, p, out);
        arr.push(out[0]);
        p = out[1];
      }
      out[0] = arr;
      out[1] = p;
      return;
    }
    default:
      throw new Error(`cannot decode reply type 0x${type.toString(16)}`);
  }
}

/** Text of a bulk or simple string value; "" otherwise. */
export function textOf(v: RespValue): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return decoder.decode(v);
  return "";
}
