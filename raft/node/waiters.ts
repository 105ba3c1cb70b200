/**
 * Bookkeeping of the node runtime's pending proposals and read barriers.
 * @module
 */

import { ProposalFailedError, UnknownOutcomeError } from "./types.ts";

interface Pending {
  term: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Read {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  index?: number;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Pending proposals (by log index) and reads (by ReadIndex context, then by read index). */
export class Waiters {
  private readonly proposals = new Map<number, Pending>();
  private queued: Read[] = [];
  private readonly byCtx = new Map<string, Read[]>();
  private waiting: Read[] = [];
  private seq = 0;
  private readonly salt = crypto.getRandomValues(new Uint8Array(8));

  constructor(private readonly appliedIndex: () => number) {}

  /** Tracks a proposal appended at `index` in `term`. */
  addProposal(index: number, term: number, resolve: (v: unknown) => void, reject: (e: Error) => void, ms: number) {
    const timer = setTimeout(() => {
      this.proposals.delete(index);
      reject(new UnknownOutcomeError(`proposal at index ${index} not applied within ${ms} ms; outcome unknown`));
    }, ms);
    this.proposals.get(index)?.reject(new ProposalFailedError(`index ${index} reused`));
    this.proposals.set(index, { term, resolve, reject, timer });
  }

  /** An entry was applied: settles the proposal at its index (ours if the term matches, else overwritten). */
  applied(index: number, term: number, result: unknown, error: Error | undefined): void {
    const p = this.proposals.get(index);
    if (!p) return;
    this.proposals.delete(index);
    clearTimeout(p.timer);
    if (p.term !== term) p.reject(new ProposalFailedError(`entry ${index} was overwritten by another leader`));
    else if (error) p.reject(error);
    else p.resolve(result);
  }

  /** A snapshot covering `index` was installed: proposals up to it can no longer be matched. */
  failUpTo(index: number): void {
    for (const [i, p] of this.proposals) {
      if (i > index) continue;
      this.proposals.delete(i);
      clearTimeout(p.timer);
      p.reject(new UnknownOutcomeError(`proposal at index ${i} was covered by a snapshot; outcome unknown`));
    }
  }

  /** Queues a read barrier; {@link takeQueued} batches all queued reads under one context. */
  queueRead(resolve: () => void, reject: (e: Error) => void, ms: number): void {
    const r = { resolve, reject } as Read;
    r.timer = setTimeout(() => {
      this.drop(r);
      reject(new UnknownOutcomeError(`read barrier not reached within ${ms} ms`));
    }, ms);
    this.queued.push(r);
  }

  /** Takes every queued read under a fresh unique context (undefined when none are queued). */
  takeQueued(): { ctx: Uint8Array; reads: Read[] } | undefined {
    if (this.queued.length === 0) return undefined;
    const reads = this.queued;
    this.queued = [];
    const ctx = new Uint8Array(16);
    new DataView(ctx.buffer).setFloat64(0, ++this.seq);
    ctx.set(this.salt, 8);
    this.byCtx.set(hex(ctx), reads);
    return { ctx, reads };
  }

  /** Rejects a batch whose ReadIndex request failed. */
  failBatch(ctx: Uint8Array, e: Error): void {
    const reads = this.byCtx.get(hex(ctx)) ?? [];
    this.byCtx.delete(hex(ctx));
    for (const r of reads) {
      clearTimeout(r.timer);
      r.reject(e);
    }
  }

  /** Puts a batch back in the queue (no leader known yet). */
  requeue(ctx: Uint8Array): void {
    const reads = this.byCtx.get(hex(ctx)) ?? [];
    this.byCtx.delete(hex(ctx));
    this.queued.push(...reads);
  }

  /** The leader confirmed read index `index` for `ctx`. */
  readIndexKnown(ctx: Uint8Array, index: number): void {
    const reads = this.byCtx.get(hex(ctx));
    if (!reads) return;
    this.byCtx.delete(hex(ctx));
    for (const r of reads) {
      r.index = index;
      this.waiting.push(r);
    }
    this.releaseReads();
  }

  /** Resolves reads whose index has been applied. */
  releaseReads(): void {
    if (this.waiting.length === 0) return;
    const applied = this.appliedIndex();
    const still: Read[] = [];
    for (const r of this.waiting) {
      if (r.index! <= applied) {
        clearTimeout(r.timer);
        r.resolve();
      } else still.push(r);
    }
    this.waiting = still;
  }

  /** Rejects everything (node closing). */
  rejectAll(e: Error): void {
    for (const p of this.proposals.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.proposals.clear();
    const reads = [...this.queued, ...this.waiting, ...[...this.byCtx.values()].flat()];
    this.queued = [];
    this.waiting = [];
    this.byCtx.clear();
    for (const r of reads) {
      clearTimeout(r.timer);
      r.reject(e);
    }
  }

  private drop(r: Read): void {
    this.queued = this.queued.filter((x) => x !== r);
    this.waiting = this.waiting.filter((x) => x !== r);
    for (const [k, rs] of this.byCtx) {
      const left = rs.filter((x) => x !== r);
      if (left.length === 0) this.byCtx.delete(k);
      else if (left.length !== rs.length) this.byCtx.set(k, left);
    }
  }
}
