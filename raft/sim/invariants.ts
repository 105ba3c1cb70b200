/**
 * Safety oracles checked while the simulation runs: election safety, log matching, leader completeness,
 * state machine safety, vote durability, and monotonic commit/applied indices.
 * @module
 */

import type { Entry, HardState, NodeId } from "../types.ts";
import type { RaftCore } from "../core/mod.ts";

/** Thrown to stop a simulation at the first violated invariant. */
export class Violation extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "Violation";
  }
}

const dec = new TextDecoder();

function entryKey(e: Entry): string {
  return `${e.type}:${dec.decode(e.data)}`;
}

/** Accumulates what every node has persisted/applied and checks it against what the others did. */
export class Checker {
  /** term → the node that led it. */
  #leaders = new Map<number, NodeId>();
  /** "index:term" → entry content, over every log entry ever persisted anywhere. */
  #entryAt = new Map<string, string>();
  /** index → "term|content" of the entry applied at that index (applied anywhere). */
  #applied: (string | undefined)[] = [];
  #appliedTerm: number[] = [];
  /** "node:term" → durable vote. */
  #votes = new Map<string, NodeId>();
  /** node → last durable hard state. */
  #hard = new Map<NodeId, HardState>();
  checks = 0;

  fail(msg: string): never {
    throw new Violation(msg);
  }

  /** Highest index known committed (applied by some node). */
  maxCommitted(): number {
    return this.#applied.length - 1;
  }

  /** Term of the entry applied at `index` anywhere, if any. */
  committedTerm(index: number): number | undefined {
    return this.#appliedTerm[index];
  }

  leader(term: number, id: NodeId): void {
    const prev = this.#leaders.get(term);
    if (prev === undefined) this.#leaders.set(term, id);
    else if (prev !== id) this.fail(`election safety: nodes ${prev} and ${id} both led term ${term}`);
  }

  persistedHardState(id: NodeId, hs: HardState): void {
    const prev = this.#hard.get(id);
    if (prev) {
      if (hs.term < prev.term) this.fail(`node ${id}: durable term went back ${prev.term} → ${hs.term}`);
      if (hs.commit < prev.commit) this.fail(`node ${id}: durable commit went back ${prev.commit} → ${hs.commit}`);
    }
    this.#hard.set(id, { ...hs });
    if (hs.vote !== 0) {
      const k = `${id}:${hs.term}`;
      const v = this.#votes.get(k);
      if (v === undefined) this.#votes.set(k, hs.vote);
      else if (v !== hs.vote) this.fail(`node ${id} voted for ${v} and ${hs.vote} in term ${hs.term}`);
    }
  }

  persistedEntries(id: NodeId, ents: readonly Entry[]): void {
    for (const e of ents) {
      const k = `${e.index}:${e.term}`;
      const c = entryKey(e);
      const prev = this.#entryAt.get(k);
      if (prev === undefined) this.#entryAt.set(k, c);
      else if (prev !== c) {
        this.fail(`log matching: node ${id} has a different entry at index ${e.index} term ${e.term}`);
      }
    }
  }

  appliedEntry(id: NodeId, e: Entry): void {
    const c = `${e.term}|${entryKey(e)}`;
    const prev = this.#applied[e.index];
    if (prev === undefined) {
      if (e.index > this.#applied.length) this.#applied.length = e.index;
      this.#applied[e.index] = c;
      this.#appliedTerm[e.index] = e.term;
    } else if (prev !== c) {
      this.fail(`state machine safety: node ${id} applied a different entry at index ${e.index}`);
    }
  }

  #maxLeaderTerm = 0;

  /**
   * A node just became leader: if its term is the highest yet, every entry committed so far was committed in a
   * lower term, so its log must hold them all (leader completeness). A leader of an older term (elected late by
   * delayed votes) is not bound by commits of newer terms.
   */
  newLeader(id: NodeId, core: RaftCore): void {
    const st = core.status();
    if (st.term <= this.#maxLeaderTerm) return;
    this.#maxLeaderTerm = st.term;
    const max = this.maxCommitted();
    if (st.lastIndex < max) {
      this.fail(`leader completeness: leader ${id} (term ${st.term}) ends at ${st.lastIndex} < ${max}`);
    }
    for (let i = Math.max(st.firstIndex, 1); i <= max; i++) {
      const want = this.#appliedTerm[i];
      if (want === undefined) continue;
      const t = core.term(i);
      if (t !== want) this.fail(`leader completeness: leader ${id} has term ${t} at ${i}, committed term ${want}`);
    }
  }

  /** Per-node sanity: applied ≤ commit ≤ last index. */
  nodeSanity(id: NodeId, core: RaftCore): { role: string; term: number } {
    const st = core.status();
    if (st.commit > st.lastIndex) this.fail(`node ${id}: commit ${st.commit} beyond last index ${st.lastIndex}`);
    if (st.applied > st.commit) this.fail(`node ${id}: applied ${st.applied} beyond commit ${st.commit}`);
    if (st.role === "leader") this.leader(st.term, id);
    return { role: st.role, term: st.term };
  }

  /** Full log matching between two live logs: once two logs agree on (index, term), all earlier entries agree. */
  logMatching(a: NodeId, ca: RaftCore, b: NodeId, cb: RaftCore): void {
    this.checks++;
    const sa = ca.status(), sb = cb.status();
    const lo = Math.max(sa.firstIndex, sb.firstIndex);
    const hi = Math.min(sa.lastIndex, sb.lastIndex);
    let i = hi;
    while (i >= lo && ca.term(i) !== cb.term(i)) i--;
    for (let j = i; j >= lo; j--) {
      if (ca.term(j) !== cb.term(j)) {
        this.fail(`log matching: nodes ${a} and ${b} agree at ${i} but differ at ${j}`);
      }
    }
    if (i >= lo) {
      const ea = ca.entries(lo, i + 1) ?? [], eb = cb.entries(lo, i + 1) ?? [];
      for (let k = 0; k < ea.length && k < eb.length; k++) {
        if (entryKey(ea[k]) !== entryKey(eb[k])) {
          this.fail(`log matching: nodes ${a} and ${b} differ at ${ea[k].index}`);
        }
      }
    }
  }
}
