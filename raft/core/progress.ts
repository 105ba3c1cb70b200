/**
 * Per-follower replication progress as the leader tracks it (probe / replicate / snapshot), with a bounded
 * window of in-flight append messages for flow control.
 * @module
 */

/** The three replication states of a follower, as in etcd-io/raft's design. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** A ring of the last index of each in-flight append; full means the follower is paused. */
export class Inflights {
  #buf: number[] = [];
  readonly size: number;
  constructor(size: number) {
    this.size = Math.max(1, size);
  }
  /** Records an append whose last entry index is `last`. */
  add(last: number): void {
    this.#buf.push(last);
  }
  /** Frees every in-flight message up to and including `index`. */
  freeTo(index: number): void {
    let i = 0;
    while (i < this.#buf.length && this.#buf[i] <= index) i++;
    if (i > 0) this.#buf.splice(0, i);
  }
  /** Frees the oldest in-flight message. */
  freeFirst(): void {
    this.#buf.shift();
  }
  full(): boolean {
    return this.#buf.length >= this.size;
  }
  count(): number {
    return this.#buf.length;
  }
  reset(): void {
    this.#buf = [];
  }
}

/** Replication progress of one peer. */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In probe state: an append was sent and we wait for a reply or a heartbeat response before the next. */
  probeSent = false;
  /** Index of the snapshot being sent (snapshot state). */
  pendingSnapshot = 0;
  /** Byte offset of the next snapshot chunk to send (snapshot state). */
  snapOffset = 0;
  /** Heartbeat rounds without any snapshot response; drives chunk retransmission. */
  snapIdle = 0;
  /** Heard from within the current check-quorum window. */
  recentActive = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  #reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapOffset = 0;
    this.snapIdle = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.#reset("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#reset("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.#reset("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapIndex: number): void {
    this.#reset("snapshot");
    this.pendingSnapshot = snapIndex;
  }

  /** Updates on a successful append response; returns false when the response is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * Handles a rejected append of the entries after `rejected`; `hint` is the highest index that may match.
   * Returns false when the rejection is stale (for an append we no longer care about).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether no append may be sent now (flow control). */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  /** Records that an append with entries up to `last` was sent (`empty` when it carried none). */
  sentEntries(last: number, empty: boolean): void {
    if (this.state === "replicate") {
      if (!empty) {
        this.next = last + 1;
        this.inflights.add(last);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }
}
