/**
 * A seeded deterministic simulation of a Raft group running a KV workload under faults.
 * One seed gives one execution: all time is virtual and all randomness comes from one {@link Rng}.
 * @module
 */

import { checkOperations, kvModel, type KvOperation } from "../lincheck/mod.ts";
import { initialSnapshot } from "../core/mod.ts";
import type { NodeId } from "../types.ts";
import { Client } from "./clients.ts";
import { EventQueue } from "./heap.ts";
import { Checker, Violation } from "./invariants.ts";
import { membership, nemesisStep, reap } from "./nemesis.ts";
import { Network } from "./network.ts";
import { SimNode } from "./node.ts";
import { Rng } from "./prng.ts";

/** The knobs of one simulation, derived from the seed. */
export interface SimConfig {
  seed: number;
  nodes: number;
  maxMembers: number;
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  maxInflight: number;
  maxSizePerMsg: number;
  maxSnapshotChunk: number;
  compactEvery: number;
  /** Entries kept before the snapshot index when compacting. */
  keepEntries: number;
  keys: string[];
  clients: number;
  durationMs: number;
  quietMs: number;
  faultEveryMs: number;
  maxDelayMs: number;
  /** Mostly on (the default); off in some seeds so that stale leaders live longer and read bugs show. */
  checkQuorum: boolean;
  preVote: boolean;
  /** Fault profile: see PROFILES in nemesis.ts. */
  profile: string;
  trace: boolean;
}

/** The outcome of one seed. */
export interface SimResult {
  seed: number;
  violation: string | undefined;
  traceHash: string;
  stats: { events: number; messages: number; ops: number; acked: number; commit: number; lincheck: string };
  config: SimConfig;
}

/** Options of {@link runSimulation}. */
export interface SimOptions {
  seed: number;
  trace?: boolean;
  /** Where trace lines go (default: console.log). */
  log?: (line: string) => void;
  durationMs?: number;
  quietMs?: number;
  /** Force a fault profile (see PROFILES in nemesis.ts) instead of the seed's. */
  profile?: string;
}

function pickProfile(rng: Rng, forced: string | undefined): string {
  const drawn = rng.pick(["mixed", "mixed", "churn", "network", "membership"]);
  return forced ?? drawn;
}

/** Derives a configuration from the seed. */
export function configFor(opts: SimOptions): SimConfig {
  const rng = new Rng(opts.seed ^ 0x5eed);
  const nodes = rng.chance(0.5) ? 3 : 5;
  return {
    seed: opts.seed,
    nodes,
    maxMembers: nodes + 2,
    tickMs: 10,
    electionTick: 10,
    heartbeatTick: rng.pick([1, 2, 3]),
    maxInflight: rng.pick([1, 4, 64]),
    maxSizePerMsg: rng.pick([64, 1024, 1 << 20]),
    maxSnapshotChunk: rng.pick([16, 128, 4096]),
    compactEvery: rng.pick([8, 30, 120]),
    keepEntries: rng.pick([0, 0, 5]),
    keys: ["a", "b", "c", "d"].slice(0, rng.int(1, 4)),
    clients: rng.int(2, 5),
    durationMs: opts.durationMs ?? 6000,
    quietMs: opts.quietMs ?? 2500,
    faultEveryMs: rng.pick([60, 100, 250, 500]),
    maxDelayMs: rng.pick([2, 5, 15, 40]),
    checkQuorum: rng.chance(0.8),
    preVote: rng.chance(0.8),
    profile: pickProfile(rng, opts.profile),
    trace: opts.trace ?? false,
  };
}

/** The world: virtual clock, event queue, network, nodes, clients and oracles. */
export class Simulation {
  readonly cfg: SimConfig;
  readonly rng: Rng;
  readonly queue = new EventQueue();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly network: Network;
  readonly checker = new Checker();
  readonly history: KvOperation[] = [];
  readonly clients: Client[] = [];
  now = 0;
  quiet = false;
  events = 0;
  lastAck = -1;
  #hash = 0x811c9dc5;
  #nextId: NodeId;
  #created = new Map<NodeId, number>();
  #acked: number[] = [];
  #notMember = new Map<NodeId, number>();
  readonly #log: (line: string) => void;

