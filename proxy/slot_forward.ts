/**
 * The slow paths of routing, taken only while the dashboard changes a slot: a locked slot holds its requests until
 * a later model revision unlocks it, and a migrating slot first moves the request's keys from the source group
 * (`MIGRATE ... KEYS` into database `slot` of the target), then runs the request on the target.
 * @module
 */
import type { PendingReply } from "../redis/conn.ts";
import { errorText, isErrorReply } from "../redis/decode.ts";
import { encodeCommand } from "../redis/encode.ts";
import { sendOnPool } from "./backend/write_acks.ts";
import type { BackendPool, FillResult, SlotRoute } from "./router.ts";

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
 * a PING queued behind them on each connection answers after they do, and migration-path requests are counted.
 */
export async function drain(res: FillResult, routes: SlotRoute[], timeoutMs = 30_000): Promise<void> {
  const pings: Promise<unknown>[] = [];
  for (const pool of res.previous) {
    for (const c of pool.writeConns === null ? pool.conns : [...pool.conns, ...pool.writeConns.map((w) => w.conn)]) {
      if (c.state === "connected" || c.state === "connecting") pings.push(c.call(0, ["PING"]).catch(() => {}));
    }
  }
  await Promise.all(pings);
  const deadline = Date.now() + timeoutMs;
  while (res.changed.some((id) => routes[id].migrating > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
  }
}
