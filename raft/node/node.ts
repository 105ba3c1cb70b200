/**
 * The Raft node runtime: drives a {@link RaftCore} with a tick timer, durable {@link DiskStorage} and the
 * authenticated {@link TcpTransport}, and applies committed entries to a {@link StateMachine}.
 *
 * Every Ready is handled in order: persist snapshot, entries and hard state with one fsync (group commit: what
 * arrived during the previous fsync is batched), then send, then apply, then advance. Inputs (messages, ticks,
 * proposals, reads) arriving while a Ready is in flight are queued and fed to the core afterwards.
 *
 * Normal entries with empty data are the leaders' no-ops and are not passed to the state machine.
 *
 * The members' addresses are kept by peers.ts and the snapshot schedule by snapshot.ts, so that this
 * module is only the loop that feeds the core and carries out its Ready.
 *
 * @module
 */

import { LagWindow } from "../lag_window.ts";
import { RaftCore } from "../core/mod.ts";
import { ConfChangeError, LostLogError, NotLeaderError, ProposalDroppedError } from "../core/mod.ts";
import { decodeConfChange } from "../core/mod.ts";
import { DiskStorage } from "../storage/disk.ts";
import { TcpTransport } from "../transport/tcp.ts";
import type { ConfChange, Entry, NodeId, Ready, Role, Snapshot, StateMachine } from "../types.ts";
import {
  NodeClosedError,
  type NodeStatus,
  ProposalFailedError,
  type RaftNodeConfig,
  UnknownOutcomeError,
} from "./types.ts";
import { Waiters } from "./waiters.ts";
import { coalesceAppends } from "./batch.ts";
import { bootstrapIfFresh, buildStatus } from "./status.ts";
import { PeerBook } from "./peers.ts";
import { NodeSnapshots } from "./snapshot.ts";
import { OwnConfView } from "./conf_check.ts";
import { logger } from "../../util/log.ts";

export * from "./types.ts";

const log = logger("raft-node");

/** A running Raft member. Create with {@link RaftNode.start}. */
export class RaftNode {
  private core!: RaftCore;
  private transport!: TcpTransport;
  private readonly peers: PeerBook;
  private inbox: (() => void)[] = [];
  private running = false;
  private scheduled = false;
  private loopDone: Promise<void> = Promise.resolve();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private fatal: Error | undefined;
  private applied = 0;
  private appliedTerm = 0;
  private readonly snaps: NodeSnapshots;
  private leader: NodeId = 0;
  private readonly lag = new LagWindow();
  private role: Role = "follower";
  private readonly w: Waiters;
  private readonly cfg: Required<Pick<RaftNodeConfig, "tickMs" | "electionTick" | "heartbeatTick">> & RaftNodeConfig;

  private constructor(cfg: RaftNodeConfig, private readonly sm: StateMachine, private readonly storage: DiskStorage) {
    const fast = cfg.profile === "fast";
    this.cfg = {
      ...cfg,
      tickMs: cfg.tickMs ?? (fast ? 50 : 100),
      electionTick: cfg.electionTick ?? 10,
      heartbeatTick: cfg.heartbeatTick ?? 1,
    };
    this.w = new Waiters(() => this.applied);
    this.peers = new PeerBook(cfg.id);
    this.snaps = new NodeSnapshots(cfg, storage, sm, this.peers);
  }

  /** Opens the data directory, recovers (or bootstraps) and starts ticking and listening. */
  static async start(cfg: RaftNodeConfig, sm: StateMachine): Promise<RaftNode> {
    if (!Number.isInteger(cfg.id) || cfg.id <= 0) throw new Error("raft node id must be a positive integer");
    const storage = await DiskStorage.open(cfg.dataDir, {
      clusterId: cfg.clusterId,
      nodeId: cfg.id,
      segmentBytes: cfg.segmentBytes,
    });
    const n = new RaftNode(cfg, sm, storage);
    try {
      await n.init();
    } catch (e) {
      storage.close();
      await n.transport?.close();
      throw e;
    }
    return n;
  }

