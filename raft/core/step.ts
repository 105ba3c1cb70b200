/**
 * Message dispatch: term rules, elections (pre-vote, vote, stickiness), role-specific handling, ticks and
 * leadership transfer. Operates on {@link RaftState}; {@link RaftCore} is the public wrapper.
 * @module
 */

import type { Message, NodeId } from "../types.ts";
import { handleAppendEntries, handleHeartbeat, handleSnapshotChunk } from "./follower.ts";
import { voteResult } from "./quorum.ts";
import {
  bcastAppend,
  bcastHeartbeat,
  handleAppendResponse,
  handleHeartbeatResponse,
  handleReadIndex,
  handleSnapshotResponse,
  sendAppend,
  sendTimeoutNow,
} from "./replicate.ts";
import type { RaftState } from "./state.ts";
import { bytesEqual } from "./util.ts";

/** Marks a vote request caused by leader transfer: it overrides the "leader is alive" vote rejection. */
const TRANSFER_CONTEXT = new TextEncoder().encode("raft-transfer");

/** One logical clock tick. */
export function tick(r: RaftState): void {
  if (r.role !== "leader") {
    r.electionElapsed++;
    if (r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout) {
      r.electionElapsed = 0;
      hup(r, false);
    }
    return;
  }
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.cfg.electionTick) {
    r.electionElapsed = 0;
    if (r.cfg.checkQuorum && !quorumActive(r)) {
      r.becomeFollower(r.term, 0);
      return;
    }
    if (!r.voters.includes(r.id)) {
      // Removed (thesis §4.2.2): the hand-over had its chance; step down.
      r.becomeFollower(r.term, 0);
      return;
    }
    // A transfer that did not finish within an election timeout is abandoned.
    r.leadTransferee = 0;
  }
  if (r.heartbeatElapsed >= r.cfg.heartbeatTick) {
    r.heartbeatElapsed = 0;
    bcastHeartbeat(r);
  }
}

function quorumActive(r: RaftState): boolean {
  const votes = new Map<NodeId, boolean>();
  for (const [id, pr] of r.prs) {
    if (id === r.id || pr.recentActive) votes.set(id, true);
    pr.recentActive = id === r.id;
  }
  return voteResult(r.voters, votes) === "won";
}

/** Starts an election (a pre-vote first unless this is a leadership transfer). */
export function hup(r: RaftState, transfer: boolean): void {
  if (r.role === "leader" || !r.promotable()) return;
  // Our membership may be about to change: do not campaign on a configuration we have not applied yet.
  if (r.log.committed > r.log.applied) {
    const pending = r.log.slice(r.log.applied + 1, r.log.committed + 1) ?? [];
    if (pending.some((e) => e.type === "conf")) {
      // A transfer request is honoured once the pending change is applied (RaftCore.advance).
      if (transfer) r.transferCampaignTerm = r.term;
      return;
    }
  }
  campaign(r, r.cfg.preVote && !transfer ? "preVote" : "vote", transfer);
}

function campaign(r: RaftState, kind: "preVote" | "vote", transfer: boolean): void {
  let term: number;
  if (kind === "preVote") {
    r.becomePreCandidate();
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    term = r.term;
  }
  r.votes.set(r.id, true);
  if (voteResult(r.voters, r.votes) === "won") {
    if (kind === "preVote") campaign(r, "vote", transfer);
    else becomeLeader(r);
    return;
  }
  for (const id of r.voters) {
    if (id === r.id) continue;
    r.send({
      type: kind,
      from: r.id,
      to: id,
      term,
      index: r.log.lastIndex(),
      logTerm: r.log.lastTerm(),
      ...(transfer ? { context: TRANSFER_CONTEXT } : {}),
    });
  }
}

function becomeLeader(r: RaftState): void {
  r.becomeLeader();
  bcastAppend(r);
}

