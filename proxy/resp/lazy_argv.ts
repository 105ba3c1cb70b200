/**
 * The arguments of a request of very many arguments, as an array whose elements are made when first read: a view per
 * argument is about 100 bytes and 0.2 µs, so the 400k views of a 400k-argument RPUSH cost more than parsing it, while
 * the proxy reads only its first few (the command's name and key) and forwards the request's raw bytes. Reads of any
 * element, `length`, `slice`, `map` and iteration behave as on the plain array.
 *
 * Only the first few arguments' places are recorded while the request is parsed (a list of 800k numbers, grown as it
 * fills, cost a quarter of the 400k-argument request's CPU in page faults and copies); an element past them is found
 * by walking the bulk headers from the last one known, which the parser has already checked.
 * @module
 */
import { findLineEnd, MAX_BULK_LINE } from "./protocol.ts";
import { parseIntStrict } from "../../util/bytes.ts";

/** Requests with more arguments than this get a lazy argv (below it, making the views is cheaper than the trap). */
export const LAZY_ARGV_MIN = 4096;

/** How many arguments' places the parser records for a lazy argv: the command's name and its first keys. */
export const LAZY_ARGV_KNOWN = 8;

/**
 * An array of `argc` views of `buf`, a whole request checked by the parser: element i is `buf[spans[2i], spans[2i] +
 * spans[2i + 1])` for the arguments `spans` records (at least one), and for the later ones the bulk found by walking
 * the headers after them. Each element is made on first read and kept. (Not `new Array(argc)` behind the Proxy: an
 * array of 400k holes took 9 ms to make; the views made so far are a dense list, and the Proxy answers `length`.)
 */
export function lazyArgv(buf: ArrayBufferLike, argc: number, spans: readonly number[]): Uint8Array[] {
  const known = spans.length >> 1;
  const made: Uint8Array[] = new Array(known);
  for (let i = 0; i < known; i++) made[i] = new Uint8Array(buf, spans[2 * i], spans[2 * i + 1]);
  const bytes = new Uint8Array(buf);
  // The next argument's `$` (made.length arguments have their views).
  let next = spans[2 * known - 2] + spans[2 * known - 1] + 2;
  const at = (i: number): Uint8Array => {
    // Walk to i, making the views on the way: what reads a late argument usually reads the ones before it too.
    while (made.length <= i) {
      const lenEnd = findLineEnd(bytes, bytes.length, next + 1, next + 1, MAX_BULK_LINE);
      const len = parseIntStrict(bytes, next + 1, lenEnd)!;
      made.push(new Uint8Array(buf, lenEnd + 2, len));
      next = lenEnd + 4 + len;
    }
    return made[i];
  };
  const index = (key: string | symbol): number => {
    if (typeof key !== "string") return -1;
    const c = key.charCodeAt(0);
    if (c < 48 || c > 57) return -1;
    const i = Number(key);
    return Number.isInteger(i) && i < argc ? i : -1;
  };
  return new Proxy([] as Uint8Array[], {
    get(target, key, receiver) {
      const i = index(key);
      if (i >= 0) return at(i);
      return key === "length" ? argc : Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      const i = index(key);
      if (i < 0) return Reflect.set(target, key, value, receiver);
      at(i);
      made[i] = value;
      return true;
    },
    has(target, key) {
      return index(key) >= 0 || Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      const i = index(key);
      if (i >= 0) return { value: at(i), writable: true, enumerable: true, configurable: true };
      if (key === "length") return { value: argc, writable: true, enumerable: false, configurable: false };
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}
