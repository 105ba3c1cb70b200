/**
 * One session's request order under `backend_write_acks`: writes go on write connections (backend/write_acks.ts),
 * reads on the usual ones, and Redis orders commands only within one connection. So that a session's commands still
 * run in the order it sent them:
 * - a request sent while one of the session's writes waits for its replicas takes that write's path (it runs after
 *   it on the server, and is not held);
 * - a write sent while the session's earlier reads are still in flight on the usual connections waits for them
 *   (and so does everything the session sends after it, in order).
 * Only sessions that mix reads and writes in one pipeline ever wait here, for about one backend round trip.
 * @module
 */
import type { PendingReply } from "../redis/conn.ts";
import type { AckScope } from "./backend/write_acks.ts";
import type { ProxyCore } from "./core/core.ts";
import { copyKeys, type KeyRef } from "./forward/forward.ts";

/** A request kept back until the session's earlier reads are answered. */
interface Deferred {
  slot: number;
  raw: Uint8Array;
  reply: PendingReply;
  keys: KeyRef;
  write: boolean;
  replicaOk: boolean;
}

/** Counts a read in flight on a usual connection. */
class CountedRead implements PendingReply {
  constructor(private readonly order: SessionWriteOrder, private readonly inner: PendingReply) {}
  onReply(raw: Uint8Array): void {
    this.inner.onReply(raw);
    this.order.readDone();
  }
  onError(msg: string): void {
    this.inner.onError(msg);
    this.order.readDone();
  }
}

/** The order keeper of one session (created only when `backend_write_acks` > 0). */
export class SessionWriteOrder {
  readonly scope: AckScope = { pending: 0 };
  readonly #core: ProxyCore;
  /** Reads sent on usual connections and not yet answered. */
  #reads = 0;
  #queue: Deferred[] | null = null;

  constructor(core: ProxyCore) {
    this.#core = core;
  }

  /** Sends one keyed request (a whole command or one part of a split one) to `slot`. */
  send(slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef | null, write: boolean, replicaOk: boolean) {
    if (this.#queue !== null || (write && this.#reads > 0)) {
      const copied = copyKeys(keys);
      const ref: KeyRef = { argv: copied, pos: Int32Array.from(copied.keys()), n: copied.length };
      (this.#queue ??= []).push({ slot, raw, reply, keys: ref, write, replicaOk });
      return;
    }
    if (write || this.scope.pending > 0) {
      return this.#core.forwarder.sendAcked(slot, raw, reply, keys, this.scope, write);
    }
    this.#reads++;
    this.#core.send(slot, raw, new CountedRead(this, reply), keys, replicaOk);
  }

  /** A read on a usual connection was answered: requests kept back go once none is left. */
  readDone(): void {
    if (--this.#reads > 0 || this.#queue === null) return;
    const q = this.#queue;
    this.#queue = null;
    // Each goes through send again: a read among them is counted, and what follows a write kept back again.
    for (const d of q) this.send(d.slot, d.raw, d.reply, d.keys, d.write, d.replicaOk);
  }
}
