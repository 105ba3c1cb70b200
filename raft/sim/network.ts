/**
 * The simulated network: per-link partitions (asymmetric ones too), seeded drop, duplication and delay
 * (which also reorders messages).
 * @module
 */

import { type Message, MESSAGE_TYPES, type NodeId } from "../types.ts";
import type { Simulation } from "./sim.ts";

/** Message loss/duplication knobs, changed by the nemesis. */
export interface NetConditions {
  drop: number;
  dup: number;
}

const TYPES = MESSAGE_TYPES;

/** Links between simulated nodes. */
export class Network {
  readonly #sim: Simulation;
  #blocked = new Set<string>();
  cond: NetConditions = { drop: 0, dup: 0 };
  sent = 0;
  delivered = 0;

  constructor(sim: Simulation) {
    this.#sim = sim;
  }

  blocked(from: NodeId, to: NodeId): boolean {
    return this.#blocked.has(`${from}>${to}`);
  }

  block(from: NodeId, to: NodeId): void {
    this.#blocked.add(`${from}>${to}`);
  }

  healAll(): void {
    this.#blocked.clear();
  }

  /** Cuts every link between the two sides, both ways. */
  split(a: NodeId[], b: NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.block(x, y);
        this.block(y, x);
      }
    }
  }

  send(m: Message): void {
    const sim = this.#sim;
    this.sent++;
    sim.mix(TYPES.indexOf(m.type), m.from, m.to, m.term, m.index ?? -1, m.entries?.length ?? -1);
    if (sim.cfg.trace) {
      sim.log(
        `${m.type} ${m.from}->${m.to} t${m.term}` + (m.index !== undefined ? ` i${m.index}` : "") +
          (m.entries?.length ? ` n${m.entries.length}` : "") + (m.reject ? " reject" : ""),
      );
    }
    if (this.blocked(m.from, m.to)) {
      // A cut link looks like a connection error to the sender's transport, which tells the core.
      if (sim.rng.chance(0.3)) {
        const from = sim.nodes.get(m.from);
        sim.schedule(1, () => from?.transportError(m.to, m.type === "snap"));
      }
      return;
    }
    if (sim.rng.chance(this.cond.drop)) return;
    const copies = sim.rng.chance(this.cond.dup) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const copy: Message = { ...m, ...(m.entries ? { entries: m.entries.slice() } : {}) };
      sim.schedule(sim.netDelay(), () => {
        const node = sim.nodes.get(m.to);
        if (!node || !node.alive || this.blocked(m.from, m.to)) return;
        this.delivered++;
        node.receive(copy);
      });
    }
  }
}