  private async init(): Promise<void> {
    const { cfg, storage } = this;
    await bootstrapIfFresh(cfg, storage, this.sm);
    const snap = storage.snapshot();
    if (snap) this.restore(snap);
    this.peers.recover(storage);
    this.core = new RaftCore({
      id: cfg.id,
      electionTick: this.cfg.electionTick,
      heartbeatTick: this.cfg.heartbeatTick,
      random: cfg.random ?? Math.random,
      storage,
      applied: this.applied,
    });
    this.transport = await TcpTransport.start({
      id: cfg.id,
      listen: cfg.addr,
      advertise: cfg.advertise,
      clusterId: cfg.clusterId,
      clusterSecret: cfg.clusterSecret,
      tls: cfg.tls,
      meta: cfg.apiAddr,
      onMessage: (m) => this.enqueue(() => this.core.step(m)),
      onUnreachable: (id) => this.enqueue(() => this.core.reportUnreachable(id)),
      onSnapshotSent: (id, ok) => this.enqueue(() => this.core.reportSnapshot(id, ok)),
      onPeerAddr: (id, a, meta) => this.peers.heard(id, a, meta),
      admit: (id) => this.admits(id),
    });
    this.peers.attach(this.transport, cfg.apiAddr);
    let lastTick = performance.now();
    this.ticker = setInterval(() =>
      this.enqueue(() => {
        const now = performance.now();
        this.lag.note(now - lastTick - this.cfg.tickMs);
        lastTick = now;
        this.core.tick();
        this.flushReads();
      }), this.cfg.tickMs);
    log.info(`node ${cfg.id} listening on ${this.transport.addr}, applied ${this.applied}`);
    this.enqueue(() => {});
  }

  /**
   * Whether a peer that authenticated as `id` may talk to this node: a voter or learner of this node's
   * configuration (a learner being added is in the leader's before the leader first dials it), or anyone while this
   * node has no configuration yet (a fresh node waiting to be added hears first from a leader it cannot know).
   */
  private admits(id: NodeId): boolean {
    const conf = this.core.status().conf;
    if (conf.voters.length === 0 && conf.learners.length === 0) return true;
    return conf.voters.includes(id) || conf.learners.includes(id);
  }

  /** The address peers reach this node at. */
  get addr(): string {
    return this.transport.addr;
  }

  // --- client API ---

  /**
   * Proposes `data` and resolves with the state machine's result once the entry is applied here. Rejects with
   * {@link NotLeaderError} (with the leader's address) on a follower, {@link ProposalFailedError} when the entry
   * was dropped or overwritten, or {@link UnknownOutcomeError} after the timeout.
   */
  propose(data: Uint8Array): Promise<unknown> {
    if (data.length === 0) return Promise.reject(new Error("empty proposals are reserved for leader no-ops"));
    return this.request((resolve, reject) => {
      const index = this.core.propose(data);
      this.w.addProposal(index, this.core.term(index) ?? 0, resolve, reject, this.timeoutMs());
    });
  }

  /**
   * Linearizable read barrier (ReadIndex): resolves once this node has applied everything committed before the
   * call, confirmed by a quorum of the current leader. Works on followers too.
   */
  read(): Promise<void> {
    if (this.closed || this.fatal) return Promise.reject(this.fatal ?? new NodeClosedError("raft node closed"));
    return new Promise<void>((resolve, reject) => {
      this.w.queueRead(resolve, reject, this.cfg.readTimeoutMs ?? 5000);
      this.enqueue(() => this.flushReads());
    });
  }

  /** Adds a non-voting member at `addr`. Leader only. */
  addLearner(id: NodeId, addr: string): Promise<void> {
    return this.confChange({ type: "addLearner", id, addr });
  }

