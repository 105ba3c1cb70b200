/**
 * The mutable state of one Raft peer and its role transitions. Message handling lives in `replicate.ts`
 * (leader side), `follower.ts` (receiving side) and `core.ts` (dispatch and the public API).
 * @module
 */

import type { ConfChange, ConfState, Message, NodeId, ReadState, Role, Snapshot, SnapshotMeta } from "../types.ts";
import { type FullConfig, type RaftConfig, withDefaults } from "./config.ts";
import { RaftLog } from "./log.ts";
import { Progress } from "./progress.ts";
import { majorityIndex } from "./quorum.ts";
import { ReadOnly } from "./read_only.ts";
import { decodeConfChange, entrySize } from "./util.ts";

/** A snapshot being reassembled from chunks on a follower. */
export interface SnapshotAssembly {
  meta: SnapshotMeta;
  parts: Uint8Array[];
  size: number;
}

/** Internal state of a peer. Not part of the public API: use {@link RaftCore}. */
export class RaftState {
  readonly id: NodeId;
  readonly cfg: FullConfig;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId = 0;
  lead: NodeId = 0;
  role: Role = "follower";
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  /** Leader only: replication progress of every member (including itself). */
  prs = new Map<NodeId, Progress>();
  /** Leader only: the snapshot being sent to a peer in snapshot state. */
  snapSending = new Map<NodeId, Snapshot>();
  votes = new Map<NodeId, boolean>();
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  readOnly = new ReadOnly();
  /** Leader only: read requests waiting for the first commit of the leader's term. */
  pendingReadIndex: Message[] = [];
  leadTransferee: NodeId = 0;
  /** Follower: a TimeoutNow of this term arrived while a conf change was pending; campaign once it is applied. */
  transferCampaignTerm = 0;
  /** Index of the last conf change appended by this leader (or its no-op): no new change until applied. */
  pendingConfIndex = 0;
  /** Leader only: bytes of proposed but not yet committed entries. */
  uncommittedSize = 0;
  snapRecv: SnapshotAssembly | undefined;
  /** The newest snapshot the runtime told us about (via compact). */
  localSnapshot: Snapshot | undefined;

  constructor(config: RaftConfig) {
    this.cfg = withDefaults(config);
    this.id = this.cfg.id;
    const storage = this.cfg.storage;
    const init = storage.initialState();
    this.log = new RaftLog(storage, this.cfg.applied);
    this.term = init.hardState.term;
    this.vote = init.hardState.vote;
    this.setConf(init.conf);
    // Conf entries between the storage's snapshot and the applied index were applied before the restart.
    // (Storage may keep entries before its snapshot index; those are already part of the snapshot's conf.)
    const from = Math.max(storage.firstIndex(), (storage.snapshot()?.meta.index ?? 0) + 1);
    if (this.log.applied >= from) {
      for (const e of this.log.slice(from, this.log.applied + 1) ?? []) {
        if (e.type === "conf") this.applyConfChange(decodeConfChange(e.data), false);
      }
    }
    this.becomeFollower(this.term, 0);
  }

  setConf(cs: ConfState): void {
    this.voters = [...cs.voters];
    this.learners = cs.learners.filter((id) => !cs.voters.includes(id));
  }

