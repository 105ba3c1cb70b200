/**
 * The Raft log as the core sees it: durable entries in {@link LogStorage} plus an "unstable" tail (entries and
 * possibly a snapshot) not yet handed to the runtime for persisting, with the commit/applied cursors.
 * @module
 */

import type { Entry, LogStorage, Snapshot } from "../types.ts";
import { entrySize } from "./util.ts";

/** Entries and snapshot not yet persisted. `offset` is the index of `entries[0]`. */
class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;
  constructor(offset: number) {
    this.offset = offset;
  }
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }
  maybeLastIndex(): number | undefined {
    if (this.entries.length) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
    }
  }
  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.meta.index === i) this.snapshot = undefined;
  }
  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      this.entries.push(...ents);
    } else if (after <= this.offset) {
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = [...this.entries.slice(0, after - this.offset), ...ents];
    }
  }
}

/** The combined log. Throws on internal inconsistencies: those are bugs, and the simulator must see them. */
export class RaftLog {
  readonly storage: LogStorage;
  readonly unstable: Unstable;
  committed: number;
  /** Highest index handed out in Ready.committed (not yet necessarily advanced). */
  applying: number;
  applied: number;

  constructor(storage: LogStorage, applied?: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    const hs = storage.initialState().hardState;
    this.committed = Math.max(hs.commit, first - 1);
    if (this.committed > last) throw new Error(`hard state commit ${hs.commit} beyond last index ${last}`);
    this.applied = Math.min(Math.max(applied ?? 0, first - 1), this.committed);
    this.applying = this.applied;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new Error("last term unavailable");
    return t;
  }

  /** Term of index `i`, or undefined when compacted or beyond the end. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i < this.storage.firstIndex() - 1) return undefined;
    return this.storage.term(i);
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi) limited to maxBytes (at least one); undefined when lo is compacted. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    if (hi > this.lastIndex() + 1) throw new Error(`slice(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    if (lo >= hi) return [];
    const out: Entry[] = [];
    let size = 0;
    const uOff = this.unstable.offset;
    if (lo < uOff) {
      const stored = this.storage.entries(lo, Math.min(hi, uOff), maxBytes);
      for (const e of stored) size += entrySize(e);
      out.push(...stored);
      if (stored.length < Math.min(hi, uOff) - lo) return out;
    }
    for (let i = Math.max(lo, uOff); i < hi; i++) {
      const e = this.unstable.entries[i - uOff];
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Appends leader-side entries; returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    if (ents[0].index - 1 < this.committed) {
      throw new Error(`append at ${ents[0].index} would overwrite committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index whose term differs from `ents` (or that is past our log); 0 when all match. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** Largest index ≤ `index` whose term is ≤ `term` (for fast conflict back-off). */
  findConflictByTerm(index: number, term: number): number {
    const first = this.firstIndex() - 1;
    for (let i = Math.min(index, this.lastIndex()); i >= first; i--) {
      const t = this.term(i);
      if (t === undefined) return i;
      if (t <= term) return i;
    }
    return first;
  }

  /**
   * Follower-side append after (index, logTerm). Returns the last new index, or undefined when the log does not
   * contain (index, logTerm). Truncates only at a real conflict, so stale or duplicated appends are harmless.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`conflict at ${ci} within committed ${this.committed}`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  commitTo(i: number): void {
    if (i <= this.committed) return;
    if (i > this.lastIndex()) throw new Error(`commit ${i} beyond last index ${this.lastIndex()}`);
    this.committed = i;
  }

  /** Marks entries up to `i` as applied (after the runtime advanced). */
  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) {
      throw new Error(`applied ${i} out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applying && !this.unstable.snapshot;
  }

  /** Committed entries not yet handed out, up to maxBytes (at least one). */
  nextCommitted(maxBytes = Infinity): Entry[] {
    if (!this.hasNextCommitted()) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    return this.slice(lo, this.committed + 1, maxBytes) ?? [];
  }

  /** Entries to persist. */
  unstableEntries(): Entry[] {
    return [...this.unstable.entries];
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }
}