  /** Promotes a learner to voter once it has caught up with the leader's log. Leader only. */
  async promote(id: NodeId, maxLag = 100): Promise<void> {
    const deadline = Date.now() + this.timeoutMs();
    for (;;) {
      const st = this.core.status();
      const pr = st.progress?.[id];
      if (!pr) throw st.role === "leader" ? new Error(`${id} is not a member`) : this.notLeader();
      if (st.lastIndex - pr.match <= maxLag) break;
      if (Date.now() > deadline) {
        throw new Error(`learner ${id} did not catch up (match ${pr.match}, last ${st.lastIndex})`);
      }
      await new Promise((r) => setTimeout(r, this.cfg.tickMs));
    }
    return this.confChange({ type: "promote", id });
  }

  /** Removes a member. A leader cannot remove itself: transfer leadership first. */
  remove(id: NodeId): Promise<void> {
    if (id === this.cfg.id && this.role === "leader") {
      return Promise.reject(new Error("the leader cannot remove itself; transfer leadership first"));
    }
    return this.confChange({ type: "remove", id });
  }

  /** Moves leadership to voter `id`; resolves when this node sees `id` as leader. */
  async transferLeader(id: NodeId): Promise<void> {
    await this.request((resolve) => {
      this.core.transferLeader(id);
      resolve(undefined);
    });
    const deadline = Date.now() + 2 * this.cfg.electionTick * this.cfg.tickMs + 1000;
    while (this.leader !== id) {
      if (Date.now() > deadline) throw new Error(`leadership transfer to ${id} did not complete`);
      await new Promise((r) => setTimeout(r, Math.max(5, this.cfg.tickMs / 4)));
    }
  }

  /** The current leader's id (0 when unknown), Raft address and service address (when announced). */
  leaderInfo(): { id: NodeId; addr: string | undefined; apiAddr: string | undefined } {
    const id = this.leader;
    return { id, addr: id ? this.peers.addr(id) : undefined, apiAddr: id ? this.peers.apiAddr(id) : undefined };
  }

  /** A point-in-time status of this node and, on the leader, of every member's replication. */
  status(): NodeStatus {
    const st = this.storage.stats();
    return buildStatus(this.core.status(), {
      id: this.cfg.id,
      clusterId: this.cfg.clusterId,
      addr: this.transport.addr,
      applied: this.applied,
      snapshotIndex: this.snaps.index,
      addrs: this.peers.addrs,
      apiAddrs: this.peers.apiAddrs,
      metrics: {
        fsyncs: st.fsyncs,
        fsyncMsAvg: st.fsyncMsAvg,
        fsyncMsMax: st.fsyncMsMax,
        walSegments: st.segments,
        loopLagMsMax: this.lag.max(),
      },
    });
  }

  /** Stops the node: timers, transport, storage. Pending requests are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    await this.transport.close();
    await this.loopDone;
    this.storage.close();
    this.w.rejectAll(new NodeClosedError("raft node closed"));
  }

  // --- internals ---

  private timeoutMs(): number {
    return this.cfg.proposeTimeoutMs ?? 10_000;
  }

  private notLeader(): NotLeaderError {
    const l = this.leaderInfo();
    return new NotLeaderError(l.id, l.addr, l.apiAddr);
  }

  /** Issues one ReadIndex for every queued read; with no leader known, retries on the next tick. */
  private flushReads(): void {
    const batch = this.w.takeQueued();
    if (!batch) return;
    try {
      this.core.readIndex(batch.ctx);
    } catch (e) {
      if (e instanceof NotLeaderError && e.leader === 0) this.w.requeue(batch.ctx);
      else this.w.failBatch(batch.ctx, e instanceof NotLeaderError ? this.notLeader() : e as Error);
    }
  }

  private confChange(cc: ConfChange): Promise<void> {
    return this.request((resolve, reject) => {
      const index = this.core.proposeConfChange(cc);
      this.w.addProposal(index, this.core.term(index) ?? 0, resolve, reject, this.timeoutMs());
    }).then(() => {});
  }

