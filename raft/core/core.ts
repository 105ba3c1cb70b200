/**
 * The public face of the pure Raft core: ticks, messages, proposals and reads go in; {@link Ready} batches
 * come out. No I/O, no clock, no randomness but the injected one.
 * @module
 */

import type { ConfChange, ConfState, Entry, Message, NodeId, Ready, Role, Snapshot } from "../types.ts";
import type { RaftConfig } from "./config.ts";
import { ConfChangeError, NotLeaderError, ProposalDroppedError } from "./errors.ts";
import { bcastAppend, handleReadIndex, releasePendingReads } from "./replicate.ts";
import { RaftState } from "./state.ts";
import { hup, stepMessage, tick, transfer } from "./step.ts";
import { decodeConfChange, encodeConfChange, entrySize } from "./util.ts";

/** Replication progress of one peer as reported by {@link RaftCore.status}. */
export interface PeerStatus {
  match: number;
  next: number;
  state: string;
  recentActive: boolean;
}

/** A point-in-time view of a core. */
export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  leader: NodeId;
  role: Role;
  conf: ConfState;
  leadTransferee: NodeId;
  progress?: Record<NodeId, PeerStatus>;
}

/** A deterministic Raft peer in the manner of etcd-io/raft. */
export class RaftCore {
  readonly #r: RaftState;
  #prevHard: { term: number; vote: NodeId; commit: number };
  #prevSoft: { leader: NodeId; role: Role };

  constructor(cfg: RaftConfig) {
    this.#r = new RaftState(cfg);
    const r = this.#r;
    this.#prevHard = { term: r.term, vote: r.vote, commit: r.log.committed };
    this.#prevSoft = { leader: r.lead, role: r.reportedRole() };
  }

