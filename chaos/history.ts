/**
 * The recorded history: every client operation with its invocation and completion times (ms since the run began),
 * the proxy it went through and its outcome, and every fault with the span it was in force.
 * @module
 */

/** Which workload an operation belongs to. */
export type Workload = "register" | "counter" | "set";

/** ok: a reply that means it happened; fail: a reply that means it did not; unknown: it may have. */
export type Outcome = "ok" | "fail" | "unknown";

/** One client operation. */
export interface Op {
  client: number;
  workload: Workload;
  f: "get" | "put" | "cas" | "incr" | "sadd" | "read";
  key: string;
  /** put/cas: the value written; sadd: the element. */
  value?: string;
  /** cas: the value expected. */
  expect?: string;
  start: number;
  end: number;
  outcome: Outcome;
  /** get: the value read; cas: whether it applied; incr: the new value; read: the set's members or the counter. */
  result?: string | null | boolean | number | string[];
  /** The reply or failure that made it fail or unknown. */
  error?: string;
  proxy: string;
  /** Part of the final reads after the faults healed. */
  final?: boolean;
}

/** One fault, from when it was applied to when it was healed. */
export interface Fault {
  nemesis: string;
  detail: string;
  start: number;
  end: number;
}

/** The whole run's record. */
export class History {
  readonly ops: Op[] = [];
  readonly faults: Fault[] = [];
  readonly #t0 = performance.now();

  /** Milliseconds since the run began. */
  now(): number {
    return performance.now() - this.#t0;
  }

  /** Records a fault starting now; call the returned function when it is healed. */
  fault(nemesis: string, detail: string): () => void {
    const f: Fault = { nemesis, detail, start: this.now(), end: Infinity };
    this.faults.push(f);
    return () => {
      if (f.end === Infinity) f.end = this.now();
    };
  }

  /** Closes every fault still open (at the end of the run). */
  closeFaults(): void {
    for (const f of this.faults) if (f.end === Infinity) f.end = this.now();
  }
}
