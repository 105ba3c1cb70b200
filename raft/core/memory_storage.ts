/**
 * An in-memory {@link LogStorage}, used by tests and the simulator. What it holds counts as "durable":
 * the caller writes into it only what a real node would have fsynced.
 * @module
 */

import type { ConfState, Entry, HardState, LogStorage, Snapshot } from "../types.ts";
import { entrySize } from "./util.ts";

/** In-memory log storage: a snapshot, a contiguous run of entries after it, and the hard state. */
export class MemoryLogStorage implements LogStorage {
  #hs: HardState = { term: 0, vote: 0, commit: 0 };
  #snap: Snapshot | undefined;
  /** ents[0] is a dummy entry at the snapshot index carrying its term. */
  #ents: Entry[] = [{ term: 0, index: 0, type: "normal", data: new Uint8Array() }];
  #conf: ConfState = { voters: [], learners: [] };

  /** A storage bootstrapped from `snapshot` (e.g. {@link initialSnapshot}) or empty. */
  constructor(snapshot?: Snapshot) {
    if (snapshot) this.applySnapshot(snapshot);
  }

  /** Hard state plus the membership as of the stored snapshot (the core replays later conf entries). */
  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: { ...this.#hs }, conf: { voters: [...this.#conf.voters], learners: [...this.#conf.learners] } };
  }

  firstIndex(): number {
    return this.#ents[0].index + 1;
  }

  lastIndex(): number {
    return this.#ents[0].index + this.#ents.length - 1;
  }

  /** Term of `index`; valid for firstIndex()-1 … lastIndex(). Throws outside that range. */
  term(index: number): number {
    const off = this.#ents[0].index;
    if (index < off || index > this.lastIndex()) {
      throw new RangeError(`term(${index}) out of range [${off}, ${this.lastIndex()}]`);
    }
    return this.#ents[index - off].term;
  }

  /** Entries in [lo, hi), at least one, then as many as fit in maxBytes. */
  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    const off = this.#ents[0].index;
    if (lo <= off || hi > this.lastIndex() + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}) out of range (${off}, ${this.lastIndex() + 1}]`);
    }
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.#ents[i - off];
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot | undefined {
    return this.#snap;
  }

  /** The persisted hard state. */
  hardState(): HardState {
    return { ...this.#hs };
  }

  setHardState(hs: HardState): void {
    this.#hs = { ...hs };
  }

  /** Appends entries, first discarding any stored entries at or after `ents[0].index`. */
  append(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const off = this.#ents[0].index;
    const first = ents[0].index;
    if (first > this.lastIndex() + 1) throw new RangeError(`append gap: ${first} after ${this.lastIndex()}`);
    if (first + ents.length - 1 <= off) return; // entirely compacted away
    const skip = Math.max(0, off + 1 - first);
    this.#ents.length = first + skip - off;
    for (let i = skip; i < ents.length; i++) this.#ents.push(ents[i]);
  }

  /** Replaces everything with `snap` (a snapshot received from the leader, or a bootstrap snapshot). */
  applySnapshot(snap: Snapshot): void {
    this.#snap = snap;
    this.#ents = [{ term: snap.meta.term, index: snap.meta.index, type: "normal", data: new Uint8Array() }];
    this.#conf = { voters: [...snap.meta.conf.voters], learners: [...snap.meta.conf.learners] };
    if (this.#hs.commit < snap.meta.index) this.#hs = { ...this.#hs, commit: snap.meta.index };
    if (this.#hs.term < snap.meta.term) this.#hs = { ...this.#hs, term: snap.meta.term };
  }

  /**
   * Records a locally taken snapshot (if given) and drops the log up to and including `index`. The snapshot may be
   * newer than `index`: entries between are kept so that slightly lagging followers need no snapshot.
   */
  compact(index: number, snapshot?: Snapshot): void {
    const off = this.#ents[0].index;
    if (snapshot) {
      if (snapshot.meta.index < index || snapshot.meta.index > this.lastIndex()) {
        throw new RangeError("compact: snapshot must cover the compacted prefix and lie within the log");
      }
      this.#snap = snapshot;
      this.#conf = { voters: [...snapshot.meta.conf.voters], learners: [...snapshot.meta.conf.learners] };
    }
    if (index <= off) return;
    if (index > this.lastIndex()) throw new RangeError(`compact(${index}) beyond last index ${this.lastIndex()}`);
    const dummy = this.#ents[index - off];
    this.#ents = [
      { term: dummy.term, index, type: "normal", data: new Uint8Array() },
      ...this.#ents.slice(index - off + 1),
    ];
  }
}
