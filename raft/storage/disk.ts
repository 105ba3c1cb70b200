/**
 * Durable Raft storage: a write-ahead log in segment files plus snapshot files.
 *
 * Layout of a data directory:
 * - `meta`: cluster id and node id; a directory of another cluster or node is refused.
 * - `wal/<seq>.wal`: segments of CRC-framed records (entries, hard state, snapshot and compaction markers).
 *   Each new segment starts with the current hard state, snapshot marker and compaction point, so older
 *   segments can be deleted once compaction has passed every entry they hold.
 * - `snap/<index>.snap`: snapshots, written atomically.
 *
 * Recovery truncates a torn tail of the last segment (damage with no valid record after it) and refuses any
 * other damage with an error naming the file and offset.
 *
 * @module
 */

import type { ConfState, Entry, HardState, LogStorage, Snapshot } from "../types.ts";
import { decodeEntry, decodeNums, encodeEntry, encodeNums, frame, RecType, scan } from "./record.ts";
import { checkMeta, decodeSnapshotFile, encodeSnapshotFile, snapName, syncDir, writeAtomic } from "./files.ts";
import { logger } from "../../util/log.ts";

const log = logger("raft-storage");

/** Options for {@link DiskStorage.open}. */
export interface DiskStorageOptions {
  clusterId: string;
  nodeId: number;
  /** Segment size at which the WAL rolls over to a new file (default 64 MiB). */
  segmentBytes?: number;
}

interface Segment {
  seq: number;
  path: string;
  maxIndex: number;
}

function segName(seq: number): string {
  return `${seq.toString(16).padStart(16, "0")}.wal`;
}

/** Thrown when the on-disk state is damaged in a way that must not be repaired automatically. */
export class CorruptionError extends Error {
  override name = "CorruptionError";
}

/** The WAL-backed implementation of {@link LogStorage}. Open with {@link DiskStorage.open}. */
export class DiskStorage implements LogStorage {
  private hs: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot | undefined;
  private snapIndex = 0;
  private snapTerm = 0;
  /** Index and term of the entry just before `ents[0]` (the compaction point). */
  private prevIndex = 0;
  private prevTerm = 0;
  private ents: Entry[] = [];
  private segments: Segment[] = [];
  private file: Deno.FsFile | undefined;
  private fileSize = 0;
  private readonly segmentBytes: number;
  private fsyncs = 0;
  private fsyncMsTotal = 0;
  private fsyncMsMax = 0;

  private constructor(readonly dir: string, opts: DiskStorageOptions) {
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
  }

  /** Opens (creating if needed) a data directory and recovers its state. */
  static async open(dir: string, opts: DiskStorageOptions): Promise<DiskStorage> {
    const s = new DiskStorage(dir, opts);
    // The log holds the whole model (server addresses, proxies): readable by this user only.
    await Deno.mkdir(`${dir}/wal`, { recursive: true, mode: 0o700 });
    await Deno.mkdir(`${dir}/snap`, { recursive: true, mode: 0o700 });
    const names: string[] = [];
    for await (const e of Deno.readDir(`${dir}/wal`)) if (/^[0-9a-f]{16}\.wal$/.test(e.name)) names.push(e.name);
    names.sort();
    await checkMeta(dir, { clusterId: opts.clusterId, nodeId: opts.nodeId }, names.length > 0);
    await s.recover(names);
    return s;
  }

