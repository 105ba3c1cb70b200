/**
 * The arguments of a request of very many arguments, as an array whose elements are made when first read: a view per
 * argument is about 100 bytes and 0.2 µs, so the 400k views of a 400k-argument RPUSH cost more than parsing it, while
 * the proxy reads only its first few (the command's name and key) and forwards the request's raw bytes. Reads of any
 * element, `length`, `slice`, `map` and iteration behave as on the plain array.
 * @module
 */

/** Requests with more arguments than this get a lazy argv (below it, making the views is cheaper than the trap). */
export const LAZY_ARGV_MIN = 4096;

/**
 * An array of `spans.length / 2` views of `buf`: element i is `buf[spans[2i], spans[2i] + spans[2i + 1])`, made on
 * first read and kept.
 */
export function lazyArgv(buf: ArrayBufferLike, spans: readonly number[]): Uint8Array[] {
  const argc = spans.length >> 1;
  const made: Uint8Array[] = new Array(argc);
  const index = (key: string | symbol): number => {
    if (typeof key !== "string") return -1;
    const c = key.charCodeAt(0);
    if (c < 48 || c > 57) return -1;
    const i = Number(key);
    return Number.isInteger(i) && i < argc ? i : -1;
  };
  return new Proxy(made, {
    get(target, key, receiver) {
      const i = index(key);
      if (i < 0) return Reflect.get(target, key, receiver);
      return target[i] ??= new Uint8Array(buf, spans[2 * i], spans[2 * i + 1]);
    },
    has(target, key) {
      return index(key) >= 0 || Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      const i = index(key);
      if (i < 0) return Reflect.getOwnPropertyDescriptor(target, key);
      target[i] ??= new Uint8Array(buf, spans[2 * i], spans[2 * i + 1]);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}
