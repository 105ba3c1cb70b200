/**
 * A Porcupine-style linearizability checker: Wing & Gong's search with Lowe's memoization of
 * (linearized set, state) pairs, run per partition (P-compositionality).
 * @module
 */

/** One completed (or indeterminate) operation. `ret` is Infinity and `output` undefined when the outcome is unknown. */
export interface Operation<I, O> {
  client: number;
  input: I;
  output: O | undefined;
  call: number;
  ret: number;
}

/** A sequential specification. `step` returns undefined when `output` is impossible from state `s`. */
export interface Model<S, I, O> {
  init(): S;
  /** The next state if `input` may produce `output` (undefined output = unknown: accept any). */
  step(s: S, input: I, output: O | undefined): S | undefined;
  /** A string identifying the state, for memoization. */
  hash(s: S): string;
  /** Splits the history into independent sub-histories (e.g. per key). */
  partition?(ops: Operation<I, O>[]): Operation<I, O>[][];
}

/** The verdict for a history. */
export interface CheckResult {
  result: "ok" | "illegal" | "unknown";
  /** For "illegal": the operations of the first failing partition. */
  failingPartition?: number;
  /** For "illegal": the longest prefix that could be linearized, as indices into the partition. */
  longest?: number[];
  /** Search steps used in total. */
  steps: number;
}

interface Node {
  id: number;
  isCall: boolean;
  time: number;
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

function buildList<I, O>(ops: Operation<I, O>[]): Node {
  const events: Node[] = [];
  ops.forEach((op, id) => {
    const call: Node = { id, isCall: true, time: op.call, match: undefined, prev: undefined, next: undefined };
    const ret: Node = { id, isCall: false, time: op.ret, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    events.push(call, ret);
  });
  // Calls before returns at equal times: touching intervals count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));
  const head: Node = { id: -1, isCall: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

function lift(n: Node): void {
  n.prev!.next = n.next;
  if (n.next) n.next.prev = n.prev;
  const m = n.match!;
  m.prev!.next = m.next;
  if (m.next) m.next.prev = m.prev;
}

function unlift(n: Node): void {
  const m = n.match!;
  m.prev!.next = m;
  if (m.next) m.next.prev = m;
  n.prev!.next = n;
  if (n.next) n.next.prev = n;
}

/** Checks one partition. Returns "ok", "illegal" (with the longest linearizable prefix) or "unknown" on budget. */
export function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  budget: number,
): { result: "ok" | "illegal" | "unknown"; steps: number; longest: number[] } {
  const head = buildList(ops);
  const words = Math.ceil(ops.length / 32) || 1;
  const bits = new Uint32Array(words);
  const seen = new Set<string>();
  const stack: { node: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  let longest: number[] = [];
  while (head.next) {
    if (++steps > budget) return { result: "unknown", steps, longest };
    if (!entry) throw new Error("lincheck: ran off the event list");
    if (entry.isCall) {
      const op = ops[entry.id];
      const next = model.step(state, op.input, op.output);
      if (next !== undefined) {
        bits[entry.id >>> 5] ^= 1 << (entry.id & 31);
        const key = bits.join(",") + "|" + model.hash(next);
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ node: entry, state });
          state = next;
          lift(entry);
          if (stack.length > longest.length) longest = stack.map((s) => s.node.id);
          entry = head.next;
          continue;
        }
        bits[entry.id >>> 5] ^= 1 << (entry.id & 31);
      }
      entry = entry.next;
    } else {
      // An operation returned before we could linearize it here: backtrack.
      const top = stack.pop();
      if (!top) return { result: "illegal", steps, longest };
      state = top.state;
      bits[top.node.id >>> 5] ^= 1 << (top.node.id & 31);
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return { result: "ok", steps, longest };
}

/** Checks a whole history, partition by partition, with a search budget per partition. */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  opts: { budgetPerPartition?: number } = {},
): CheckResult & { partitions: Operation<I, O>[][] } {
  const parts = model.partition ? model.partition(ops) : [ops];
  const budget = opts.budgetPerPartition ?? 2_000_000;
  let steps = 0;
  let unknown = false;
  for (let i = 0; i < parts.length; i++) {
    const r = checkPartition(model, parts[i], budget);
    steps += r.steps;
    if (r.result === "illegal") {
      return { result: "illegal", failingPartition: i, longest: r.longest, steps, partitions: parts };
    }
    if (r.result === "unknown") unknown = true;
  }
  return { result: unknown ? "unknown" : "ok", steps, partitions: parts };
}
