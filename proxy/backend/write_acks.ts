/**
 * Replica-acknowledged writes (`backend_write_acks = N` ≥ 1): a write is answered only once Redis's `WAIT N timeout`
 * has confirmed that N replicas of its group hold it, so a failover that promotes one of them cannot lose it.
 *
 * - Writes go on connections of their own, so that the `WAIT` that blocks them does not delay other sessions' reads.
 *   Every write sent in one event-loop turn on one connection forms a batch, followed by one `WAIT`: it covers every
 *   write before it on that connection. The writes' replies are held until it answers.
 * - Each master has several write connections (write_conn_choice.ts): a turn's batch goes on one whose WAIT is not
 *   still blocking it, so that it runs at once instead of queueing one replication round trip behind that WAIT.
 * - `WAIT` answering fewer than N: each held write gets `-NOREPLICAS write outcome unknown ...`, never its OK.
 * - A session's requests that follow one of its writes still waiting take that write's connection (they are not
 *   held), so that they run after it on the server, as Redis orders one client's commands.
 * - The group's connected replicas (`INFO replication`, read again in the background after a WAIT came back short,
 *   and twice a second while short) fewer than N: writes fail at once, not run, with an error naming the group.
 * @module
 */
import { atTurnEnd } from "../../util/turn_end.ts";
import { encodeCommand } from "../../redis/encode.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";
import { BackendConn, type BackendOptions, type BackendState, type PendingReply } from "../../redis/conn.ts";
import { chooseWriteConn, writeConnCount } from "./write_conn_choice.ts";

/** The settings: `backend_write_acks` and `backend_write_acks_timeout` (ms). */
export interface WriteAckOptions {
  replicas: number;
  timeoutMs: number;
}

/** Per-session count of writes still waiting for their acknowledgement. */
export interface AckScope {
  pending: number;
  /** The write connection the session last used on each master: its later requests follow its waiting writes there. */
  conns?: Map<AckPool, WriteAckConn>;
}

/** Counters of the waits, shown in proxy stats and /metrics. */
export class WriteAckStats {
  /** WAITs that answered. */
  waits = 0;
  /** WAITs that answered fewer than N (their writes got the unknown-outcome error). */
  timeouts = 0;
  /** Writes refused at once because the group had fewer connected replicas than N. */
  fastFails = 0;
  /** Time spent in WAIT, summed over waits (µs): the latency the setting adds. */
  waitUsecs = 0;

  /** The stats JSON block. */
  toJSON(opts: WriteAckOptions): Record<string, number> {
    return {
      replicas: opts.replicas,
      timeout_ms: opts.timeoutMs,
      waits: this.waits,
      timeouts: this.timeouts,
      fast_fails: this.fastFails,
      wait_usecs: Math.round(this.waitUsecs),
    };
  }
}

/** Fields of {@link WriteAckStats.toJSON} that are settings, the same on every thread: not summed. */
const WRITE_ACK_SETTINGS = new Set(["replicas", "timeout_ms"]);