  conf(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  promotable(): boolean {
    return this.voters.includes(this.id);
  }

  isMember(id: NodeId): boolean {
    return this.voters.includes(id) || this.learners.includes(id);
  }

  send(m: Message): void {
    this.msgs.push(m);
  }

  resetRandomizedElectionTimeout(): void {
    const et = this.cfg.electionTick;
    const r = this.cfg.random();
    this.randomizedElectionTimeout = et + Math.min(et - 1, Math.floor(r * et));
  }

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = 0;
    this.transferCampaignTerm = 0;
    this.votes.clear();
    this.prs.clear();
    this.snapSending.clear();
    this.readOnly.reset();
    this.pendingReadIndex = [];
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  becomePreCandidate(): void {
    if (this.role === "leader") throw new Error("leader cannot become pre-candidate");
    this.votes.clear();
    this.lead = 0;
    this.role = "preCandidate";
  }

  becomeCandidate(): void {
    if (this.role === "leader") throw new Error("leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  becomeLeader(): void {
    if (this.role === "follower") throw new Error("follower cannot become leader");
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    const last = this.log.lastIndex();
    for (const id of [...this.voters, ...this.learners]) {
      this.addProgress(id, last + 1);
      // Peers must prove they are alive within the first check-quorum window.
      this.prs.get(id)!.recentActive = false;
    }
    const self = this.prs.get(this.id);
    if (self) {
      self.match = last;
      self.becomeReplicate();
      self.recentActive = true;
    }
    // The empty entry commits the leader's term; conf changes and reads wait for it.
    this.appendEntries([{ type: "normal", data: new Uint8Array() }]);
    this.pendingConfIndex = this.log.lastIndex();
    this.uncommittedSize = 0;
  }

  addProgress(id: NodeId, next: number): void {
    if (this.prs.has(id)) return;
    const pr = new Progress(next, this.cfg.maxInflightMsgs, !this.voters.includes(id));
    pr.recentActive = true;
    this.prs.set(id, pr);
  }

  /** Leader: appends new entries at the end of the log and counts our own acknowledgement. */
  appendEntries(ents: { type: "normal" | "conf"; data: Uint8Array }[]): number {
    let li = this.log.lastIndex();
    const full = ents.map((e) => ({ term: this.term, index: ++li, type: e.type, data: e.data }));
    for (const e of full) this.uncommittedSize += entrySize(e);
    li = this.log.append(full);
    this.prs.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
    return li;
  }

  /** Leader: advances commit to the majority match index if that entry is from the current term. */
  maybeCommit(): boolean {
    const mci = majorityIndex(this.voters, (id) => this.prs.get(id)?.match ?? 0);
    if (mci <= this.log.committed || this.log.term(mci) !== this.term) return false;
    const newly = this.log.slice(this.log.committed + 1, mci + 1) ?? [];
    for (const e of newly) this.uncommittedSize -= entrySize(e);
    if (this.uncommittedSize < 0) this.uncommittedSize = 0;
    this.log.commitTo(mci);
    return true;
  }

  /** Whether the leader has committed an entry of its own term. */
  committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Applies one committed conf change to the membership. */
  applyConfChange(cc: ConfChange, live = true): void {
    const { id } = cc;
    const drop = (xs: NodeId[]) => xs.filter((x) => x !== id);
    switch (cc.type) {
      case "addLearner":
        if (!this.voters.includes(id) && !this.learners.includes(id)) this.learners.push(id);
        break;
      case "addVoter":
      case "promote":
        this.learners = drop(this.learners);
        if (!this.voters.includes(id)) this.voters.push(id);
        break;
      case "remove":
        this.voters = drop(this.voters);
        this.learners = drop(this.learners);
        break;
    }
    if (!live || this.role !== "leader") return;
    if (cc.type === "remove") {
      this.prs.delete(id);
      this.snapSending.delete(id);
      if (this.leadTransferee === id) this.leadTransferee = 0;
      // A leader that removed itself keeps leading without counting itself, refuses proposals, and hands
      // leadership to a remaining voter (see RaftCore.advance); it steps down within an election timeout.
      if (id === this.id && this.voters.length === 0) this.becomeFollower(this.term, 0);
    } else {
      this.addProgress(id, this.log.lastIndex() + 1);
      const pr = this.prs.get(id);
      if (pr) pr.isLearner = !this.voters.includes(id);
    }
  }

  /** The role reported to the runtime. */
  reportedRole(): Role {
    if (this.role === "follower" && !this.voters.includes(this.id) && this.learners.includes(this.id)) {
      return "learner";
    }
    return this.role;
  }
}
