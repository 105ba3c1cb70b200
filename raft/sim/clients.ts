/**
 * The client workload: each client runs one operation at a time (get / put / cas on a few keys), retries a
 * write with the same session sequence number, and records the history for the linearizability checker.
 * @module
 */

import type { KvInput, KvOperation } from "../lincheck/mod.ts";
import type { NodeId } from "../types.ts";
import type { Reply } from "./node.ts";
import type { Simulation } from "./sim.ts";

interface InFlight {
  input: KvInput;
  seq: number;
  call: number;
  attempts: number;
  token: number;
}

const ATTEMPT_TIMEOUT_MS = 300;
/** Reads give up after this many attempts (a read that never returns says nothing). Writes never give up: they
 * retry with the same session sequence number until answered, so few outcomes stay unknown (which keeps the
 * linearizability search small). */
const MAX_READ_ATTEMPTS = 6;

/** One sequential client. */
export class Client {
  readonly id: number;
  #seq = 0;
  #op: InFlight | undefined;
  #token = 0;
  #leaderHint: NodeId = 0;
  #seen = new Map<string, string | null>();
  readonly #sim: Simulation;
  stopped = false;
  acked = 0;

  constructor(sim: Simulation, id: number) {
    this.#sim = sim;
    this.id = id;
  }

  start(): void {
    this.#sim.schedule(this.#sim.rng.int(1, 50), () => this.#next());
  }

  #next(): void {
    if (this.stopped) return;
    const sim = this.#sim;
    const key = sim.rng.pick(sim.cfg.keys);
    const r = sim.rng.float();
    const seq = ++this.#seq;
    const value = `${this.id}.${seq}`;
    let input: KvInput;
    if (r < 0.4) input = { kind: "get", key };
    else if (r < 0.75) input = { kind: "put", key, value };
    else input = { kind: "cas", key, expect: this.#seen.get(key) ?? null, value };
    this.#op = { input, seq, call: sim.now, attempts: 0, token: 0 };
    this.#attempt();
  }

  #attempt(): void {
    const op = this.#op;
    if (!op) return;
    const sim = this.#sim;
    if (op.input.kind === "get" && op.attempts >= MAX_READ_ATTEMPTS) return this.#finish(undefined);
    op.attempts++;
    const token = op.token = ++this.#token;
    const live = sim.memberNodes();
    let target = live.find((n) => n.id === this.#leaderHint);
    if (!target || sim.rng.chance(0.1)) target = live.length ? sim.rng.pick(live) : undefined;
    const reply = (r: Reply) => sim.schedule(sim.netDelay(), () => this.#onReply(token, r));
    if (target) {
      const node = target;
      sim.schedule(sim.netDelay(), () => {
        if (op.input.kind === "get") node.read(op.input.key, reply);
        else {
          const inp = op.input;
          node.write({
            client: this.id,
            seq: op.seq,
            op: inp.kind === "cas" ? "cas" : "put",
            key: inp.key,
            value: inp.value,
            ...(inp.kind === "cas" ? { expect: inp.expect } : {}),
          }, reply);
        }
      });
    }
    sim.schedule(ATTEMPT_TIMEOUT_MS, () => {
      if (this.#op === op && op.token === token) {
        this.#leaderHint = 0;
        this.#attempt();
      }
    });
  }

  #onReply(token: number, r: Reply): void {
    const op = this.#op;
    if (!op || op.token !== token) return;
    const sim = this.#sim;
    switch (r.type) {
      case "redirect":
        this.#leaderHint = r.leader;
        op.token = ++this.#token;
        sim.schedule(sim.rng.int(5, 30), () => this.#attempt());
        return;
      case "retry":
        op.token = ++this.#token;
        sim.schedule(sim.rng.int(1, 10), () => this.#attempt());
        return;
      case "value":
        if (op.input.kind !== "get") return;
        this.#seen.set(op.input.key, r.value);
        return this.#finish({ value: r.value });
      case "ok":
        if (op.input.kind === "get") return;
        if (r.result.ok) this.#seen.set(op.input.key, op.input.value);
        this.acked++;
        sim.ackedWrite(r.index);
        return this.#finish({ ok: r.result.ok });
    }
  }

  /** Records the operation (undefined output: unknown outcome) and starts the next one. */
  #finish(output: { value: string | null } | { ok: boolean } | undefined): void {
    const op = this.#op!;
    this.#op = undefined;
    this.#record(op, output);
    if (!this.stopped) this.#sim.schedule(this.#sim.rng.int(0, 20), () => this.#next());
  }

  #record(op: InFlight, output: { value: string | null } | { ok: boolean } | undefined): void {
    const sim = this.#sim;
    if (output === undefined) {
      // A read that never returned says nothing; a write that never returned may or may not have happened.
      if (op.input.kind === "get") return;
      sim.history.push({ client: this.id, input: op.input, output: undefined, call: op.call, ret: Infinity });
      return;
    }
    const rec: KvOperation = { client: this.id, input: op.input, output, call: op.call, ret: sim.now };
    sim.history.push(rec);
  }

  /** Ends the workload: an operation still in flight is recorded as unknown. */
  stop(): void {
    this.stopped = true;
    const op = this.#op;
    if (op) {
      this.#op = undefined;
      this.#record(op, undefined);
    }
  }
}
