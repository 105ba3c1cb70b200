/**
 * A key-value register model for the checker: get / put / compare-and-set on string values, partitioned per key.
 * @module
 */

import type { Model, Operation } from "./checker.ts";

/** One KV request. */
export type KvInput =
  | { kind: "get"; key: string }
  | { kind: "put"; key: string; value: string }
  | { kind: "cas"; key: string; expect: string | null; value: string };

/** One KV response: the value read (null when absent), or whether a write took effect. */
export type KvOutput = { value: string | null } | { ok: boolean };

/** A KV operation in a history. */
export type KvOperation = Operation<KvInput, KvOutput>;

/** The per-key register model (state: the value, or null when absent). */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(s, input, output) {
    switch (input.kind) {
      case "get":
        if (output === undefined) return s;
        return "value" in output && output.value === s ? s : undefined;
      case "put":
        if (output !== undefined && !("ok" in output && output.ok)) return undefined;
        return input.value;
      case "cas": {
        const applies = s === input.expect;
        if (output === undefined) return applies ? input.value : s;
        if (!("ok" in output) || output.ok !== applies) return undefined;
        return applies ? input.value : s;
      }
    }
  },
  hash: (s) => (s === null ? "\u0000" : s),
  partition(ops: KvOperation[]): KvOperation[][] {
    const by = new Map<string, KvOperation[]>();
    for (const op of ops) {
      const list = by.get(op.input.key);
      if (list) list.push(op);
      else by.set(op.input.key, [op]);
    }
    return [...by.values()];
  },
};
