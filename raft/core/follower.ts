/**
 * Receiving side of replication: appends, heartbeats and snapshot chunks from the leader.
 * @module
 */

import type { Message, Snapshot } from "../types.ts";
import type { RaftState } from "./state.ts";
import { LostLogError } from "./errors.ts";

/** Follower: handles an append from the current leader. */
export function handleAppendEntries(r: RaftState, m: Message): void {
  const index = m.index ?? 0;
  const reply = (fields: Partial<Message>) =>
    r.send({ type: "appResp", from: r.id, to: m.from, term: r.term, ...fields });
  if (index < r.log.committed) {
    reply({ index: r.log.committed });
    return;
  }
  const lastNew = r.log.maybeAppend(index, m.logTerm ?? 0, m.commit ?? 0, m.entries ?? []);
  if (lastNew !== undefined) {
    reply({ index: lastNew });
    return;
  }
  // Tell the leader the highest index that can possibly match, so it skips a whole term per round trip.
  const hint = r.log.findConflictByTerm(Math.min(index, r.log.lastIndex()), m.logTerm ?? 0);
  reply({ index, reject: true, rejectHint: hint, logTerm: r.log.term(hint) ?? 0 });
}

/** Follower: handles a heartbeat (commit propagation and read confirmation). */
export function handleHeartbeat(r: RaftState, m: Message): void {
  // The leader sends min(our acknowledged match, its commit), so this never exceeds our durable log unless the
  // log was lost.
  if ((m.commit ?? 0) > r.log.lastIndex()) throw new LostLogError(m.commit!, r.log.lastIndex());
  r.log.commitTo(m.commit ?? 0);
  r.send({
    type: "heartbeatResp",
    from: r.id,
    to: m.from,
    term: r.term,
    ...(m.context ? { context: m.context } : {}),
  });
}

/** Follower: handles one InstallSnapshot chunk; the snapshot is restored once the last chunk arrives. */
export function handleSnapshotChunk(r: RaftState, m: Message): void {
  const s = m.snapshot;
  if (!s) return;
  const meta = s.meta;
  const appResp = (index: number) => r.send({ type: "appResp", from: r.id, to: m.from, term: r.term, index });
  const snapResp = (fields: Partial<Message>) =>
    r.send({
      type: "snapResp",
      from: r.id,
      to: m.from,
      term: r.term,
      index: meta.index,
      logTerm: meta.term,
      ...fields,
    });
  if (meta.index <= r.log.committed) {
    r.snapRecv = undefined;
    appResp(r.log.committed);
    return;
  }
  const same = r.snapRecv && r.snapRecv.meta.index === meta.index && r.snapRecv.meta.term === meta.term;
  if (s.offset === 0) r.snapRecv = { meta, parts: [], size: 0 };
  else if (!same || r.snapRecv!.size !== s.offset) {
    snapResp({ reject: true, rejectHint: same ? r.snapRecv!.size : 0 });
    return;
  }
  const asm = r.snapRecv!;
  asm.parts.push(s.data.slice());
  asm.size += s.data.length;
  if (!s.done) {
    snapResp({ rejectHint: asm.size });
    return;
  }
  r.snapRecv = undefined;
  const data = new Uint8Array(asm.size);
  let off = 0;
  for (const p of asm.parts) {
    data.set(p, off);
    off += p.length;
  }
  if (restore(r, { meta, data })) appResp(r.log.lastIndex());
  else appResp(r.log.committed);
}

/** Replaces the log and membership with a snapshot; false if we already have its content. */
export function restore(r: RaftState, snap: Snapshot): boolean {
  const { index, term } = snap.meta;
  if (index <= r.log.committed) return false;
  if (r.log.matchTerm(index, term)) {
    // Our log already contains the snapshot's last entry: just fast-forward the commit index.
    r.log.commitTo(index);
    return false;
  }
  r.log.restore(snap);
  r.setConf(snap.meta.conf);
  return true;
}
