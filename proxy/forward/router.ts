/**
 * The proxy's routing table: for each of the 1024 slots, the backend that serves it (and, during a migration, the
 * one it is moving from). Backend connections are shared by every slot on the same server and opened lazily.
 * @module
 */
import { MAX_SLOT_NUM, type Slot } from "../../models/slots.ts";
import { BackendConn, type BackendOptions, type PendingReply } from "../../redis/conn.ts";
import type { WriteAckConn } from "../backend/write_acks.ts";
import { leaseErrorText } from "./lease.ts";

/** A server's connections; a slot always uses the same one, so requests to one slot keep their order. */
export class BackendPool {
  readonly addr: string;
  readonly conns: BackendConn[];
  /** Slots that currently route here (as target or migration source). */
  refs = 0;
  /** With backend_write_acks: the connections writes and their WAITs go on (backend/write_acks.ts). */
  writeConns: WriteAckConn[] | null = null;

  constructor(addr: string, parallel: number, opts: BackendOptions) {
    this.addr = addr;
    this.conns = [];
    for (let i = 0; i < parallel; i++) this.conns.push(new BackendConn(addr, opts));
  }

  /** The connection that carries `slot`'s requests. */
  connFor(slot: number): BackendConn {
    const c = this.conns;
    return c.length === 1 ? c[0] : c[slot % c.length];
  }

  /** Opens every connection; rejects with the first failure. */
  async connect(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.connect()));
  }

  close(): void {
    for (const c of this.conns) c.close();
    for (const c of this.writeConns ?? []) c.close();
  }
}

/** A request held while its slot is locked, re-dispatched when a later model revision unlocks it. */
export interface HeldRequest {
  raw: Uint8Array;
  reply: PendingReply;
  keys: Uint8Array[];
}

/** One slot's routing state. */
export interface SlotRoute {
  readonly id: number;
  backend: BackendPool | null;
  migrateFrom: BackendPool | null;
  locked: boolean;
  model: Slot;
  /** Requests waiting for the slot to unlock; null when none. */
  held: HeldRequest[] | null;
  /** Requests on the migration path (keys being moved, or the command running on the target afterwards). */
  migrating: number;
  /** Requests whose keys are still being moved from the source (not yet sent to the target). */
  moving: number;
  /**
   * Requests that arrived while `moving` > 0 but would go straight to the target (the slot finished meanwhile): they
   * wait so that they reach the target after the earlier ones of the same session; null when none.
   */
  queued: HeldRequest[] | null;
  /** Replica groups in priority order (nearest first), for reads; null when the slot has none. */
  replicas: BackendPool[][] | null;
}

/** What a {@link Router.fill} changed. */
export interface FillResult {
  /** Slots whose routing changed. */
  changed: number[];
  /** Pools that served a changed slot before: requests in flight there must finish before an acknowledgement. */
  previous: Set<BackendPool>;
  /** Pools no slot uses any more: close them once drained. */
  retired: BackendPool[];
  /**
   * Pools of slots now held in place (locked, same backends): their group's master is being switched, so their
   * requests in flight are abandoned rather than drained (drain.ts). A subset of {@link previous}.
   */
  switching: Set<BackendPool>;
}

/** The slot table plus the backend pools it refers to. */
export class Router {
  readonly slots: SlotRoute[] = [];
  readonly pools: Map<string, BackendPool> = new Map();
  /** Slots with replica groups; while 0, the per-request replica check is skipped. */
  replicaSlots = 0;
  /**
   * performance.now() after which no slot is served (the dashboard lease, proxy/lease.ts); Infinity without one.
   * Sessions compare it with the clock they read for every read, so that a proxy resumed after a pause refuses
   * before its lease timer runs; see {@link leaseExpired}.
   */
  servingUntil = Infinity;
  /** Set once {@link servingUntil} has passed (by a session's read or the lease timer): every slot is refused. */
  leaseExpired = false;
  /** The lease's length, for the error text. */
  leaseMs = 0;
  #parallel: number;
  #replicaParallel: number;
  #opts: BackendOptions;