/** Several threads' {@link WriteAckStats.toJSON} blocks as one: the counters summed, the settings as in `own`. */
export function sumWriteAckStats(
  own: Record<string, number>,
  others: Iterable<Record<string, number>>,
): Record<string, number> {
  const out = { ...own };
  for (const o of others) {
    for (const [k, v] of Object.entries(o)) if (!WRITE_ACK_SETTINGS.has(k)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

/** What the write-ack path needs of a backend pool (router.ts's BackendPool). */
export interface AckPool {
  readonly addr: string;
  readonly conns: BackendConn[];
  /** Write connections (write_conn_choice.ts says how many); created on first use. */
  writeConns: WriteAckConn[] | null;
}

/**
 * A request sent on the write path: a write (`write`: held until its WAIT) or a later request of a session that has
 * writes waiting (sent on the same connection, answered as soon as it is).
 */
export class AckedRequest implements PendingReply {
  readonly #inner: PendingReply;
  /** The session's scope; null for requests that need no order with the session's others (transactions). */
  readonly scope: AckScope | null;
  readonly write: boolean;
  /** The group, for error texts (0: unknown). */
  readonly groupId: number;
  readonly acks: WriteAcks;
  /** Set by the connection that sends it; null until then, and for requests that are not held. */
  batch: WaitBatch | null = null;
  #reply: Uint8Array | null = null;
  #done = false;

  constructor(acks: WriteAcks, inner: PendingReply, scope: AckScope | null, write: boolean, groupId: number) {
    this.acks = acks;
    this.#inner = inner;
    this.scope = scope;
    this.write = write;
    this.groupId = groupId;
    if (write && scope !== null) scope.pending++;
  }

  onReply(raw: Uint8Array): void {
    if (this.#done) return;
    if (this.batch === null) return this.#finish(raw, null);
    this.#reply = raw;
  }

  onError(msg: string): void {
    if (!this.#done) this.#finish(null, msg);
  }

  /** The WAIT answered: `acked` replicas confirmed the batch. */
  release(acked: number, n: number, timeoutMs: number): void {
    if (this.#done) return;
    const r = this.#reply;
    if (r === null) return this.#finish(null, "ERR the write's reply is missing");
    // A write Redis refused changed nothing: its error is its outcome.
    if (acked >= n || isErrorReply(r)) return this.#finish(r, null);
    this.#finish(
      null,
      `NOREPLICAS write outcome unknown: ${acked} of ${n} replicas acknowledged within ${timeoutMs} ms`,
    );
  }

  /** The WAIT failed (connection lost, or an error reply). */
  releaseUnknown(why: string): void {
    if (!this.#done) this.#finish(null, `NOREPLICAS write outcome unknown: ${why}`);
  }

  #finish(raw: Uint8Array | null, msg: string | null): void {
    this.#done = true;
    if (this.write && this.scope !== null) this.scope.pending--;
    if (raw !== null) this.#inner.onReply(raw);
    else this.#inner.onError(msg!);
  }
}

/** The writes of one turn on one connection, and the WAIT that covers them. */
export class WaitBatch implements PendingReply {
  readonly held: AckedRequest[] = [];
  db = 0;
  sentAt = 0;
  constructor(private readonly acks: WriteAcks, private readonly pool: AckPool, private readonly conn: WriteAckConn) {}

  onReply(raw: Uint8Array): void {
    this.conn.waiting--;
    const stats = this.acks.stats;
    const { replicas: n, timeoutMs } = this.acks.opts;
    stats.waits++;
    stats.waitUsecs += (performance.now() - this.sentAt) * 1000;
    if (isErrorReply(raw)) {
      stats.timeouts++;
      for (const h of this.held) h.releaseUnknown(`WAIT failed: ${errorText(raw)}`);
      return;
    }
    const acked = parseInteger(raw);
    if (acked < n) {
      stats.timeouts++;
      this.acks.replicasChanged(this.pool);
    }
    for (const h of this.held) h.release(acked, n, timeoutMs);
  }

  onError(msg: string): void {
    this.conn.waiting--;
    for (const h of this.held) h.releaseUnknown(msg);
  }
}

/** A write connection: a {@link BackendConn} whose writes are batched per turn and followed by one WAIT. */
export class WriteAckConn {
  readonly conn: BackendConn;
  readonly #acks: WriteAcks;
  readonly #pool: AckPool;
  #open: WaitBatch | null = null;
  /** WAITs sent and not answered: while above 0, the server runs nothing more of this connection's. */
  waiting = 0;
  #close = () => {
    const b = this.#open!;
    this.#open = null;
    this.waiting++;
    b.sentAt = performance.now();
    this.conn.send(b.db, this.#acks.waitCommand, b);
  };

  constructor(acks: WriteAcks, pool: AckPool, conn: BackendConn) {
    this.#acks = acks;
    this.#pool = pool;
    this.conn = conn;
  }

  get state(): BackendState {
    return this.conn.state;
  }

  get inflight(): number {
    return this.conn.inflight;
  }

  get generation(): number {
    return this.conn.generation;
  }

  /** Whether this turn's batch is open here (a write sent now shares its WAIT). */
  get batchOpen(): boolean {
    return this.#open !== null;
  }

  /** Sends a request; an {@link AckedRequest} write joins this turn's batch, anything else goes through as is. */
  send(db: number, raw: Uint8Array, reply: PendingReply, acked: PendingReply = reply): void {
    if (!(acked instanceof AckedRequest) || !acked.write) return this.conn.send(db, raw, reply);
    const refusal = this.#acks.refusal(this.#pool, acked.groupId);
    if (refusal !== null) return reply.onError(refusal);
    let b = this.#open;
    if (b === null) {
      b = this.#open = new WaitBatch(this.#acks, this.#pool, this);
      // Queued before the connection's own flush of this turn, so the WAIT leaves in the same socket write.
      atTurnEnd(this.#close);
    }
    b.db = db;
    acked.batch = b;
    b.held.push(acked);
    this.conn.send(db, raw, reply);
  }

  close(): void {
    this.conn.close();
  }
}

/** What is known of one master's replicas. */
interface ReplicaCount {
  /** Replicas in state online; -1 until known. */
  online: number;
  checkedAt: number;
  checking: boolean;
}

/** While the replica count is short, how often writes read it again (ms). */
const SHORT_RECHECK_MS = 500;

/** The write-ack path of one proxy. */
export class WriteAcks {
  readonly opts: WriteAckOptions;
  readonly stats = new WriteAckStats();
  /** `WAIT N timeout`, encoded once. */
  readonly waitCommand: Uint8Array;
  readonly #backendOpts: BackendOptions;
  readonly #replicas = new Map<string, ReplicaCount>();
  /** Dedicated and per-session connections wrapped on demand (transactions after WATCH, RESP3 sessions). */
  readonly #wrapped = new WeakMap<BackendConn, WriteAckConn>();

  constructor(opts: WriteAckOptions, backendOpts: BackendOptions) {
    this.opts = opts;
    this.#backendOpts = backendOpts;
    this.waitCommand = encodeCommand(["WAIT", String(opts.replicas), String(opts.timeoutMs)]);
  }

  /** Wraps a request for the write path. */
  request(inner: PendingReply, scope: AckScope | null, write: boolean, groupId: number): AckedRequest {
    return new AckedRequest(this, inner, scope, write, groupId);
  }

  /**
   * The write connection for a request to `pool` (opened on first use): the one the session's waiting writes are on,
   * if it has any there, else the one write_conn_choice.ts picks. `acked` null: no session order to keep.
   */
  connFor(pool: AckPool, acked: AckedRequest | null): WriteAckConn {
    let conns = pool.writeConns;
    if (conns === null) {
      conns = pool.writeConns = [];
      for (let i = writeConnCount(pool.conns.length); i > 0; i--) {
        const c = new BackendConn(pool.addr, this.#backendOpts);
        c.connect().catch(() => {/* reported through the connection's state */});
        conns.push(new WriteAckConn(this, pool, c));
      }
      this.#check(pool);
    }
    const scope = acked === null ? null : acked.scope;
    if (scope === null) return chooseWriteConn(conns);
    // The request itself is already counted when it is a write.
    if (scope.pending > (acked!.write ? 1 : 0)) {
      const own = scope.conns?.get(pool);
      if (own !== undefined) return own;
    }
    const c = chooseWriteConn(conns);
    (scope.conns ??= new Map()).set(pool, c);
    return c;
  }

  /** A connection of the session's own (dedicated after WATCH, RESP3) used as a write connection. */
  wrap(pool: AckPool, conn: BackendConn): WriteAckConn {
    let w = this.#wrapped.get(conn);
    if (w === undefined) this.#wrapped.set(conn, w = new WriteAckConn(this, pool, conn));
    return w;
  }

  /** Why a write to `pool` is refused at once (too few replicas), or null. Refreshes a stale count. */
  refusal(pool: AckPool, groupId: number): string | null {
    const rc = this.#replicas.get(pool.addr);
    if (rc === undefined) {
      this.#check(pool);
      return null;
    }
    const n = this.opts.replicas;
    // Enough replicas (or not known): nothing to do per write; a WAIT that comes back short reads the count again.
    if (rc.online < 0 || rc.online >= n) return null;
    if (performance.now() - rc.checkedAt > SHORT_RECHECK_MS) this.#check(pool);
    this.stats.fastFails++;
    const group = groupId > 0 ? `group-[${groupId}]` : "the group";
    return `NOREPLICAS ${group} (master ${pool.addr}) has ${rc.online} connected replica(s), ` +
      `backend_write_acks = ${n} needs ${n}: write not run`;
  }

  /** A WAIT came back short: the replica count is read again. */
  replicasChanged(pool: AckPool): void {
    this.#check(pool);
  }

  /** Reads `INFO replication` on the pool's usual connection (never behind a WAIT). */
  #check(pool: AckPool): void {
    let rc = this.#replicas.get(pool.addr);
    if (rc === undefined) {
      this.#replicas.set(pool.addr, rc = { online: -1, checkedAt: performance.now(), checking: false });
    }
    if (rc.checking) return;
    rc.checking = true;
    const entry = rc;
    pool.conns[0].call(0, ["INFO", "replication"]).then((raw) => {
      if (!isErrorReply(raw)) entry.online = onlineReplicas(new TextDecoder().decode(raw));
    }, () => {/* the backend is down: writes fail on their own */}).finally(() => {
      entry.checking = false;
      entry.checkedAt = performance.now();
    });
  }

  /** Forgets a pool that no slot uses any more. */
  forget(pool: AckPool): void {
    this.#replicas.delete(pool.addr);
  }
}

/**
 * Sends on `pool`: by its write connection when `acked` (the request, `reply` may wrap it) is on the write path,
 * else by the slot's usual connection. Used by the slow paths (held and migrating slots).
 */
export function sendOnPool(
  pool: AckPool,
  slot: number,
  raw: Uint8Array,
  reply: PendingReply,
  acked: PendingReply = reply,
): void {
  if (acked instanceof AckedRequest) return acked.acks.connFor(pool, acked).send(slot, raw, reply, acked);
  const c = pool.conns;
  (c.length === 1 ? c[0] : c[slot % c.length]).send(slot, raw, reply);
}

/** The connection to use for a transaction sent on `conn` (the slot's shared one, or the session's own). */
export function ackedConn(acks: WriteAcks, pool: AckPool, conn: BackendConn, slot: number): WriteAckConn {
  const c = pool.conns;
  return conn === c[slot % c.length] ? acks.connFor(pool, null) : acks.wrap(pool, conn);
}

/** Replicas in state `online` in an `INFO replication` text (the only ones WAIT can count). */
export function onlineReplicas(info: string): number {
  let n = 0;
  for (const line of info.split("\n")) {
    if (/^slave\d+:/.test(line) && /\bstate=online\b/.test(line)) n++;
  }
  return n;
}

/** The value of an integer reply (`:3\r\n`); -1 when it is not one. */
function parseInteger(raw: Uint8Array): number {
  if (raw[0] !== 58) return -1;
  let v = 0;
  for (let i = 1; i < raw.length && raw[i] !== 13; i++) v = v * 10 + raw[i] - 48;
  return v;
}