  private async recover(names: string[]): Promise<void> {
    let headless = false;
    for (let i = 0; i < names.length; i++) {
      const path = `${this.dir}/wal/${names[i]}`;
      const buf = await Deno.readFile(path);
      const r = scan(buf);
      const last = i === names.length - 1;
      if (r.badOffset < buf.length) {
        if (!last || r.validAfter) {
          throw new CorruptionError(
            `corrupt WAL record in ${path} at offset ${r.badOffset} (file size ${buf.length}); refusing to start`,
          );
        }
        log.warn(`truncating torn WAL tail of ${path} at offset ${r.badOffset} (${buf.length - r.badOffset} bytes)`);
        await Deno.truncate(path, r.badOffset);
      }
      let maxIndex = 0;
      for (const rec of r.records) {
        try {
          maxIndex = Math.max(maxIndex, this.replay(rec.type, rec.payload));
        } catch (e) {
          throw new CorruptionError(`bad WAL record in ${path} at offset ${rec.offset}: ${(e as Error).message}`);
        }
      }
      this.segments.push({ seq: parseInt(names[i].slice(0, 16), 16), path, maxIndex });
      if (last) this.fileSize = r.badOffset;
      // A crash while rolling over leaves the new segment empty or with a torn head. Its head must be written
      // again before anything is appended: once compaction deletes the older segments, the snapshot marker
      // and hard state they hold would be gone. Nothing but head records can be lost by rewriting it.
      if (last && names.length > 1 && !r.records.some((x) => x.type === RecType.compact || x.type === RecType.entry)) {
        headless = true;
      }
    }
    if (this.prevTerm === -1) {
      // Older segments were deleted by compaction; the snapshot must cover the gap they leave.
      if (this.prevIndex > this.snapIndex) {
        throw new CorruptionError(`WAL in ${this.dir} is missing entries ${this.snapIndex + 1}..${this.prevIndex}`);
      }
      this.dropUpTo(this.snapIndex, this.snapTerm);
    }
    if (this.snapIndex > 0) {
      const path = `${this.dir}/snap/${snapName(this.snapIndex)}`;
      let buf: Uint8Array;
      try {
        buf = await Deno.readFile(path);
      } catch {
        throw new CorruptionError(`snapshot file ${path} named by the WAL is missing; refusing to start`);
      }
      this.snap = decodeSnapshotFile(path, buf);
      if (this.snap.meta.index !== this.snapIndex) throw new CorruptionError(`snapshot file ${path} has wrong index`);
    }
    if (this.hs.commit > Math.max(this.lastIndex(), this.snapIndex)) {
      throw new CorruptionError(`WAL in ${this.dir}: commit ${this.hs.commit} is beyond the last entry`);
    }
    if (this.segments.length === 0) await this.newSegment(1);
    else if (headless) {
      log.warn(`rewriting the head of WAL segment ${this.segments[this.segments.length - 1].path} (torn rollover)`);
      await this.newSegment(this.segments.pop()!.seq);
    } else {
      const seg = this.segments[this.segments.length - 1];
      this.file = await Deno.open(seg.path, { write: true, append: true });
    }
    await this.removeStaleSnapshots();
  }

  /** Applies one record to the in-memory state; returns the entry index it holds (0 for others). */
  private replay(type: number, p: Uint8Array): number {
    switch (type) {
      case RecType.entry: {
        const e = decodeEntry(p);
        this.putEntry(e);
        return e.index;
      }
      case RecType.hardState: {
        const [term, vote, commit] = decodeNums(p, 3);
        this.hs = { term, vote, commit };
        return 0;
      }
      case RecType.snapshot: {
        const [index, term, reset] = decodeNums(p, 3);
        this.snapIndex = index;
        this.snapTerm = term;
        if (reset) this.resetTo(index, term);
        return 0;
      }
      case RecType.compact: {
        const [index, term] = decodeNums(p, 2);
        if (index >= this.prevIndex) this.dropUpTo(index, term);
        return 0;
      }
      default:
        throw new Error(`unknown record type ${type}`);
    }
  }

  private putEntry(e: Entry): void {
    const last = this.lastIndex();
    if (e.index <= this.prevIndex) return; // overwritten before a later compaction
    if (e.index > last + 1) {
      // Gap: the records before it lived in a deleted segment; resolved by a later compaction or the snapshot.
      this.prevIndex = e.index - 1;
      this.prevTerm = -1;
      this.ents = [e];
      return;
    }
    if (e.index <= last) this.ents.length = e.index - this.prevIndex - 1;
    this.ents.push(e);
  }

  private dropUpTo(index: number, term: number): void {
    if (index >= this.lastIndex()) this.ents = [];
    else this.ents = this.ents.slice(index - this.prevIndex);
    this.prevIndex = index;
    this.prevTerm = term;
  }

