/**
 * A hand-driven cluster for scripted core tests (etcd-style): build nodes, step messages by hand or let them
 * flow, cut links, crash and restart, and assert on what comes out.
 * @module
 */

import type { Entry, Message, NodeId, ReadState, Snapshot } from "../types.ts";
import { Rng } from "../sim/prng.ts";
import { initialSnapshot } from "./bootstrap.ts";
import type { RaftConfig } from "./config.ts";
import { RaftCore } from "./core.ts";
import { MemoryLogStorage } from "./memory_storage.ts";

/** One test node: the core plus its "disk" and what it applied. */
export interface TestNode {
  id: NodeId;
  core: RaftCore;
  storage: MemoryLogStorage;
  applied: Entry[];
  readStates: ReadState[];
  up: boolean;
}

/** Options for {@link TestCluster}. */
export type ClusterOptions = Partial<Omit<RaftConfig, "id" | "storage" | "random">> & { seed?: number };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a string proposal. */
export const bytes = (s: string): Uint8Array => enc.encode(s);
/** Decodes entry data. */
export const text = (b: Uint8Array): string => dec.decode(b);

/** A set of cores wired through a message queue the test controls. */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Every message ever sent (for assertions). */
  sent: Message[] = [];
  #cut = new Set<string>();
  readonly opts: ClusterOptions;
  #rng: Rng;

  constructor(voters: NodeId[], opts: ClusterOptions = {}) {
    this.opts = opts;
    this.#rng = new Rng(opts.seed ?? 1);
    const boot = initialSnapshot(voters);
    for (const id of voters) this.add(id, new MemoryLogStorage(boot));
  }

  /** Adds a node with the given storage (an empty one for a joining node). */
  add(id: NodeId, storage = new MemoryLogStorage()): TestNode {
    const n: TestNode = { id, core: this.#newCore(id, storage), storage, applied: [], readStates: [], up: true };
    this.nodes.set(id, n);
    return n;
  }

  #newCore(id: NodeId, storage: MemoryLogStorage, applied?: number): RaftCore {
    const rng = this.#rng.fork();
    const { seed: _seed, ...rest } = this.opts;
    return new RaftCore({ ...rest, id, storage, random: () => rng.float(), ...(applied ? { applied } : {}) });
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** Persists, sends and applies one node's Ready (in that order), then advances. */
  process(id: NodeId): void {
    const n = this.node(id);
    if (!n.up) return;
    for (let i = 0; i < 100 && n.core.hasReady(); i++) {
      const rd = n.core.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      for (const m of rd.messages) {
        this.sent.push(m);
        this.queue.push(m);
      }
      n.applied.push(...rd.committed);
      n.readStates.push(...rd.readStates);
      n.core.advance(rd);
    }
  }

  processAll(): void {
    for (const id of this.nodes.keys()) this.process(id);
  }

  /** Delivers every queued message (dropping those on cut links or to down nodes, or when `drop` says so). */
  deliver(drop?: (m: Message) => boolean): number {
    const q = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of q) {
      const to = this.nodes.get(m.to);
      if (!to || !to.up || this.#cut.has(`${m.from}>${m.to}`) || drop?.(m)) continue;
      to.core.step(m);
      n++;
    }
    this.processAll();
    return n;
  }

  /** Lets messages flow until none is left. */
  stabilize(drop?: (m: Message) => boolean, rounds = 200): void {
    this.processAll();
    for (let i = 0; i < rounds && this.queue.length; i++) this.deliver(drop);
    if (this.queue.length) throw new Error("cluster did not stabilize");
  }

  /** Ticks one node `n` times, processing its Ready after each tick. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      if (!this.node(id).up) return;
      this.core(id).tick();
      this.process(id);
    }
  }

  /** Ticks every up node `n` times, delivering messages after each round. */
  tickAll(n = 1, drop?: (m: Message) => boolean): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.nodes.keys()) this.tick(id);
      this.stabilize(drop);
    }
  }

  /** Makes `id` campaign and lets the election finish. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.stabilize();
    const st = this.core(id).status();
    if (st.role !== "leader") throw new Error(`node ${id} did not win (role ${st.role}, term ${st.term})`);
  }

  /** Proposes `s` on `id` and returns the entry index. */
  propose(id: NodeId, s: string): number {
    const idx = this.core(id).propose(bytes(s));
    this.process(id);
    return idx;
  }

  cut(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}>${b}`);
    this.#cut.add(`${b}>${a}`);
  }

  /** Cuts one direction only. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.#cut.add(`${from}>${to}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.#cut.clear();
  }

  /** Loses everything not persisted. */
  crash(id: NodeId): void {
    this.node(id).up = false;
    this.queue = this.queue.filter((m) => m.from !== id);
  }

  /** Restarts from storage; `applied` defaults to the snapshot index (entries are re-applied). */
  restart(id: NodeId): void {
    const n = this.node(id);
    n.core = this.#newCore(id, n.storage);
    n.up = true;
    n.applied = [];
  }

  /** Leaders among up nodes. */
  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.up && n.core.status().role === "leader").map((n) => n.id);
  }

  /** Data of the normal, non-empty entries `id` applied. */
  appliedData(id: NodeId): string[] {
    return this.node(id).applied.filter((e) => e.type === "normal" && e.data.length).map((e) => text(e.data));
  }

  /** Takes a snapshot at the node's applied index and compacts its log. */
  compact(id: NodeId, data = bytes(`snap@${id}`)): Snapshot {
    const n = this.node(id);
    const st = n.core.status();
    const snap: Snapshot = {
      meta: { index: st.applied, term: n.core.term(st.applied)!, conf: st.conf, addrs: {} },
      data,
    };
    n.storage.compact(st.applied, snap);
    n.core.compact(st.applied, snap);
    return snap;
  }
}