  /** Runs `op` against the core inside the loop, translating core errors. */
  private request<T>(op: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    if (this.closed || this.fatal) return Promise.reject(this.fatal ?? new NodeClosedError("raft node closed"));
    return new Promise<T>((resolve, reject) => {
      this.enqueue(() => {
        try {
          op(resolve, reject);
        } catch (e) {
          if (e instanceof NotLeaderError) reject(this.notLeader());
          else if (e instanceof ProposalDroppedError || e instanceof ConfChangeError) {
            reject(new ProposalFailedError(e.message));
          } else reject(e as Error);
        }
      });
    });
  }

  private enqueue(op: () => void): void {
    if (this.closed || this.fatal) return;
    this.inbox.push(op);
    if (!this.running && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        if (!this.running) this.loopDone = this.loop();
      });
    }
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        const ops = this.inbox;
        this.inbox = [];
        for (const op of ops) {
          try {
            op();
          } catch (e) {
            if (e instanceof LostLogError) throw e;
            log.warn(`node ${this.cfg.id}: core rejected input: ${(e as Error).message}`);
          }
        }
        if (!this.core.hasReady()) {
          if (this.inbox.length === 0) break;
          continue;
        }
        const rd = this.core.ready();
        await this.handleReady(rd);
        this.core.advance(rd);
        this.w.releaseReads();
        if (this.snaps.due(this.applied)) await this.snaps.take(this.core, this.applied, this.appliedTerm);
      }
    } catch (e) {
      this.fail(e as Error);
    } finally {
      this.running = false;
    }
  }

  private fail(e: Error): void {
    log.error(`node ${this.cfg.id}: fatal: ${e.message}; stopping`);
    this.fatal = new NodeClosedError(`raft node stopped: ${e.message}`);
    clearInterval(this.ticker);
    this.w.rejectAll(this.fatal);
    this.transport.close().catch(() => {});
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) {
      const was = this.leader;
      this.leader = rd.softState.leader;
      this.role = rd.softState.role;
      if (was !== this.leader) {
        log.info(`node ${this.cfg.id}: leader is now ${this.leader || "unknown"} (${this.role})`);
      }
    }
    if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {
      await this.storage.save(rd.hardState, rd.entries, rd.snapshot);
    }
    if (rd.messages.length > 0) this.transport.send(coalesceAppends(rd.messages));
    if (rd.softState && this.cfg.onStateChange) {
      try {
        this.cfg.onStateChange({ leader: this.leader, role: this.role, term: this.core.status().term });
      } catch (e) {
        log.warn(`node ${this.cfg.id}: onStateChange threw: ${(e as Error).message}`);
      }
    }
    if (rd.snapshot) {
      this.restore(rd.snapshot);
      this.peers.installed(rd.snapshot.meta.addrs);
      this.w.failUpTo(this.applied);
      log.info(`node ${this.cfg.id}: installed snapshot at ${this.applied}`);
    }
    const own = rd.committed.some((e) => e.type === "conf") ? new OwnConfView(this.cfg.id, this.core.status().conf) : 0;
    for (const e of rd.committed) {
      if (own && e.type === "conf") own.apply(decodeConfChange(e.data));
      this.applyEntry(e);
    }
    for (const rs of rd.readStates) this.w.readIndexKnown(rs.context, rs.index);
  }

  /** Replaces the state machine's state with a snapshot's: everything up to its index counts as applied. */
  private restore(snap: Snapshot): void {
    this.sm.restore(snap.data);
    this.applied = this.snaps.index = snap.meta.index;
    this.appliedTerm = snap.meta.term;
  }

  private applyEntry(e: Entry): void {
    let result: unknown;
    let error: Error | undefined;
    if (e.type === "conf") {
      this.peers.applied(decodeConfChange(e.data));
    } else if (e.data.length > 0) {
      try {
        result = this.sm.apply(e);
      } catch (err) {
        error = err as Error;
      }
    }
    this.applied = e.index;
    this.appliedTerm = e.term;
    this.w.applied(e.index, e.term, result, error);
  }
}

export { UnknownOutcomeError };