  /**
   * @param parallel connections per master (backend_primary_parallel)
   * @param replicaParallel connections per replica read from (backend_replica_parallel)
   */
  constructor(parallel: number, opts: BackendOptions, replicaParallel = parallel) {
    this.#parallel = Math.max(1, parallel);
    this.#replicaParallel = Math.max(1, replicaParallel);
    this.#opts = opts;
    for (let id = 0; id < MAX_SLOT_NUM; id++) {
      this.slots.push({
        id,
        backend: null,
        migrateFrom: null,
        locked: false,
        model: { id },
        held: null,
        migrating: 0,
        moving: 0,
        queued: null,
        replicas: null,
      });
    }
  }

  /**
   * The pool for `addr`, created (not yet connected) when new, with `parallel` connections (a pool keeps the size it
   * was created with when a replica becomes a master).
   */
  pool(addr: string, parallel: number = this.#parallel): BackendPool {
    let p = this.pools.get(addr);
    if (!p) {
      p = new BackendPool(addr, parallel, this.#opts);
      this.pools.set(addr, p);
      for (const c of p.conns) c.connect().catch(() => {/* reported through the connection's state */});
    }
    return p;
  }

  /** Replaces the routing of the given slots. Pools no slot uses any more are returned, not closed. */
  fill(slots: Slot[]): FillResult {
    const res: FillResult = { changed: [], previous: new Set(), retired: [], switching: new Set() };
    for (const s of slots) {
      const route = this.slots[s.id];
      const before = route.model;
      this.#setReplicas(route, s.replica_groups, res.previous);
      if (
        before.backend_addr === s.backend_addr && before.migrate_from === s.migrate_from &&
        (before.locked === true) === (s.locked === true)
      ) {
        route.model = { ...s };
        continue;
      }
      res.changed.push(s.id);
      const heldInPlace = s.locked === true && before.locked !== true && before.backend_addr === s.backend_addr &&
        before.migrate_from === s.migrate_from;
      if (heldInPlace && route.backend) res.switching.add(route.backend);
      if (heldInPlace && route.migrateFrom) res.switching.add(route.migrateFrom);
      // A slot that was held has had nothing in flight since the hold was acknowledged: its pools need no drain for it
      // (after a master switch the old one, paused or cut off, is not pinged again).
      const drained = before.locked === true;
      if (route.backend) {
        if (!drained) res.previous.add(route.backend);
        route.backend.refs--;
      }
      if (route.migrateFrom) {
        if (!drained) res.previous.add(route.migrateFrom);
        route.migrateFrom.refs--;
      }
      route.backend = s.backend_addr ? this.pool(s.backend_addr) : null;
      route.migrateFrom = s.migrate_from ? this.pool(s.migrate_from) : null;
      if (route.backend) route.backend.refs++;
      if (route.migrateFrom) route.migrateFrom.refs++;
      route.locked = s.locked === true;
      route.model = { ...s };
    }
    for (const [addr, p] of this.pools) {
      if (p.refs <= 0) {
        this.pools.delete(addr);
        res.retired.push(p);
      }
    }
    return res;
  }

  /** Points the slot's reads at its replica groups; replaced pools join `previous`, to be drained before closing. */
  #setReplicas(route: SlotRoute, groups: string[][] | undefined, previous: Set<BackendPool>): void {
    if (route.replicas) {
      for (const g of route.replicas) {
        for (const p of g) {
          p.refs--;
          previous.add(p);
        }
      }
    }
    if (route.replicas) this.replicaSlots--;
    route.replicas = null;
    const wanted = (groups ?? []).filter((g) => g.length > 0);
    if (wanted.length === 0) return;
    this.replicaSlots++;
    route.replicas = wanted.map((g) =>
      g.map((addr) => {
        const p = this.pool(addr, this.#replicaParallel);
        p.refs++;
        return p;
      })
    );
  }

  /** The lease error when the dashboard lease ran out (see {@link leaseExpired}), else null. */
  leaseRefusal(): string | null {
    if (!this.leaseExpired) return null;
    return leaseErrorText(performance.now() - this.servingUntil + this.leaseMs);
  }

  /** The slot models, as Codis's `/proxy/slots` shows them. */
  models(): Slot[] {
    return this.slots.map((r) => r.model);
  }

  /** Closes every backend connection. */
  close(): void {
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
  }
}
