/**
 * The simulator's event queue: a binary heap ordered by (time, insertion sequence), so ties run in the
 * order they were scheduled and execution stays deterministic.
 * @module
 */

interface Item {
  at: number;
  seq: number;
  fn: () => void;
}

/** A min-heap of timed callbacks. */
export class EventQueue {
  #h: Item[] = [];
  #seq = 0;

  get size(): number {
    return this.#h.length;
  }

  push(at: number, fn: () => void): void {
    const h = this.#h;
    h.push({ at, seq: this.#seq++, fn });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  peekTime(): number | undefined {
    return this.#h[0]?.at;
  }

  pop(): Item | undefined {
    const h = this.#h;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Item, b: Item): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
