/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH for one session, with Redis Cluster's rule: every key of the transaction
 * (WATCHed keys included) must be in one slot.
 *
 * Commands between MULTI and EXEC are checked and queued by the proxy (`+QUEUED`); EXEC sends `MULTI`, the queued
 * commands and `EXEC` back to back to the master of the transaction's slot and answers the backend's EXEC reply.
 * - Without WATCH, they go on the slot's shared connection: written in one event-loop turn, nothing interleaves.
 * - After WATCH, the WATCH and the EXEC must use one connection, so the session pins a connection dedicated to it,
 *   to the master of the watched slot, until EXEC, DISCARD, UNWATCH or RESET.
 * A command in another slot answers CROSSSLOT and makes EXEC answer EXECABORT. If the slot starts migrating, is
 * locked or moves to another group during the transaction, EXEC aborts with an error rather than run anywhere.
 * @module
 */
import type { BackendConn, PendingReply } from "../../redis/conn.ts";
import { ackedConn } from "../backend/write_acks.ts";
import type { ProxyCore } from "../core/core.ts";
import type { Request } from "../forward/request.ts";
import { CROSSSLOT, encodeCommand, errorReply, OK } from "../../redis/encode.ts";
import type { BackendPool } from "../forward/router.ts";

const enc = new TextEncoder();
const QUEUED = enc.encode("+QUEUED\r\n");
const MULTI = encodeCommand(["MULTI"]);
const EXEC = encodeCommand(["EXEC"]);
const UNWATCH = encodeCommand(["UNWATCH"]);
const EXECABORT = errorReply("EXECABORT Transaction discarded because of previous errors.");
const WATCH_LOST = errorReply(
  "EXECABORT Transaction discarded because the backend connection holding the WATCH was lost; retry it",
);

/** What the session gives its transaction state. */
export interface TxnHost {
  readonly core: ProxyCore;
  /** The session's dedicated connection to `addr` (opened on first use). */
  dedicated(addr: string): BackendConn;
  /** Runs `start` once every earlier request of the session is answered; later requests wait for `release`. */
  gate(req: Request, start: () => void): void;
  /** Ends the gate: the session dispatches the requests that waited. */
  release(): void;
  /** Called when the MULTI state may have changed. */
  modeChanged(): void;
  /** The connection a transaction without WATCH runs on: the slot's shared one (RESP3 sessions: their own). */
  shared(pool: BackendPool, slot: number): BackendConn;
}

const IGNORE: PendingReply = { onReply() {}, onError() {} };

/** One session's transaction state. */
export class Transaction {
  #host: TxnHost;
  /** Between MULTI and EXEC/DISCARD. */
  inMulti = false;
  /** Commands queued in MULTI, for CLIENT LIST. */
  get queuedCount(): number {
    return this.#queued.length;
  }
  #dirty = false;
  #queued: Uint8Array[] = [];
  /** A queued command writes: with backend_write_acks, EXEC's reply waits for the replicas. */
  #writes = false;
  /** The transaction's slot (from WATCH or the first keyed command), -1 when none yet. */
  #slot = -1;
  /** The master serving the slot when it was chosen: EXEC aborts if that changed. */
  #pool: BackendPool | null = null;
  /** WATCH sent on the dedicated connection to #pool. */
  #watching = false;
  /**
   * The connection the WATCHes went on and its generation then. The server forgets a WATCH with its connection: if
   * that connection was replaced or reconnected since, EXEC must not run as if the keys were still watched.
   */
  #watchConn: BackendConn | null = null;
  #watchGen = 0;
  #watchLost = false;

  constructor(host: TxnHost) {
    this.#host = host;
  }

  /** True while the session is in MULTI or holds WATCHed keys. */
  get active(): boolean {
    return this.inMulti || this.#watching;
  }

  /** Pins the slot; an error reply when it is another slot or cannot be used now. */
  #pin(slot: number): Uint8Array | null {
    if (this.#slot >= 0) return this.#slot === slot ? null : CROSSSLOT;
    const route = this.#host.core.router.slots[slot];
    if (route.backend === null) return errorReply(`ERR slot ${slot} is not ready, may be offline`);
    if (route.locked || route.migrateFrom !== null) {
      return errorReply(`TRYAGAIN slot ${slot} is migrating between groups; retry the transaction in a moment`);
    }
    this.#slot = slot;
    this.#pool = route.backend;
    return null;
  }