  constructor(opts: SimOptions) {
    this.cfg = configFor(opts);
    this.rng = new Rng(opts.seed);
    this.network = new Network(this);
    this.#log = opts.log ?? ((l) => console.log(l));
    const ids = Array.from({ length: this.cfg.nodes }, (_, i) => i + 1);
    this.#nextId = ids.length + 1;
    const boot = initialSnapshot(ids);
    for (const id of ids) {
      this.nodes.set(id, new SimNode(this, id, boot, this.cfg.compactEvery, this.cfg.keepEntries));
      this.#created.set(id, 0);
    }
  }

  log(line: string): void {
    if (this.cfg.trace) this.#log(`${String(this.now).padStart(6)} ${line}`);
  }

  /** Folds numbers into the trace hash (same seed → same hash). */
  mix(...xs: (number | string)[]): void {
    let h = this.#hash;
    for (const x of xs) {
      const v = typeof x === "number" ? x | 0 : x.length;
      h = Math.imul(h ^ (v & 0xff), 0x01000193);
      h = Math.imul(h ^ ((v >>> 8) & 0xffffff), 0x01000193);
    }
    this.#hash = h >>> 0;
  }

  traceHash(): string {
    return this.#hash.toString(16).padStart(8, "0");
  }

  schedule(delay: number, fn: () => void): void {
    this.queue.push(this.now + delay, fn);
  }

  scheduleAt(at: number, fn: () => void): void {
    this.queue.push(Math.max(at, this.now), fn);
  }

  netDelay(): number {
    if (this.rng.chance(0.03)) return this.rng.int(this.cfg.maxDelayMs, 80);
    return this.rng.int(1, this.cfg.maxDelayMs);
  }

  fsyncDelay(): number {
    return this.rng.int(0, 3);
  }

