/**
 * When and how a Raft node snapshots its state machine to bound the log: every `snapshotInterval` applied entries
 * the state is saved with the membership and the members' addresses, then the core and the WAL drop the entries
 * it covers, except the last `snapshotTrailing` ones, so that a follower briefly behind still catches up from
 * the log instead of receiving the whole snapshot.
 * @module
 */

import type { RaftCore } from "../core/mod.ts";
import type { DiskStorage } from "../storage/disk.ts";
import type { Snapshot, StateMachine } from "../types.ts";
import type { RaftNodeConfig } from "./types.ts";
import type { PeerBook } from "./peers.ts";
import { logger } from "../../util/log.ts";

const log = logger("raft-node");

/** One node's snapshot schedule; see the module documentation. */
export class NodeSnapshots {
  /** Log index of the latest snapshot, taken here or installed (recovered or sent by the leader). */
  index = 0;

  constructor(
    private readonly cfg: Pick<RaftNodeConfig, "id" | "snapshotInterval" | "snapshotTrailing">,
    private readonly storage: DiskStorage,
    private readonly sm: StateMachine,
    /** Where the members' addresses come from: a snapshot records them for nodes that recover from it. */
    private readonly peers: PeerBook,
  ) {}

  /** Whether enough entries were applied since the latest snapshot to take a new one. */
  due(applied: number): boolean {
    return applied - this.index >= (this.cfg.snapshotInterval ?? 10_000);
  }

  /**
   * Snapshots the state machine at `applied` (the caller has applied exactly up to that entry), then compacts the
   * core's log and the WAL behind it.
   */
  async take(core: RaftCore, applied: number, appliedTerm: number): Promise<void> {
    const { storage } = this;
    const st = core.status();
    const snap: Snapshot = {
      meta: { index: applied, term: appliedTerm, conf: st.conf, addrs: this.peers.forSnapshot(st.conf) },
      data: this.sm.snapshot(),
    };
    await storage.createSnapshot(snap);
    this.index = applied;
    core.compact(applied, snap);
    const upTo = applied - (this.cfg.snapshotTrailing ?? 1000);
    if (upTo >= storage.firstIndex()) await storage.compact(upTo);
    log.debug(`node ${this.cfg.id}: snapshot at ${applied}, log from ${storage.firstIndex()}`);
  }
}
