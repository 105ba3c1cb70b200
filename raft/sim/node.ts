/**
 * One simulated node: the Raft core, the "disk" (a {@link MemoryLogStorage} that only ever holds what was
 * fsynced), the KV state machine and the client-facing request handling.
 * A Ready batch is processed in a separate event after an fsync delay; a crash before it loses that batch.
 * @module
 */

import { MemoryLogStorage, RaftCore } from "../core/mod.ts";
import type { NodeId, Snapshot } from "../types.ts";
import { decodeCommand, encodeCommand, type KvCommand, KvMachine, type KvResult } from "./kv.ts";
import type { Simulation } from "./sim.ts";

/** What a node answers a client. */
export type Reply =
  | { type: "ok"; result: KvResult; index: number }
  | { type: "value"; value: string | null }
  | { type: "redirect"; leader: NodeId }
  | { type: "retry" };

interface PendingRead {
  key: string;
  reply: (r: Reply) => void;
  index: number | undefined;
}

/** A simulated process hosting one Raft peer. */
export class SimNode {
  readonly id: NodeId;
  readonly storage: MemoryLogStorage;
  readonly kv = new KvMachine();
  core: RaftCore | undefined;
  alive = false;
  paused = false;
  /** Permanently stopped (removed from the group). */
  retired = false;
  incarnation = 0;
  applied = 0;
  #readyAt: number | undefined;
  #held: (() => void)[] = [];
  #props = new Map<number, { client: number; seq: number; reply: (r: Reply) => void }>();
  #reads = new Map<string, PendingRead>();
  #readSeq = 0;
  lastRole = "";
  lastTerm = 0;
  readonly #sim: Simulation;
  readonly #compactEvery: number;
  readonly #keep: number;

  constructor(sim: Simulation, id: NodeId, bootstrap: Snapshot | undefined, compactEvery: number, keep: number) {
    this.#sim = sim;
    this.id = id;
    this.storage = new MemoryLogStorage(bootstrap);
    this.#compactEvery = compactEvery;
    this.#keep = keep;
  }

  /** Starts (or restarts) the process from what is on its disk. */
  start(): void {
    const snap = this.storage.snapshot();
    this.kv.restore(snap?.data ?? new Uint8Array());
    this.applied = snap?.meta.index ?? 0;
    this.core = new RaftCore({
      id: this.id,
      electionTick: this.#sim.cfg.electionTick,
      heartbeatTick: this.#sim.cfg.heartbeatTick,
      checkQuorum: this.#sim.cfg.checkQuorum,
      preVote: this.#sim.cfg.preVote,
      maxInflightMsgs: this.#sim.cfg.maxInflight,
      maxSizePerMsg: this.#sim.cfg.maxSizePerMsg,
      maxSnapshotChunk: this.#sim.cfg.maxSnapshotChunk,
      random: () => this.#sim.rng.float(),
      storage: this.storage,
      applied: this.applied,
    });
    this.alive = true;
    this.paused = false;
    this.incarnation++;
    this.lastRole = "";
    this.lastTerm = 0;
    const inc = this.incarnation;
    const tickEvery = this.#sim.cfg.tickMs;
    const tickLoop = () => {
      if (!this.alive || this.incarnation !== inc) return;
      if (!this.paused) this.tick(1);
      this.#sim.schedule(tickEvery, tickLoop);
    };
    this.#sim.schedule(this.#sim.rng.int(1, tickEvery), tickLoop);
    this.kick();
  }

  /** Loses everything not fsynced: the core, in-flight batches, pending requests. */
  crash(): void {
    this.alive = false;
    this.paused = false;
    this.core = undefined;
    this.#readyAt = undefined;
    this.#held = [];
    this.#props.clear();
    this.#reads.clear();
    this.incarnation++;
  }

  pause(): void {
    if (this.alive) this.paused = true;
  }

  /** Resumes a paused process; `catchUpTicks` models timers firing all at once (a clock jump). */
  resume(catchUpTicks: number): void {
    if (!this.alive || !this.paused) return;
    this.paused = false;
    const held = this.#held;
    this.#held = [];
    for (const f of held) f();
    if (catchUpTicks > 0) this.tick(catchUpTicks);
    this.kick();
  }

  tick(n: number): void {
    if (!this.core) return;
    for (let i = 0; i < n; i++) this.core.tick();
    this.kick();
  }