/** Delivers one message from a peer (or a local "hup"/"beat"). */
export function stepMessage(r: RaftState, m: Message): void {
  if (m.type === "hup") return hup(r, false);
  if (m.type === "beat") {
    if (r.role === "leader") bcastHeartbeat(r);
    return;
  }
  if (m.term > r.term) {
    if (m.type === "vote" || m.type === "preVote") {
      const force = bytesEqual(m.context, TRANSFER_CONTEXT);
      const inLease = r.cfg.checkQuorum && r.lead !== 0 && r.electionElapsed < r.cfg.electionTick;
      // A node that recently heard from a live leader neither updates its term nor votes (thesis §4.2.3).
      if (!force && inLease) return;
    }
    if (m.type === "preVote") {
      // A pre-vote never changes our term.
    } else if (m.type === "preVoteResp" && !m.reject) {
      // Granted pre-votes carry the future term; the term changes only if we win and campaign.
    } else {
      const leaderMsg = m.type === "app" || m.type === "heartbeat" || m.type === "snap";
      r.becomeFollower(m.term, leaderMsg ? m.from : 0);
    }
  } else if (m.term < r.term) {
    if ((r.cfg.checkQuorum || r.cfg.preVote) && (m.type === "heartbeat" || m.type === "app" || m.type === "snap")) {
      // Tell a stale leader about the newer term so that it steps down.
      r.send({ type: "appResp", from: r.id, to: m.from, term: r.term });
    } else if (m.type === "preVote") {
      r.send({ type: "preVoteResp", from: r.id, to: m.from, term: r.term, reject: true });
    }
    return;
  }

  if (m.type === "vote" || m.type === "preVote") return handleVote(r, m);
  switch (r.role) {
    case "leader":
      return stepLeader(r, m);
    case "candidate":
    case "preCandidate":
      return stepCandidate(r, m);
    default:
      return stepFollower(r, m);
  }
}

function handleVote(r: RaftState, m: Message): void {
  const pre = m.type === "preVote";
  // An empty log (no bootstrap snapshot, no entry) is a member that lost its data dir or has not been brought up to
  // date yet: its vote could elect a candidate lacking entries it once acknowledged. It votes once a leader has sent
  // it the group's state. Founders start from the bootstrap snapshot at index 1, so they always vote.
  const canVote = r.log.lastIndex() > 0 &&
    (r.vote === m.from || (r.vote === 0 && r.lead === 0) || (pre && m.term > r.term));
  const respType = pre ? "preVoteResp" : "voteResp";
  if (canVote && r.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
    r.send({ type: respType, from: r.id, to: m.from, term: m.term, reject: false });
    if (!pre) {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.send({ type: respType, from: r.id, to: m.from, term: r.term, reject: true });
  }
}

function stepLeader(r: RaftState, m: Message): void {
  switch (m.type) {
    case "appResp":
      return handleAppendResponse(r, m);
    case "heartbeatResp":
      return handleHeartbeatResponse(r, m);
    case "snapResp":
      return handleSnapshotResponse(r, m);
    case "readIndex":
      return handleReadIndex(r, m);
    case "transferLeader":
      return transfer(r, m.from);
  }
}

function stepCandidate(r: RaftState, m: Message): void {
  switch (m.type) {
    case "app":
    case "heartbeat":
    case "snap":
      r.becomeFollower(m.term, m.from);
      return stepFollower(r, m);
    case "voteResp":
    case "preVoteResp": {
      if ((m.type === "voteResp") !== (r.role === "candidate")) return;
      r.votes.set(m.from, !m.reject);
      const res = voteResult(r.voters, r.votes);
      if (res === "won") {
        if (r.role === "preCandidate") campaign(r, "vote", false);
        else becomeLeader(r);
      } else if (res === "lost") {
        r.becomeFollower(r.term, 0);
      }
    }
  }
}

function stepFollower(r: RaftState, m: Message): void {
  switch (m.type) {
    case "app":
      r.electionElapsed = 0;
      r.lead = m.from;
      return handleAppendEntries(r, m);
    case "heartbeat":
      r.electionElapsed = 0;
      r.lead = m.from;
      return handleHeartbeat(r, m);
    case "snap":
      r.electionElapsed = 0;
      r.lead = m.from;
      return handleSnapshotChunk(r, m);
    case "timeoutNow":
      return hup(r, true);
    case "readIndexResp":
      if (m.context) r.readStates.push({ index: m.index ?? 0, context: m.context });
      return;
  }
}

/** Leader: moves leadership to `to` (catch it up first, then TimeoutNow). */
export function transfer(r: RaftState, to: NodeId): void {
  const pr = r.prs.get(to);
  if (!pr || pr.isLearner || to === r.id) return;
  if (r.leadTransferee === to) return;
  r.leadTransferee = to;
  r.electionElapsed = 0;
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, to);
  else sendAppend(r, to);
}
