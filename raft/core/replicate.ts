/**
 * Leader-side replication: appends with flow control, chunked snapshots, heartbeats, and the handling of
 * append/heartbeat/snapshot responses and ReadIndex requests.
 * @module
 */

import type { Message, NodeId, Snapshot } from "../types.ts";
import type { ReadIndexStatus } from "./read_only.ts";
import type { RaftState } from "./state.ts";
import { voteResult } from "./quorum.ts";

/** Heartbeat rounds without a snapshot response before the current chunk is sent again. */
const SNAPSHOT_RETRY_ROUNDS = 3;

/** Sends an append (or a snapshot) to `to` if flow control allows. Returns whether something was sent. */
export function sendAppend(r: RaftState, to: NodeId, sendIfEmpty = true): boolean {
  const pr = r.prs.get(to);
  if (!pr || to === r.id || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  const last = r.log.lastIndex();
  const ents = prevTerm === undefined ? undefined : r.log.slice(pr.next, last + 1, r.cfg.maxSizePerMsg);
  if (prevTerm === undefined || ents === undefined) return sendSnapshot(r, to);
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({
    type: "app",
    from: r.id,
    to,
    term: r.term,
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit: r.log.committed,
  });
  pr.sentEntries(ents.length ? ents[ents.length - 1].index : prevIndex, ents.length === 0);
  return true;
}

function newestSnapshot(r: RaftState): Snapshot | undefined {
  const a = r.log.storage.snapshot();
  const b = r.localSnapshot;
  if (!a) return b;
  if (!b) return a;
  return b.meta.index > a.meta.index ? b : a;
}

function sendSnapshot(r: RaftState, to: NodeId): boolean {
  const pr = r.prs.get(to);
  const snap = newestSnapshot(r);
  if (!pr || !snap) throw new Error(`need a snapshot for ${to} but storage has none`);
  if (snap.meta.index < r.log.firstIndex() - 1) throw new Error("newest snapshot is older than the log start");
  pr.becomeSnapshot(snap.meta.index);
  r.snapSending.set(to, snap);
  sendSnapshotChunk(r, to);
  return true;
}

/** Sends the chunk at the peer's current snapshot offset. */
export function sendSnapshotChunk(r: RaftState, to: NodeId): void {
  const pr = r.prs.get(to);
  const snap = r.snapSending.get(to);
  if (!pr || !snap || pr.state !== "snapshot") return;
  const off = Math.min(pr.snapOffset, snap.data.length);
  const data = snap.data.subarray(off, off + r.cfg.maxSnapshotChunk);
  r.send({
    type: "snap",
    from: r.id,
    to,
    term: r.term,
    snapshot: { meta: snap.meta, offset: off, data, done: off + data.length >= snap.data.length },
  });
  pr.snapIdle = 0;
}

/** Sends appends to every peer (used for new entries and commit propagation). */
export function bcastAppend(r: RaftState): void {
  for (const id of r.prs.keys()) if (id !== r.id) sendAppend(r, id);
}

/** Sends heartbeats, carrying the newest pending read context; retries stalled snapshot transfers. */
export function bcastHeartbeat(r: RaftState, context = r.readOnly.lastContext()): void {
  for (const [id, pr] of r.prs) {
    if (id === r.id) continue;
    r.send({
      type: "heartbeat",
      from: r.id,
      to: id,
      term: r.term,
      commit: Math.min(pr.match, r.log.committed),
      ...(context ? { context } : {}),
    });
    if (pr.state === "snapshot" && ++pr.snapIdle >= SNAPSHOT_RETRY_ROUNDS) sendSnapshotChunk(r, id);
  }
}

/** Leader: handles an append response. */
export function handleAppendResponse(r: RaftState, m: Message): void {
  const pr = r.prs.get(m.from);
  if (!pr || m.index === undefined) return;
  pr.recentActive = true;
  if (m.reject) {
    let next = m.rejectHint ?? 0;
    if ((m.logTerm ?? 0) > 0) next = r.log.findConflictByTerm(next, m.logTerm!);
    if (pr.maybeDecrTo(m.index, next)) {
      if (pr.state === "replicate") pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index)) return;
  if (pr.state === "probe") pr.becomeReplicate();
  else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
    r.snapSending.delete(m.from);
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === "replicate") pr.inflights.freeTo(m.index);

  if (r.maybeCommit()) {
    releasePendingReads(r);
    bcastAppend(r);
  } else if (wasPaused) {
    sendAppend(r, m.from);
  }
  // Stream what is left, as far as the in-flight window allows.
  for (let i = 0; i < r.cfg.maxInflightMsgs && pr.next <= r.log.lastIndex(); i++) {
    if (!sendAppend(r, m.from, false)) break;
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

/** Leader: handles a heartbeat response, possibly confirming pending reads. */
export function handleHeartbeatResponse(r: RaftState, m: Message): void {
  const pr = r.prs.get(m.from);
  if (!pr) return;
  pr.recentActive = true;
  pr.probeSent = false;
  // Appends in flight may have been lost; a live follower earns one more slot so the stream cannot stall.
  if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
  if (pr.match < r.log.lastIndex()) sendAppend(r, m.from);
  if (!m.context || m.context.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (!acks) return;
  const votes = new Map<NodeId, boolean>();
  for (const id of acks) votes.set(id, true);
  if (voteResult(r.voters, votes) !== "won") return;
  for (const rs of r.readOnly.advance(m.context)) respondRead(r, rs);
}

/** Leader: a follower reports the offset it expects next for the snapshot being sent. */
export function handleSnapshotResponse(r: RaftState, m: Message): void {
  const pr = r.prs.get(m.from);
  if (!pr) return;
  pr.recentActive = true;
  if (pr.state !== "snapshot" || m.index !== pr.pendingSnapshot) return;
  pr.snapOffset = m.rejectHint ?? 0;
  sendSnapshotChunk(r, m.from);
}

/** Leader: a ReadIndex request from the runtime (m.from === r.id) or forwarded by a follower. */
export function handleReadIndex(r: RaftState, m: Message): void {
  const ctx = m.context ?? new Uint8Array();
  if (r.voters.length === 1 && r.voters[0] === r.id) {
    respondRead(r, { index: r.log.committed, from: m.from, context: ctx, acks: new Set() });
    return;
  }
  if (!r.committedInTerm()) {
    // The commit index is not known to be current until an entry of this term commits (etcd #7331).
    r.pendingReadIndex.push(m);
    return;
  }
  if (r.readOnly.add(r.log.committed, m.from, ctx, r.id)) bcastHeartbeat(r, ctx);
}

/** Leader: serves reads that waited for the first commit of this term. */
export function releasePendingReads(r: RaftState): void {
  if (r.pendingReadIndex.length === 0 || !r.committedInTerm()) return;
  const pending = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const m of pending) handleReadIndex(r, m);
}

function respondRead(r: RaftState, rs: ReadIndexStatus): void {
  if (rs.from === r.id || rs.from === 0) {
    r.readStates.push({ index: rs.index, context: rs.context });
  } else {
    r.send({ type: "readIndexResp", from: r.id, to: rs.from, term: r.term, index: rs.index, context: rs.context });
  }
}

/** Tells the transfer target to campaign now. */
export function sendTimeoutNow(r: RaftState, to: NodeId): void {
  r.send({ type: "timeoutNow", from: r.id, to, term: r.term });
}
