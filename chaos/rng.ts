/**
 * The run's single source of randomness: a small seeded generator (a 32-bit mixing step over a counter), so that a
 * seed replays every choice the tool makes. Never used for anything secret.
 * @module
 */

/** A deterministic random source for one run. */
export class Rng {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    if (list.length === 0) throw new Error("rng: pick from an empty list");
    return list[Math.floor(this.next() * list.length)];
  }

  /** A copy of `list` in a random order. */
  shuffle<T>(list: readonly T[]): T[] {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** An independent generator derived from this one (one per client or nemesis, so their streams do not interleave). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
}