  /** MULTI. */
  multi(req: Request): void {
    if (this.inMulti) return req.onReply(errorReply("ERR MULTI calls can not be nested"));
    this.inMulti = true;
    this.#host.modeChanged();
    req.onReply(OK);
  }

  /** A command inside MULTI whose keys are all in `slot` (-1: no key). */
  queue(raw: Uint8Array, slot: number, req: Request, write = false): void {
    if (slot >= 0) {
      const err = this.#pin(slot);
      if (err !== null) return this.fail(req, err);
    }
    if (write) this.#writes = true;
    this.#queued.push(raw);
    req.onReply(QUEUED);
  }

  /** A command inside MULTI that cannot be queued: answered with `err`, and EXEC will abort. */
  fail(req: Request, err: Uint8Array): void {
    if (this.inMulti) this.#dirty = true;
    req.onReply(err);
  }

  /** WATCH keys, all in `slot`. */
  watch(slot: number, raw: Uint8Array, req: Request): void {
    if (this.inMulti) return req.onReply(errorReply("ERR WATCH inside MULTI is not allowed"));
    const err = this.#pin(slot);
    if (err !== null) return req.onReply(err);
    const pool = this.#pool!;
    this.#watching = true;
    this.#host.modeChanged();
    this.#host.gate(req, () => {
      const conn = this.#host.dedicated(pool.addr);
      if (this.#watchConn !== null && !this.#watchHeld(conn)) this.#watchLost = true;
      this.#watchConn = conn;
      this.#watchGen = conn.generation;
      conn.send(slot, raw, this.#releasing(req));
    });
  }

