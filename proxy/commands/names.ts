/**
 * A case-insensitive name → entry table over raw bytes: open addressing on a hash of the upper-cased bytes, so a
 * lookup neither decodes nor allocates.
 * @module
 */

/** Anything with an upper-case ASCII name in bytes. */
export interface Named {
  readonly nameBytes: Uint8Array;
}

/** Longest name we bother hashing; longer arguments cannot be command names. */
export const MAX_NAME_LEN = 64;

/** FNV-1a over the bytes with ASCII letters folded to upper case. */
export function hashUpper(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    let c = b[i];
    if (c >= 97 && c <= 122) c -= 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h ^ (h >>> 16);
}

/** Fixed-capacity name table; rebuilt (not resized in place) when entries are added. */
export class NameTable<T extends Named> {
  #slots: Int32Array;
  #mask: number;
  #entries: T[];

  constructor(entries: Iterable<T>) {
    this.#entries = [...entries];
    let cap = 8;
    while (cap < this.#entries.length * 4) cap <<= 1;
    this.#slots = new Int32Array(cap);
    this.#mask = cap - 1;
    for (let i = 0; i < this.#entries.length; i++) {
      let s = hashUpper(this.#entries[i].nameBytes) & this.#mask;
      while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
      this.#slots[s] = i + 1;
    }
  }

  /** Finds the entry whose name equals `b` ignoring ASCII case. */
  find(b: Uint8Array): T | undefined {
    const len = b.length;
    if (len === 0 || len > MAX_NAME_LEN) return undefined;
    let h = 0x811c9dc5;
    for (let i = 0; i < len; i++) {
      let c = b[i];
      if (c >= 97 && c <= 122) c -= 32;
      h = Math.imul(h ^ c, 0x01000193);
    }
    const mask = this.#mask;
    let s = (h ^ (h >>> 16)) & mask;
    for (;;) {
      const idx = this.#slots[s];
      if (idx === 0) return undefined;
      const e = this.#entries[idx - 1];
      const name = e.nameBytes;
      if (name.length === len) {
        let i = 0;
        for (; i < len; i++) {
          let c = b[i];
          if (c >= 97 && c <= 122) c -= 32;
          if (c !== name[i]) break;
        }
        if (i === len) return e;
      }
      s = (s + 1) & mask;
    }
  }

  /** All entries, in insertion order. */
  entries(): readonly T[] {
    return this.#entries;
  }
}
