/**
 * Pending ReadIndex requests on the leader. Each request records the commit index when it arrived and waits
 * for a quorum of heartbeat acknowledgements carrying its (unique) context.
 * @module
 */

import type { NodeId } from "../types.ts";
import { bytesKey } from "./util.ts";

/** One pending read. `from` is the follower that forwarded it, or the leader itself. */
export interface ReadIndexStatus {
  index: number;
  from: NodeId;
  context: Uint8Array;
  acks: Set<NodeId>;
}

/** FIFO of pending reads keyed by context. */
export class ReadOnly {
  #pending = new Map<string, ReadIndexStatus>();
  #queue: string[] = [];

  /** Queues a read; a duplicate context (a retransmitted request) is ignored. Returns false if duplicated. */
  add(index: number, from: NodeId, context: Uint8Array, self: NodeId): boolean {
    const k = bytesKey(context);
    if (this.#pending.has(k)) return false;
    this.#pending.set(k, { index, from, context, acks: new Set([self]) });
    this.#queue.push(k);
    return true;
  }

  /** Records an acknowledgement of `context` by `from`; returns the ack set, or undefined if unknown. */
  recvAck(from: NodeId, context: Uint8Array): Set<NodeId> | undefined {
    const rs = this.#pending.get(bytesKey(context));
    if (!rs) return undefined;
    rs.acks.add(from);
    return rs.acks;
  }

  /** Removes and returns every read queued up to and including `context` (a quorum confirmed them all). */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const k = bytesKey(context);
    const at = this.#queue.indexOf(k);
    if (at < 0) return [];
    const keys = this.#queue.splice(0, at + 1);
    const out: ReadIndexStatus[] = [];
    for (const key of keys) {
      const rs = this.#pending.get(key);
      if (rs) out.push(rs);
      this.#pending.delete(key);
    }
    return out;
  }

  /** The context of the newest pending read (sent with heartbeats). */
  lastContext(): Uint8Array | undefined {
    const k = this.#queue[this.#queue.length - 1];
    return k === undefined ? undefined : this.#pending.get(k)?.context;
  }

  size(): number {
    return this.#queue.length;
  }

  reset(): void {
    this.#pending.clear();
    this.#queue = [];
  }
}
