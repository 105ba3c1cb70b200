/**
 * Sends one complete request to the backend that serves its slot, as Codis's `forward.go`: {@link Forwarder.send}
 * takes the slot's master connection, or a replica's for a read that may be served by one. Its slow paths are taken
 * only while the dashboard changes a slot: a locked slot holds its requests until a later model revision unlocks it,
 * and a migrating slot first moves the request's keys from the source group (`MIGRATE ... KEYS` into database `slot`
 * of the target), then runs the request on the target.
 * @module
 */
import { abandonConn, drainConn } from "./drain.ts";
import type { BackendConn, PendingReply } from "../../redis/conn.ts";
import { isStaleError } from "../../redis/data_stale.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";
import { encodeCommand } from "../../redis/encode.ts";
import { type AckScope, sendOnPool, type WriteAcks } from "../backend/write_acks.ts";
import type { BackendPool, FillResult, Router, SlotRoute } from "./router.ts";
import { Request } from "./request.ts";

/** Where a request's keys are: `argv[pos[i]]` for i < n. The arrays may be reused by the caller afterwards. */
export interface KeyRef {
  argv: Uint8Array[];
  pos: Int32Array;
  n: number;
}

/** Copies the keys out of a {@link KeyRef} (the caller's scratch arrays are reused). */
export function copyKeys(keys: KeyRef | null): Uint8Array[] {
  if (keys === null) return [];
  const out: Uint8Array[] = new Array(keys.n);
  for (let i = 0; i < keys.n; i++) out[i] = keys.argv[keys.pos[i]];
  return out;
}

/** How the migration path moves keys. */
export interface MigrateOptions {
  /** `product_auth`, passed to MIGRATE as AUTH for the target. */
  auth: string;
  /** MIGRATE timeout in ms. */
  timeoutMs: number;
}

/** Decrements the slot's migration counter when the target answers. */
class CountedReply implements PendingReply {
  constructor(private readonly route: SlotRoute, private readonly reply: PendingReply) {}
  onReply(raw: Uint8Array): void {
    this.route.migrating--;
    this.reply.onReply(raw);
  }
  onError(msg: string): void {
    this.route.migrating--;
    this.reply.onError(msg);
  }
}

/** Waits for the source's MIGRATE, then sends the request to the target. */
class MigrateThenRun implements PendingReply {
  constructor(
    private readonly route: SlotRoute,
    private readonly target: BackendPool,
    private readonly source: BackendPool,
    private readonly raw: Uint8Array,
    private readonly reply: PendingReply,
    private readonly opts: MigrateOptions,
  ) {}

  onReply(raw: Uint8Array): void {
    // +OK: moved; +NOKEY: nothing on the source. -BUSYKEY: the target already holds a newer copy.
    if (isErrorReply(raw) && !errorText(raw).includes("BUSYKEY")) {
      return this.onError(`migrating slot ${this.route.id} from ${this.source.addr} failed: ${errorText(raw)}`);
    }
    this.route.moving--;
    sendOnPool(this.target, this.route.id, this.raw, new CountedReply(this.route, this.reply), this.reply);
    releaseQueued(this.route, this.opts);
  }

  onError(msg: string): void {
    this.route.moving--;
    this.route.migrating--;
    this.reply.onError(`ERR ${msg.replace(/^ERR /, "")}`);
    releaseQueued(this.route, this.opts);
  }
}

/**
 * Sends the requests that waited for the slot's key moves once none is left: they came later than those (maybe on
 * the same session), so they must not reach the target first, or an older write would overwrite a newer one.
 */
function releaseQueued(route: SlotRoute, opts: MigrateOptions): void {
  const queued = route.queued;
  if (queued === null || route.moving > 0) return;
  route.queued = null;
  for (const q of queued) redispatch(route, q.raw, q.reply, q.keys, opts);
}

/** Sends a request that waited (held by a lock, or queued behind key moves) by the slot's current route. */
export function redispatch(
  route: SlotRoute,
  raw: Uint8Array,
  reply: PendingReply,
  keys: Uint8Array[],
  opts: MigrateOptions,
): void {
  if (route.backend === null) return reply.onError(`ERR slot ${route.id} is not ready, may be offline`);
  if (route.locked || route.migrateFrom !== null || route.moving > 0) {
    return sendSpecial(route, raw, reply, keys, opts);
  }
  sendOnPool(route.backend, route.id, raw, reply);
}

/**
 * Sends a request for a slot that is locked or migrating, or whose earlier requests are still moving their keys
 * (`route.moving` > 0: the request then waits for them, see {@link releaseQueued}).
 */
export function sendSpecial(
  route: SlotRoute,
  raw: Uint8Array,
  reply: PendingReply,
  keys: Uint8Array[],
  opts: MigrateOptions,
): void {
  if (route.locked) {
    (route.held ??= []).push({ raw, reply, keys });
    return;
  }
  const target = route.backend!;
  const source = route.migrateFrom;
  if (source === null && route.moving > 0) {
    (route.queued ??= []).push({ raw, reply, keys });
    return;
  }
  route.migrating++;
  if (source === null || keys.length === 0) {
    sendOnPool(target, route.id, raw, new CountedReply(route, reply), reply);
    return;
  }
  const i = target.addr.lastIndexOf(":");
  const args: (string | Uint8Array)[] = [
    "MIGRATE",
    target.addr.slice(0, i),
    target.addr.slice(i + 1),
    "",
    String(route.id),
    String(opts.timeoutMs),
  ];
  if (opts.auth) args.push("AUTH", opts.auth);
  args.push("KEYS", ...keys);
  route.moving++;
  source.connFor(route.id).send(
    route.id,
    encodeCommand(args),
    new MigrateThenRun(route, target, source, raw, reply, opts),
  );
}

