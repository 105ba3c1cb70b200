/**
 * Inline commands (redis-cli style, telnet): one line split into arguments as Redis's sdssplitargs does.
 * @module
 */
import { ProtocolError } from "../../util/errors.ts";

/** isspace() in the C locale: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The byte a double-quoted `\c` stands for (sdssplitargs: \n \r \t \b \a, any other byte as itself). */
function escaped(c: number): number {
  switch (c) {
    case 110:
      return 10;
    case 114:
      return 13;
    case 116:
      return 9;
    case 98:
      return 8;
    case 97:
      return 7;
    default:
      return c;
  }
}

/**
 * Splits an inline command line as Redis's sdssplitargs does: blanks separate arguments; a quote may open anywhere in
 * an argument; in double quotes `\xHH` and `\n \r \t \b \a` are escapes and `\c` is `c`; in single quotes only `\'`
 * is; a closing quote must be followed by a blank or the end of the line.
 */
export function splitInline(data: Uint8Array, from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = from;
  for (;;) {
    while (i < to && isSpace(data[i])) i++;
    if (i >= to) return out;
    const s = i;
    while (
      i < to && data[i] !== 32 && data[i] !== 9 && data[i] !== 10 && data[i] !== 13 && data[i] !== 34 && data[i] !== 39
    ) i++;
    if (i >= to || data[i] !== 34 && data[i] !== 39) {
      out.push(data.subarray(s, i)); // the common case: a plain word, kept as a view
      continue;
    }
    const bytes: number[] = Array.from(data.subarray(s, i));
    i = quotedWord(data, i, to, bytes);
    out.push(Uint8Array.from(bytes));
  }
}

/** Reads the rest of a word from the quote at `i` (appending to `bytes`); returns the index after the word. */
function quotedWord(data: Uint8Array, i: number, to: number, bytes: number[]): number {
  let q = 0; // the open quote, 0 outside quotes
  for (; i < to; i++) {
    const c = data[i];
    if (q === 0) {
      if (c === 32 || c === 9 || c === 10 || c === 13) return i;
      if (c === 34 || c === 39) q = c;
      else bytes.push(c);
    } else if (c === 92 && q === 34 && i + 1 < to) {
      const hi = i + 3 < to && data[i + 1] === 120 ? hexValue(data[i + 2]) : -1;
      const lo = hi >= 0 ? hexValue(data[i + 3]) : -1;
      if (lo >= 0) {
        bytes.push(hi * 16 + lo);
        i += 3;
      } else {
        bytes.push(escaped(data[++i]));
      }
    } else if (c === 92 && q === 39 && i + 1 < to && data[i + 1] === 39) {
      bytes.push(39);
      i++;
    } else if (c === q) {
      if (i + 1 < to && !isSpace(data[i + 1])) break;
      return i + 1;
    } else {
      bytes.push(c);
    }
  }
  if (q === 0) return i;
  throw new ProtocolError("Protocol error: unbalanced quotes in request");
}
