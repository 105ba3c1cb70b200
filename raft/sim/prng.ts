/**
 * A small seeded PRNG (mulberry32 with a splitmix-style seed scramble): every random choice of the
 * simulator comes from here, so one seed gives one execution.
 * @module
 */

/** A deterministic pseudo-random generator. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    let z = (seed >>> 0) ^ 0x9e3779b9;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.#s = (z ^ (z >>> 16)) >>> 0;
  }
  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from empty list");
    return xs[Math.floor(this.float() * xs.length)];
  }
  /** An independent generator derived from this one. */
  fork(): Rng {
    return new Rng(this.u32());
  }
}