/** Re-dispatches the requests a slot held while it was locked. */
export function releaseHeld(
  route: SlotRoute,
  dispatch: (raw: Uint8Array, reply: PendingReply, keys: Uint8Array[]) => void,
): void {
  const held = route.held;
  if (held === null || route.locked) return;
  route.held = null;
  for (const h of held) dispatch(h.raw, h.reply, h.keys);
}

/**
 * Resolves once every request that was in flight to the previous backends of the changed slots has completed:
 * a PING queued behind them on each connection answers after they do (or the connection is dropped: see drain.ts); the
 * connections of a master whose slots are held in place for a switch are abandoned instead; migration-path requests
 * are counted.
 */
export async function drain(res: FillResult, routes: SlotRoute[], timeoutMs = 30_000): Promise<void> {
  const pings: Promise<unknown>[] = [];
  for (const pool of res.previous) {
    const switching = res.switching.has(pool);
    for (const c of pool.writeConns === null ? pool.conns : [...pool.conns, ...pool.writeConns.map((w) => w.conn)]) {
      if (c.state !== "connected" && c.state !== "connecting") continue;
      pings.push(switching ? abandonConn(c) : drainConn(c));
    }
  }
  await Promise.all(pings);
  const deadline = Date.now() + timeoutMs;
  while (res.changed.some((id) => routes[id].migrating > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * A read sent to a replica. A replica that cannot serve it (MASTERDOWN: cut off from its master with
 * replica-serve-stale-data off; LOADING) answers with an error; the read is then sent to the master instead, so the
 * client never sees a replica's trouble. The replica connection marks itself stale and later reads skip it.
 */
class ReplicaRead implements PendingReply {
  constructor(
    private readonly route: SlotRoute,
    private readonly raw: Uint8Array,
    private readonly inner: PendingReply,
  ) {}

  onReply(raw: Uint8Array): void {
    const r = this.route;
    if (raw[0] === 45 && isStaleError(raw) && r.backend !== null && !r.locked && r.migrateFrom === null) {
      return r.backend.connFor(r.id).send(r.id, this.raw, this.inner);
    }
    this.inner.onReply(raw);
  }

  onError(msg: string): void {
    this.inner.onError(msg);
  }
}

/** Sends requests to the backends of their slots; the proxy's one instance serves every session. */
/** Told of every command the {@link Forwarder} sends: the per-slot load statistics (`../stats/load.ts`). */
export interface SendTally {
  sent(slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef | null): void;
}

export class Forwarder {
  #rr = 0;

  constructor(
    private readonly router: Router,
    /** The proxy's config, read at each request: `backend_primary_only` turns replica reads off. */
    private readonly config: { readonly backend_primary_only: boolean },
    private readonly migrateOpts: MigrateOptions,
    /** `backend_write_acks` > 0: where writes that must reach replicas go (see `../backend/write_acks.ts`). */
    private readonly writeAcks: WriteAcks | null,
    /** null when `load_stats` is off: a request then costs one test more. */
    private readonly tally: SendTally | null,
  ) {}

  /**
   * Sends one complete command to the master serving `slot`, in database `slot`. `keys` locates the command's keys,
   * needed only while the slot migrates (they are moved from the source first). `replicaOk`: a read that may be
   * served by the slot's replica groups (Codis's replica reads), unless `backend_primary_only`.
   */
  send(slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef | null, replicaOk: boolean): void {
    if (this.tally !== null) this.tally.sent(slot, raw, reply, keys);
    const route = this.router.slots[slot];
    const backend = route.backend;
    if (this.router.leaseExpired) return reply.onError(this.router.leaseRefusal()!);
    if (backend === null) return reply.onError(`ERR slot ${slot} is not ready, may be offline`);
    if (route.locked || route.migrateFrom !== null || route.moving > 0) {
      return sendSpecial(route, raw, reply, copyKeys(keys), this.migrateOpts);
    }
    // The plain path: only the backend connection keeps the request's bytes, until its reply (see Request.plain).
    if (reply instanceof Request) reply.plain = true;
    if (replicaOk && route.replicas !== null && !this.config.backend_primary_only) {
      const conn = this.#replicaConn(route.replicas, slot);
      if (conn !== null) return conn.send(slot, raw, new ReplicaRead(route, raw, reply));
    }
    backend.connFor(slot).send(slot, raw, reply);
  }

  /**
   * Like {@link send}, for a session with write acknowledgements on: the reply waits until the write reached
   * `backend_write_acks` replicas (`WAIT` on the write connection of the slot's master).
   */
  sendAcked(
    slot: number,
    raw: Uint8Array,
    reply: PendingReply,
    keys: KeyRef | null,
    scope: AckScope,
    write: boolean,
  ): void {
    if (this.tally !== null) this.tally.sent(slot, raw, reply, keys);
    const route = this.router.slots[slot];
    const backend = route.backend;
    if (backend === null) return reply.onError(`ERR slot ${slot} is not ready, may be offline`);
    const acked = this.writeAcks!.request(reply, scope, write, route.model.backend_addr_group_id ?? 0);
    if (route.locked || route.migrateFrom !== null || route.moving > 0) {
      return sendSpecial(route, raw, acked, copyKeys(keys), this.migrateOpts);
    }
    this.writeAcks!.connFor(backend, acked).send(slot, raw, acked);
  }

  /** A connected replica of the nearest group that has one, round-robin inside the group; null: use the master. */
  #replicaConn(groups: BackendPool[][], slot: number): BackendConn | null {
    for (const group of groups) {
      const n = group.length;
      const start = this.#rr++ % n;
      for (let i = 0; i < n; i++) {
        const conn = group[(start + i) % n].connFor(slot);
        if (conn.state === "connected" && !conn.stale) return conn;
      }
    }
    return null;
  }
}