  private resetTo(index: number, term: number): void {
    this.ents = [];
    this.prevIndex = index;
    this.prevTerm = term;
  }

  // --- LogStorage ---

  /** Hard state and the membership recorded in the latest snapshot (empty for a fresh directory). */
  initialState(): { hardState: HardState; conf: ConfState } {
    const conf = this.snap?.meta.conf ?? { voters: [], learners: [] };
    return { hardState: { ...this.hs }, conf: { voters: [...conf.voters], learners: [...conf.learners] } };
  }

  /** Index of the first entry still in the log. */
  firstIndex(): number {
    return this.prevIndex + 1;
  }

  /** Index of the last entry (the compaction point when the log is empty). */
  lastIndex(): number {
    return this.prevIndex + this.ents.length;
  }

  /** Term of the entry at `index`; the compaction point's term is kept. Throws when unavailable. */
  term(index: number): number {
    if (index === this.prevIndex) return this.prevTerm;
    if (index < this.prevIndex) throw new Error(`term(${index}): compacted (first index ${this.firstIndex()})`);
    if (index > this.lastIndex()) throw new Error(`term(${index}): beyond last index ${this.lastIndex()}`);
    return this.ents[index - this.prevIndex - 1].term;
  }

  /** Entries in [lo, hi), at most `maxBytes` of data (but at least one entry). */
  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo <= this.prevIndex) throw new Error(`entries(${lo}): compacted (first index ${this.firstIndex()})`);
    if (hi > this.lastIndex() + 1) throw new Error(`entries(.., ${hi}): beyond last index ${this.lastIndex()}`);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.prevIndex - 1];
      size += e.data.length + 24;
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** The latest snapshot, if any. */
  snapshot(): Snapshot | undefined {
    return this.snap;
  }

  /** The last persisted hard state. */
  hardState(): HardState {
    return { ...this.hs };
  }

  /** True when nothing was ever persisted here (a fresh node). */
  isEmpty(): boolean {
    return this.hs.term === 0 && this.snapIndex === 0 && this.ents.length === 0;
  }

  // --- writes ---

  /**
   * Persists, with a single fsync (group commit): a snapshot received from the leader (replaces the whole log),
   * then `entries` (an entry at index i first drops every entry ≥ i), then the hard state. When only the commit
   * index changed, the record is written without an fsync.
   */
  async save(hs: HardState | undefined, entries: Entry[], snapshot?: Snapshot): Promise<void> {
    const parts: Uint8Array[] = [];
    if (snapshot) {
      await this.writeSnapshotFile(snapshot);
      parts.push(frame(RecType.snapshot, encodeNums([snapshot.meta.index, snapshot.meta.term, 1])));
      this.snap = snapshot;
      this.snapIndex = snapshot.meta.index;
      this.snapTerm = snapshot.meta.term;
      this.resetTo(snapshot.meta.index, snapshot.meta.term);
    }
    for (const e of entries) {
      parts.push(frame(RecType.entry, encodeEntry(e)));
      this.putEntry(e);
    }
    // A change of the commit index alone need not be synced: it is re-learned from the leader after a crash,
    // and the record can only survive a crash together with everything written before it.
    let sync = parts.length > 0;
    if (hs) {
      parts.push(frame(RecType.hardState, encodeNums([hs.term, hs.vote, hs.commit])));
      if (hs.term !== this.hs.term || hs.vote !== this.hs.vote) sync = true;
      this.hs = { ...hs };
    }
    if (parts.length === 0) return;
    const cur = this.segments[this.segments.length - 1];
    if (entries.length > 0) cur.maxIndex = Math.max(cur.maxIndex, entries[entries.length - 1].index);
    await this.write(parts, sync);
    if (snapshot) await this.removeStaleSnapshots();
    if (this.fileSize >= this.segmentBytes) await this.newSegment(cur.seq + 1);
  }

  /** Records a snapshot the local state machine took; the log is kept (compact it separately). */
  async createSnapshot(snapshot: Snapshot): Promise<void> {
    if (snapshot.meta.index <= this.snapIndex) return;
    await this.writeSnapshotFile(snapshot);
    await this.write([frame(RecType.snapshot, encodeNums([snapshot.meta.index, snapshot.meta.term, 0]))]);
    this.snap = snapshot;
    this.snapIndex = snapshot.meta.index;
    this.snapTerm = snapshot.meta.term;
    await this.removeStaleSnapshots();
  }

  /** Drops entries ≤ `index` (which must be covered by the snapshot) and deletes segments no longer needed. */
  async compact(index: number): Promise<void> {
    if (index <= this.prevIndex) return;
    if (index > this.snapIndex) throw new Error(`compact(${index}) beyond the snapshot at ${this.snapIndex}`);
    const term = this.term(index);
    await this.write([frame(RecType.compact, encodeNums([index, term]))]);
    this.dropUpTo(index, term);
    const keep: Segment[] = [];
    for (const [i, seg] of this.segments.entries()) {
      if (i < this.segments.length - 1 && seg.maxIndex <= index) await Deno.remove(seg.path);
      else keep.push(seg);
    }
    if (keep.length !== this.segments.length) await syncDir(`${this.dir}/wal`);
    this.segments = keep;
  }

  /** WAL fsync counters since open: count, mean and max duration in ms. */
  stats(): { fsyncs: number; fsyncMsAvg: number; fsyncMsMax: number; segments: number } {
    const avg = this.fsyncs ? this.fsyncMsTotal / this.fsyncs : 0;
    return { fsyncs: this.fsyncs, fsyncMsAvg: avg, fsyncMsMax: this.fsyncMsMax, segments: this.segments.length };
  }

  /** Closes the open segment. */
  close(): void {
    this.file?.close();
    this.file = undefined;
  }

  private async write(parts: Uint8Array[], sync = true): Promise<void> {
    if (!this.file) throw new Error("storage is closed");
    let total = 0;
    for (const p of parts) total += p.length;
    const buf = parts.length === 1 ? parts[0] : new Uint8Array(total);
    if (parts.length > 1) {
      let off = 0;
      for (const p of parts) {
        buf.set(p, off);
        off += p.length;
      }
    }
    let off = 0;
    while (off < buf.length) off += await this.file.write(buf.subarray(off));
    if (sync) {
      const t0 = performance.now();
      await this.file.syncData();
      const ms = performance.now() - t0;
      this.fsyncs++;
      this.fsyncMsTotal += ms;
      if (ms > this.fsyncMsMax) this.fsyncMsMax = ms;
    }
    this.fileSize += buf.length;
  }

  private async newSegment(seq: number): Promise<void> {
    this.file?.close();
    const path = `${this.dir}/wal/${segName(seq)}`;
    this.file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
    this.fileSize = 0;
    this.segments.push({ seq, path, maxIndex: 0 });
    // The head makes this segment self-sufficient, so older segments can go once compaction passes them.
    const head = [frame(RecType.hardState, encodeNums([this.hs.term, this.hs.vote, this.hs.commit]))];
    if (this.snapIndex > 0) head.push(frame(RecType.snapshot, encodeNums([this.snapIndex, this.snapTerm, 0])));
    head.push(frame(RecType.compact, encodeNums([this.prevIndex, this.prevTerm])));
    await this.write(head);
    await syncDir(`${this.dir}/wal`);
  }

  private async writeSnapshotFile(s: Snapshot): Promise<void> {
    await writeAtomic(`${this.dir}/snap`, snapName(s.meta.index), encodeSnapshotFile(s));
  }

  /** Keeps the current snapshot file and the one before it; removes temp files. */
  private async removeStaleSnapshots(): Promise<void> {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${this.dir}/snap`)) names.push(e.name);
    const snaps = names.filter((n) => /^[0-9a-f]{16}\.snap$/.test(n)).sort();
    const current = snapName(this.snapIndex);
    const older = snaps.filter((n) => n < current);
    const drop = [
      ...older.slice(0, -1),
      ...snaps.filter((n) => n > current),
      ...names.filter((n) => n.endsWith(".tmp")),
    ];
    for (const n of drop) await Deno.remove(`${this.dir}/snap/${n}`).catch(() => {});
  }
}