  /** One logical clock tick. */
  tick(): void {
    tick(this.#r);
  }

  /** Starts an election now (bootstrapping and tests). */
  campaign(): void {
    hup(this.#r, false);
  }

  /** Delivers one message from a peer (or a local "hup"/"beat"). */
  step(m: Message): void {
    stepMessage(this.#r, m);
  }

  #checkProposal(): void {
    const r = this.#r;
    if (r.role !== "leader") throw new NotLeaderError(r.lead);
    if (r.leadTransferee !== 0) throw new ProposalDroppedError(`leadership is moving to ${r.leadTransferee}`);
    if (!r.prs.has(r.id)) throw new ProposalDroppedError("this node was removed");
  }

  /** Appends a normal entry; returns its index. Throws {@link NotLeaderError} or {@link ProposalDroppedError}. */
  propose(data: Uint8Array): number {
    this.#checkProposal();
    const r = this.#r;
    if (r.uncommittedSize + data.length > r.cfg.maxUncommittedSize) {
      throw new ProposalDroppedError("too many uncommitted bytes (no quorum?)");
    }
    const idx = r.appendEntries([{ type: "normal", data }]);
    bcastAppend(r);
    return idx;
  }

  /** Appends a single-server membership change; returns its index. Throws {@link ConfChangeError}. */
  proposeConfChange(cc: ConfChange): number {
    this.#checkProposal();
    const r = this.#r;
    if (!r.committedInTerm()) throw new ConfChangeError("the leader has not committed an entry of its term yet");
    if (r.pendingConfIndex > r.log.applied) throw new ConfChangeError("another change is pending");
    const voter = r.voters.includes(cc.id), learner = r.learners.includes(cc.id);
    if (!Number.isInteger(cc.id) || cc.id <= 0) throw new ConfChangeError(`bad node id ${cc.id}`);
    switch (cc.type) {
      case "addLearner":
        if (voter || learner) throw new ConfChangeError(`${cc.id} is already a member`);
        break;
      case "addVoter":
        if (voter) throw new ConfChangeError(`${cc.id} is already a voter`);
        break;
      case "promote":
        if (!learner) throw new ConfChangeError(`${cc.id} is not a learner`);
        break;
      case "remove":
        if (!voter && !learner) throw new ConfChangeError(`${cc.id} is not a member`);
        if (voter && r.voters.length === 1) throw new ConfChangeError("cannot remove the last voter");
        break;
      default:
        throw new ConfChangeError(`unknown change type`);
    }
    const idx = r.appendEntries([{ type: "conf", data: encodeConfChange(cc) }]);
    r.pendingConfIndex = idx;
    bcastAppend(r);
    return idx;
  }

  /** Requests a linearizable read point; the answer arrives in Ready.readStates with the same context. */
  readIndex(context: Uint8Array): void {
    const r = this.#r;
    const m: Message = { type: "readIndex", from: r.id, to: r.lead, term: r.term, context };
    if (r.role === "leader") return handleReadIndex(r, m);
    if (r.lead === 0) throw new NotLeaderError(0);
    r.send(m);
  }

  /** Moves leadership to `to`: catch it up, then tell it to campaign at once. */
  transferLeader(to: NodeId): void {
    const r = this.#r;
    if (r.role !== "leader") throw new NotLeaderError(r.lead);
    transfer(r, to);
  }

  /** Whether there is anything to persist, send or apply (then call {@link ready}). */
  hasReady(): boolean {
    const r = this.#r;
    const hs = this.#prevHard, ss = this.#prevSoft;
    return r.msgs.length > 0 || r.readStates.length > 0 || r.log.unstable.entries.length > 0 ||
      r.log.unstable.snapshot !== undefined || r.log.hasNextCommitted() || hs.term !== r.term ||
      hs.vote !== r.vote || hs.commit !== r.log.committed || ss.leader !== r.lead || ss.role !== r.reportedRole();
  }

  /** What to persist, send and apply since the last call. Call {@link advance} once it is done. */
  ready(): Ready {
    const r = this.#r;
    const rd: Ready = {
      entries: r.log.unstableEntries(),
      committed: r.log.nextCommitted(r.cfg.maxCommittedSizePerReady),
      messages: r.msgs,
      readStates: r.readStates,
    };
    r.msgs = [];
    r.readStates = [];
    const hs = { term: r.term, vote: r.vote, commit: r.log.committed };
    const p = this.#prevHard;
    if (hs.term !== p.term || hs.vote !== p.vote || hs.commit !== p.commit) {
      rd.hardState = hs;
      this.#prevHard = hs;
    }
    const ss = { leader: r.lead, role: r.reportedRole() };
    if (ss.leader !== this.#prevSoft.leader || ss.role !== this.#prevSoft.role) {
      rd.softState = ss;
      this.#prevSoft = ss;
    }
    if (r.log.unstable.snapshot) rd.snapshot = r.log.unstable.snapshot;
    if (rd.committed.length) r.log.applying = rd.committed[rd.committed.length - 1].index;
    return rd;
  }

  /** Acknowledges that `rd` was persisted, sent and applied. Applies committed membership changes. */
  advance(rd: Ready): void {
    const r = this.#r;
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      r.log.appliedTo(rd.snapshot.meta.index);
    }
    if (rd.entries.length) {
      const last = rd.entries[rd.entries.length - 1];
      r.log.stableTo(last.index, last.term);
    }
    if (rd.committed.length === 0) return;
    let confChanged = false;
    for (const e of rd.committed) {
      if (e.type !== "conf") continue;
      r.applyConfChange(decodeConfChange(e.data));
      confChanged = true;
    }
    r.log.appliedTo(rd.committed[rd.committed.length - 1].index);
    if (r.transferCampaignTerm === r.term && r.role === "follower") {
      r.transferCampaignTerm = 0;
      hup(r, true);
    }
    if (!confChanged || r.role !== "leader") return;
    if (r.maybeCommit()) {
      releasePendingReads(r);
      bcastAppend(r);
    }
    if (!r.voters.includes(r.id) && r.leadTransferee === 0) {
      // We removed ourselves: hand over to the most up-to-date remaining voter.
      let best = 0, bestMatch = -1;
      for (const id of r.voters) {
        const m = r.prs.get(id)?.match ?? -1;
        if (m > bestMatch) [best, bestMatch] = [id, m];
      }
      if (best) transfer(r, best);
    }
  }

  /** The transport could not reach `id`: fall back to probing. */
  reportUnreachable(id: NodeId): void {
    const pr = this.#r.prs.get(id);
    if (pr && pr.state === "replicate") pr.becomeProbe();
  }

  /** The runtime's own snapshot delivery finished (or failed); the core also tracks chunk acks itself. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.#r.prs.get(id);
    if (!pr || pr.state !== "snapshot" || ok) return;
    this.#r.snapSending.delete(id);
    pr.becomeProbe();
    pr.probeSent = true;
  }

  /** The runtime took a snapshot at `index` and may drop the log up to it; followers behind get this one. */
  compact(index: number, snapshot: Snapshot): void {
    const r = this.#r;
    if (index > r.log.applied) throw new Error(`compact(${index}) beyond applied ${r.log.applied}`);
    if (!r.localSnapshot || r.localSnapshot.meta.index < snapshot.meta.index) r.localSnapshot = snapshot;
  }

  /** The current state, for the runtime, tests and the simulator. */
  status(): RaftStatus {
    const r = this.#r;
    const st: RaftStatus = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      leader: r.lead,
      role: r.reportedRole(),
      conf: r.conf(),
      leadTransferee: r.leadTransferee,
    };
    if (r.role === "leader") {
      st.progress = {};
      for (const [id, pr] of r.prs) {
        st.progress[id] = { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive };
      }
    }
    return st;
  }

  /** Entries [lo, hi) of the log (tests and the simulator). */
  entries(lo: number, hi: number): Entry[] | undefined {
    return this.#r.log.slice(lo, hi);
  }

  /** Term of `index`, if in the log. */
  term(index: number): number | undefined {
    return this.#r.log.term(index);
  }

  /** The size an entry counts for in flow control. */
  static entrySize = entrySize;
}
