/**
 * Checks a recorded history: registers for linearizability per key (raft/lincheck's search with its KV model),
 * counters (every acknowledged INCR in the final value, none counted twice) and sets (every acknowledged SADD in the
 * final read, nothing that was never added). A write whose outcome is unknown, or refused with an error reply that
 * might have come after Redis applied it, counts as possibly applied.
 * @module
 */
import { checkOperations, kvModel, type KvOperation } from "../raft/lincheck/mod.ts";
import type { Op } from "./history.ts";

/** The verdict. */
export interface Verdict {
  /** Acknowledged writes missing from the final state. */
  lost: number;
  /** Histories no correct system could produce (per register key, counter or set). */
  violations: number;
  /** Register keys the search gave up on (too many concurrent unknown writes); neither passed nor failed. */
  undecided: number;
  /** One line per problem, for the report. */
  details: string[];
  /** When each lost set element was acknowledged (ms since the start), for the timeline. */
  lostAckedAt: number[];
}

/** The register history of one key as the linearizability checker takes it; reads that failed carry no information. */
export function registerOperations(ops: Op[]): KvOperation[] {
  const out: KvOperation[] = [];
  for (const op of ops) {
    if (op.workload !== "register") continue;
    if (op.f === "get") {
      if (op.outcome !== "ok") continue;
      const value = op.result as string | null;
      out.push({
        client: op.client,
        input: { kind: "get", key: op.key },
        output: { value },
        call: op.start,
        ret: op.end,
      });
      continue;
    }
    const input = op.f === "put"
      ? { kind: "put" as const, key: op.key, value: op.value! }
      : { kind: "cas" as const, key: op.key, expect: op.expect!, value: op.value! };
    if (op.outcome === "ok") {
      out.push({ client: op.client, input, output: { ok: op.result as boolean }, call: op.start, ret: op.end });
    } else {
      out.push({ client: op.client, input, output: undefined, call: op.start, ret: Infinity });
    }
  }
  return out;
}

function checkRegisters(ops: Op[], v: Verdict): void {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of registerOperations(ops)) {
    const list = byKey.get(op.input.key);
    if (list) list.push(op);
    else byKey.set(op.input.key, [op]);
  }
  for (const [key, list] of byKey) {
    const r = checkOperations(kvModel, list, { budgetPerPartition: 1_000_000 });
    if (r.result === "illegal") {
      v.violations++;
      v.details.push(`register ${key}: not linearizable (${list.length} ops)`);
    } else if (r.result === "unknown") {
      v.undecided++;
      v.details.push(`register ${key}: search budget exhausted (${list.length} ops), undecided`);
    }
  }
}

function finalRead(ops: Op[], key: string): Op | undefined {
  let last: Op | undefined;
  for (const op of ops) if (op.final && op.key === key && op.outcome === "ok") last = op;
  return last;
}

function checkCounters(ops: Op[], v: Verdict): void {
  const keys = new Set(ops.filter((o) => o.workload === "counter" && !o.final).map((o) => o.key));
  for (const key of keys) {
    const incrs = ops.filter((o) => o.key === key && o.f === "incr");
    const acked = incrs.filter((o) => o.outcome === "ok");
    const maybe = incrs.length - acked.length;
    const read = finalRead(ops, key);
    if (!read) {
      v.details.push(`counter ${key}: no final read succeeded, unchecked`);
      continue;
    }
    const final = read.result as number;
    const above = acked.filter((o) => (o.result as number) > final).length;
    const lost = Math.max(acked.length - final, above);
    if (lost > 0) {
      v.lost += lost;
      v.details.push(`counter ${key}: final ${final}, ${acked.length} acknowledged INCRs (${above} returned more)`);
    }
    const seen = new Set<number>();
    let twice = 0;
    for (const o of acked) {
      if (seen.has(o.result as number)) twice++;
      seen.add(o.result as number);
    }
    if (twice > 0) {
      v.violations++;
      v.details.push(`counter ${key}: ${twice} acknowledged INCRs returned a value another one returned too`);
    }
    if (final > acked.length + maybe) {
      v.violations++;
      v.details.push(`counter ${key}: final ${final} > ${acked.length} acknowledged + ${maybe} unknown INCRs`);
    }
  }
}

function checkSets(ops: Op[], v: Verdict): void {
  const keys = new Set(ops.filter((o) => o.workload === "set" && !o.final).map((o) => o.key));
  for (const key of keys) {
    const adds = ops.filter((o) => o.key === key && o.f === "sadd");
    const read = finalRead(ops, key);
    if (!read) {
      v.details.push(`set ${key}: no final read succeeded, unchecked`);
      continue;
    }
    const members = new Set(read.result as string[]);
    const missing = adds.filter((o) => o.outcome === "ok" && !members.has(o.value!));
    if (missing.length > 0) {
      v.lost += missing.length;
      for (const o of missing) v.lostAckedAt.push(o.end);
      const sample = missing.slice(0, 3).map((o) => `${o.value} (acked at ${(o.end / 1000).toFixed(1)} s)`);
      const byProxy = new Map<string, number>();
      for (const o of missing) byProxy.set(o.proxy, (byProxy.get(o.proxy) ?? 0) + 1);
      const via = [...byProxy].map(([p, n]) => `${n} via ${p}`).join(", ");
      v.details.push(`set ${key}: ${missing.length} acknowledged elements missing (${via}), e.g. ${sample.join(", ")}`);
    }
    const attempted = new Set(adds.map((o) => o.value));
    const phantom = [...members].filter((m) => !attempted.has(m));
    if (phantom.length > 0) {
      v.violations++;
      v.details.push(`set ${key}: ${phantom.length} elements never added, e.g. ${phantom.slice(0, 3).join(", ")}`);
    }
  }
}

/** Checks the whole history. */
export function check(ops: Op[]): Verdict {
  const v: Verdict = { lost: 0, violations: 0, undecided: 0, details: [], lostAckedAt: [] };
  checkRegisters(ops, v);
  checkCounters(ops, v);
  checkSets(ops, v);
  return v;
}