  /** True when `conn` is the connection of the earlier WATCHes and has not been lost since. */
  #watchHeld(conn: BackendConn): boolean {
    return !this.#watchLost && conn === this.#watchConn && conn.generation === this.#watchGen;
  }

  /** UNWATCH outside MULTI. */
  unwatch(req: Request): void {
    if (!this.#watching) {
      if (!this.inMulti) this.#clear();
      return req.onReply(OK);
    }
    this.#unwatchBackend();
    this.#clear();
    req.onReply(OK);
  }

  /** Sends UNWATCH on the dedicated connection; it keeps the order with what the session sent there before. */
  #unwatchBackend(): void {
    if (this.#watching && this.#pool !== null) this.#host.dedicated(this.#pool.addr).send(this.#slot, UNWATCH, IGNORE);
  }

  #clear(): void {
    this.inMulti = false;
    this.#dirty = false;
    this.#queued = [];
    this.#writes = false;
    this.#slot = -1;
    this.#pool = null;
    this.#watching = false;
    this.#watchConn = null;
    this.#watchLost = false;
    this.#host.modeChanged();
  }

  /** DISCARD. */
  discard(req: Request): void {
    if (!this.inMulti) return req.onReply(errorReply("ERR DISCARD without MULTI"));
    this.#unwatchBackend();
    this.#clear();
    req.onReply(OK);
  }

  /** RESET: forget everything (the dedicated connection is unwatched). */
  reset(): void {
    this.#unwatchBackend();
    this.#clear();
  }

  /** EXEC. */
  exec(req: Request): void {
    if (!this.inMulti) return req.onReply(errorReply("ERR EXEC without MULTI"));
    const queued = this.#queued;
    const watching = this.#watching;
    const slot = this.#slot >= 0 ? this.#slot : 0;
    const pinned = this.#pool;
    const watchConn = this.#watchConn;
    const watchGen = this.#watchGen;
    const lost = this.#watchLost;
    const writes = this.#writes;
    if (this.#dirty) {
      this.#unwatchBackend();
      this.#clear();
      return req.onReply(EXECABORT);
    }
    const route = this.#host.core.router.slots[slot];
    const refusal = this.#host.core.router.leaseRefusal();
    if (refusal !== null) {
      this.#unwatchBackend();
      this.#clear();
      return req.onReply(errorReply(`EXECABORT Transaction discarded: ${refusal.slice(4)}`));
    }
    const moved = pinned !== null && route.backend !== pinned;
    if (route.backend === null || moved || route.locked || route.migrateFrom !== null) {
      this.#unwatchBackend();
      this.#clear();
      return req.onReply(errorReply(
        `EXECABORT Transaction discarded because slot ${slot} ${
          route.backend === null ? "is offline" : moved ? "moved to another group" : "started migrating"
        } during the transaction; retry it`,
      ));
    }
    this.#clear();
    const pool = route.backend;
    // With backend_write_acks, a transaction that writes runs on a write connection: it waits for the session's
    // earlier requests (which may be on other connections), and later ones wait for its answer.
    const acked = writes && this.#host.core.writeAcks !== null;
    if (!watching && route.moving === 0 && !acked) return this.#sendShared(pool, slot, queued, req, writes);
    if (!watching) {
      // The slot just finished migrating and requests (maybe this session's) still move their keys from the old
      // source: sent now, the transaction could reach the target before the session's earlier writes.
      return this.#host.gate(req, () => {
        if (route.backend !== pool || route.locked || route.migrateFrom !== null) {
          req.onReply(errorReply(
            `EXECABORT Transaction discarded because slot ${slot} moved during the transaction; retry it`,
          ));
          return this.#host.release();
        }
        this.#sendShared(pool, slot, queued, this.#releasing(req), writes);
      });
    }
    this.#host.gate(req, () => {
      const conn = this.#host.dedicated(pool.addr);
      if (lost || conn !== watchConn || conn.generation !== watchGen) {
        req.onReply(WATCH_LOST);
        return this.#host.release();
      }
      // As on a shared connection: a transaction cut off half way would leave this one inside MULTI, and the next
      // EXEC on it would run the commands of this failed one.
      if (!fits(conn, queued.length, this.#host.core.config.backend_max_pipeline)) {
        req.onError(`ERR backend ${pool.addr} is unavailable or busy; transaction not run`);
        return this.#host.release();
      }
      this.#send(pool, conn, slot, queued, this.#releasing(req), writes);
    });
  }

  /** Sends MULTI … EXEC; with backend_write_acks and a write queued, on a write connection, EXEC's reply held. */
  #send(
    pool: BackendPool,
    conn: BackendConn,
    slot: number,
    queued: Uint8Array[],
    reply: PendingReply,
    writes: boolean,
  ) {
    const acks = this.#host.core.writeAcks;
    if (acks === null || !writes) return sendTransaction(conn, slot, queued, reply);
    const gid = this.#host.core.router.slots[slot].model.backend_addr_group_id ?? 0;
    // Refused before MULTI: a refusal at EXEC would leave the connection inside MULTI.
    const refusal = acks.refusal(pool, gid);
    if (refusal !== null) return reply.onError(refusal);
    const wc = ackedConn(acks, pool, conn, slot);
    if (!fits(wc, queued.length, this.#host.core.config.backend_max_pipeline)) {
      return reply.onError(`ERR backend ${pool.addr} is unavailable or busy; transaction not run`);
    }
    sendTransaction(wc, slot, queued, acks.request(reply, null, true, gid));
  }

  /** Sends the transaction on the slot's shared connection (nothing interleaves within one event-loop turn). */
  #sendShared(pool: BackendPool, slot: number, queued: Uint8Array[], reply: PendingReply, writes: boolean): void {
    const conn = this.#host.shared(pool, slot);
    // Nothing may fail half way on a shared connection, or it would be left inside MULTI for other clients.
    if (!fits(conn, queued.length, this.#host.core.config.backend_max_pipeline)) {
      return reply.onError(`ERR backend ${pool.addr} is unavailable or busy; transaction not run`);
    }
    this.#send(pool, conn, slot, queued, reply, writes);
  }

  /** Answers `req` with the backend's reply, then ends the gate that held the session for it. */
  #releasing(req: Request): PendingReply {
    return {
      onReply: (r) => {
        req.onReply(r);
        this.#host.release();
      },
      onError: (m) => {
        req.onError(m);
        this.#host.release();
      },
    };
  }
}

/** True when MULTI, `n` commands, EXEC and a SELECT can all be written to `conn` now, so none of them fails alone. */
function fits(conn: Pick<BackendConn, "state" | "inflight">, n: number, maxPipeline: number): boolean {
  return (conn.state === "connected" || conn.state === "connecting") && conn.inflight + n + 3 <= maxPipeline;
}

function sendTransaction(
  conn: Pick<BackendConn, "send">,
  slot: number,
  queued: Uint8Array[],
  reply: PendingReply,
): void {
  conn.send(slot, MULTI, IGNORE);
  for (const raw of queued) conn.send(slot, raw, IGNORE);
  conn.send(slot, EXEC, reply);
}