  /** The live leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (!n.alive || n.paused || !n.core) continue;
      const st = n.core.status();
      if (st.role === "leader" && st.term > bestTerm) {
        best = n;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Nodes a client may talk to. */
  memberNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.retired);
  }

  addNode(): NodeId {
    const id = this.#nextId++;
    const n = new SimNode(this, id, undefined, this.cfg.compactEvery, this.cfg.keepEntries);
    this.nodes.set(id, n);
    this.#created.set(id, this.now);
    n.start();
    return id;
  }

  retire(id: NodeId): void {
    const n = this.nodes.get(id);
    if (!n || n.retired) return;
    this.log(`retire ${id}`);
    n.crash();
    n.retired = true;
  }

  createdAt(id: NodeId): number {
    return this.#created.get(id) ?? 0;
  }

  markMember(id: NodeId): void {
    this.#notMember.delete(id);
  }

  notMemberSince(id: NodeId): number {
    const t = this.#notMember.get(id);
    if (t !== undefined) return t;
    this.#notMember.set(id, this.now);
    return this.now;
  }

  ackedWrite(index: number): void {
    this.lastAck = this.now;
    this.#acked.push(index);
    this.mix(index);
  }

  #afterEvent(): void {
    for (const n of this.nodes.values()) {
      if (!n.alive || !n.core) continue;
      const { role, term } = this.checker.nodeSanity(n.id, n.core);
      if (role === "leader" && (n.lastRole !== "leader" || n.lastTerm !== term)) {
        this.log(`leader ${n.id} term ${term}`);
        this.checker.newLeader(n.id, n.core);
      }
      n.lastRole = role;
      n.lastTerm = term;
    }
    if (this.events % 64 === 0) this.#fullLogMatching();
  }

  #fullLogMatching(): void {
    const live = [...this.nodes.values()].filter((n) => n.alive && n.core);
    for (let i = 0; i < live.length; i++) {
      for (let j = i + 1; j < live.length; j++) {
        this.checker.logMatching(live[i].id, live[i].core!, live[j].id, live[j].core!);
      }
    }
  }

  /** Every acknowledged write is in the final leader's log, at its index, with the committed term. */
  #checkAckedWrites(): void {
    const l = this.leader();
    if (!l) return;
    const core = l.core!;
    const st = core.status();
    for (const idx of this.#acked) {
      if (idx > st.lastIndex) {
        this.checker.fail(`acknowledged write at ${idx} missing on leader ${l.id} (last ${st.lastIndex})`);
      }
      if (idx < st.firstIndex) continue;
      const want = this.checker.committedTerm(idx);
      if (core.term(idx) !== want) this.checker.fail(`acknowledged write at ${idx} lost on leader ${l.id}`);
    }
  }

  #runUntil(end: number): void {
    for (;;) {
      const t = this.queue.peekTime();
      if (t === undefined || t > end) break;
      const ev = this.queue.pop()!;
      this.now = ev.at;
      this.events++;
      ev.fn();
      this.#afterEvent();
    }
    this.now = end;
  }

  /** Runs the whole scenario: faults and workload, then a quiet period that must make progress. */
  run(): void {
    const { durationMs, quietMs } = this.cfg;
    for (const n of this.nodes.values()) n.start();
    for (let i = 0; i < this.cfg.clients; i++) {
      const c = new Client(this, i + 1);
      this.clients.push(c);
      c.start();
    }
    const nemesis = () => {
      if (this.quiet) return;
      nemesisStep(this);
      reap(this);
      this.schedule(this.rng.int(1, 2 * this.cfg.faultEveryMs), nemesis);
    };
    this.schedule(this.cfg.faultEveryMs, nemesis);
    this.#runUntil(durationMs);

    // Heal everything; the group must then make progress.
    this.quiet = true;
    this.log("quiet: heal all");
    this.network.healAll();
    this.network.cond = { drop: 0, dup: 0 };
    for (const n of this.nodes.values()) {
      if (n.retired) continue;
      if (!n.alive) n.start();
      else if (n.paused) n.resume(0);
    }
    // Finish membership business: removals of dead members may be needed for progress.
    const admin = () => {
      membership(this);
      this.schedule(500, admin);
    };
    this.schedule(300, admin);
    this.#runUntil(durationMs + quietMs);
    for (const c of this.clients) c.stop();
    this.#fullLogMatching();
    this.#checkAckedWrites();
    if (this.lastAck < durationMs + 200) {
      throw new Violation(`liveness: no write acknowledged after healing (last ack at ${this.lastAck} ms)`);
    }
  }
}

/** Runs one seed and checks everything, including linearizability of the client history. */
export function runSimulation(opts: SimOptions): SimResult {
  const sim = new Simulation(opts);
  let violation: string | undefined;
  let lincheck = "skipped";
  try {
    sim.run();
    const r = checkOperations(kvModel, sim.history, { budgetPerPartition: 500_000 });
    lincheck = r.result;
    if (r.result === "illegal") {
      const part = r.partitions[r.failingPartition!];
      violation = `linearizability: the history of key "${part[0].input.key}" is not linearizable`;
      if (sim.cfg.trace) {
        for (const op of [...part].sort((a, b) => a.call - b.call)) {
          sim.log(
            `history c${op.client} [${op.call}, ${op.ret}] ${JSON.stringify(op.input)} -> ${JSON.stringify(op.output)}`,
          );
        }
        sim.log(`longest linearizable prefix: ${r.longest!.length} of ${part.length} operations`);
      }
    }
  } catch (e) {
    violation = e instanceof Violation ? e.message : `exception: ${(e as Error).stack ?? e}`;
  }
  let commit = 0;
  for (const n of sim.nodes.values()) if (n.core) commit = Math.max(commit, n.core.status().commit);
  sim.mix(commit, sim.history.length);
  return {
    seed: opts.seed,
    violation,
    traceHash: sim.traceHash(),
    stats: {
      events: sim.events,
      messages: sim.network.sent,
      ops: sim.history.length,
      acked: sim.clients.reduce((s, c) => s + c.acked, 0),
      commit,
      lincheck,
    },
    config: sim.cfg,
  };
}
