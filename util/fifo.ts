/**
 * A first-in first-out queue on a growable ring buffer: O(1) push and shift, no per-item allocation
 * (unlike `Array.prototype.shift`, which is O(n)).
 * @module
 */
export class Fifo<T> {
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity = 16) {
    this.#items = new Array(capacity);
  }

  /** Number of queued items. */
  get length(): number {
    return this.#size;
  }

  /** Appends an item. */
  push(item: T): void {
    const cap = this.#items.length;
    if (this.#size === cap) {
      const grown: (T | undefined)[] = new Array(cap * 2);
      for (let i = 0; i < this.#size; i++) grown[i] = this.#items[(this.#head + i) % cap];
      this.#items = grown;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size++;
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return item;
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }
}