  /** Runs `f` now, or when the process resumes if paused; drops it if the process is down. */
  #deliver(f: () => void): void {
    if (!this.alive) return;
    if (this.paused) this.#held.push(f);
    else f();
  }

  /** The transport could not reach `to` (and the message was a snapshot chunk if `snapshot`). */
  transportError(to: NodeId, snapshot: boolean): void {
    this.#deliver(() => {
      if (snapshot) this.core!.reportSnapshot(to, false);
      else this.core!.reportUnreachable(to);
      this.kick();
    });
  }

  receive(m: Parameters<RaftCore["step"]>[0]): void {
    this.#deliver(() => {
      this.core!.step(m);
      this.kick();
    });
  }

  /** Schedules processing of the core's Ready after an fsync delay. */
  kick(): void {
    if (!this.alive || this.#readyAt !== undefined) return;
    const inc = this.incarnation;
    this.#readyAt = this.#sim.now + this.#sim.fsyncDelay();
    this.#sim.scheduleAt(this.#readyAt, () => {
      if (this.incarnation !== inc) return;
      this.#readyAt = undefined;
      if (this.paused) {
        this.#held.push(() => this.kick());
        return;
      }
      this.#handleReady();
    });
  }

  #handleReady(): void {
    const core = this.core!;
    const chk = this.#sim.checker;
    for (let round = 0; round < 16 && core.hasReady(); round++) {
      const rd = core.ready();
      // 1. Persist (this is the fsync).
      if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length) {
        chk.persistedEntries(this.id, rd.entries);
        this.storage.append(rd.entries);
      }
      if (rd.hardState) {
        this.storage.setHardState(rd.hardState);
        chk.persistedHardState(this.id, this.storage.hardState());
      }
      // 2. Send.
      for (const m of rd.messages) this.#sim.network.send(m);
      // 3. Apply.
      if (rd.snapshot) {
        this.kv.restore(rd.snapshot.data);
        this.applied = rd.snapshot.meta.index;
      }
      for (const e of rd.committed) {
        if (e.index !== this.applied + 1) chk.fail(`node ${this.id}: applying ${e.index} after ${this.applied}`);
        chk.appliedEntry(this.id, e);
        const res = this.kv.apply(e);
        this.applied = e.index;
        const p = this.#props.get(e.index);
        if (p) {
          this.#props.delete(e.index);
          const cmd = e.type === "normal" ? decodeCommand(e.data) : undefined;
          if (cmd && res && cmd.client === p.client && cmd.seq === p.seq) {
            p.reply({ type: "ok", result: res, index: e.index });
          } else p.reply({ type: "retry" });
        }
      }
      for (const rs of rd.readStates) {
        const p = this.#reads.get(new TextDecoder().decode(rs.context));
        if (p) p.index = rs.index;
      }
      core.advance(rd);
      this.#serveReads();
      this.#maybeCompact();
    }
    if (core.hasReady()) this.kick();
  }

  #serveReads(): void {
    for (const [k, p] of this.#reads) {
      if (p.index !== undefined && this.applied >= p.index) {
        this.#reads.delete(k);
        p.reply({ type: "value", value: this.kv.get(p.key) });
      }
    }
  }

  #maybeCompact(): void {
    const core = this.core!;
    const first = this.storage.firstIndex();
    const snapIndex = this.storage.snapshot()?.meta.index ?? 0;
    if (this.applied - Math.max(first - 1, snapIndex) < this.#compactEvery) return;
    const st = core.status();
    const term = core.term(this.applied);
    if (term === undefined) return;
    const snap: Snapshot = {
      meta: { index: this.applied, term, conf: st.conf, addrs: {} },
      data: this.kv.snapshot(),
    };
    // Like the real runtime, sometimes keep a few entries before the snapshot for slightly lagging followers.
    this.storage.compact(Math.max(first - 1, this.applied - this.#keep), snap);
    core.compact(this.applied, snap);
  }

  /** A client write arrives. */
  write(cmd: KvCommand, reply: (r: Reply) => void): void {
    this.#deliver(() => {
      try {
        const idx = this.core!.propose(encodeCommand(cmd));
        this.#props.set(idx, { client: cmd.client, seq: cmd.seq, reply });
      } catch (e) {
        reply({ type: "redirect", leader: (e as { leader?: number }).leader ?? 0 });
      }
      this.kick();
    });
  }

  /** A client linearizable read arrives (served via ReadIndex, on leaders and followers alike). */
  read(key: string, reply: (r: Reply) => void): void {
    this.#deliver(() => {
      const ctx = `${this.id}/${this.incarnation}/${++this.#readSeq}`;
      try {
        this.core!.readIndex(new TextEncoder().encode(ctx));
        this.#reads.set(ctx, { key, reply, index: undefined });
      } catch (e) {
        reply({ type: "redirect", leader: (e as { leader?: number }).leader ?? 0 });
      }
      this.kick();
    });
  }
}
