/**
 * The simulator's key-value state machine with client sessions: a command carries (client, seq) and is
 * applied at most once; a duplicate of the latest command returns the cached result.
 * @module
 */

import type { Entry, StateMachine } from "../types.ts";

/** A write command as proposed to Raft. */
export interface KvCommand {
  client: number;
  seq: number;
  op: "put" | "cas";
  key: string;
  value: string;
  expect?: string | null;
}

/** The result of applying a command; `dup` marks a retried command answered from the session. */
export interface KvResult {
  ok: boolean;
  dup?: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export function decodeCommand(data: Uint8Array): KvCommand | undefined {
  if (data.length === 0) return undefined;
  return JSON.parse(dec.decode(data)) as KvCommand;
}

/** The KV map plus the per-client sessions. */
export class KvMachine implements StateMachine {
  data = new Map<string, string>();
  sessions = new Map<number, { seq: number; result: KvResult }>();

  /** Applies a committed entry; returns the result for normal commands, undefined otherwise. */
  apply(entry: Entry): KvResult | undefined {
    if (entry.type !== "normal") return undefined;
    const cmd = decodeCommand(entry.data);
    if (!cmd) return undefined;
    const sess = this.sessions.get(cmd.client);
    if (sess && cmd.seq <= sess.seq) {
      return cmd.seq === sess.seq ? { ...sess.result, dup: true } : undefined;
    }
    let ok = true;
    if (cmd.op === "cas") ok = (this.data.get(cmd.key) ?? null) === (cmd.expect ?? null);
    if (ok) this.data.set(cmd.key, cmd.value);
    const result = { ok };
    this.sessions.set(cmd.client, { seq: cmd.seq, result });
    return result;
  }

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ data: [...this.data], sessions: [...this.sessions] }));
  }

  restore(bytes: Uint8Array): void {
    if (bytes.length === 0) {
      this.data = new Map();
      this.sessions = new Map();
      return;
    }
    const v = JSON.parse(dec.decode(bytes));
    this.data = new Map(v.data);
    this.sessions = new Map(v.sessions);
  }
}
