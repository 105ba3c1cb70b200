/**
 * The data move of one migrating slot: SCAN database `slot` on the source master and move the keys in batches with
 * `MIGRATE host port "" slot timeout [AUTH pw] KEYS ...` (never REPLACE) until the database is empty.
 *
 * Why no REPLACE: once a slot is `migrating`, proxies move a key to the target before touching it there, so a key
 * that already exists on the target is at least as new as the source's copy. The batch then fails with BUSYKEY for
 * that key (Redis still moves the others), and the executor deletes the stale source copy instead.
 * MIGRATE's timeout bounds how long the source waits on the target; a key that still fails when moved alone after
 * the target has caught up (a timeout twice, or a target error such as OOM or NOPERM) pauses the slot and is
 * reported by name. Auth errors and an unreachable source or target fail the run instead (the caller retries).
 * This module runs the batches; the keys a failed batch leaves behind are handled one by one in key_fallback.ts.
 * @module
 */
import type { BackendConn } from "../../redis/conn.ts";
import { errorText, integerOf, isErrorReply } from "../../redis/decode.ts";
import { newConn, splitAddr } from "./conn.ts";
import { AUTH_ERR, IO_ERR, KeyFallback, type MigrationTally } from "./key_fallback.ts";
import { MigrateEncoder, pageKeys, parseScanPage, type ScanPage } from "./scan_batch.ts";

/** Options of one slot's move. */
export interface SlotMigrationOptions {
  slot: number;
  /** Source master, host:port. */
  from: string;
  /** Target master, host:port. */
  to: string;
  /** product_auth: used to log in to the source and passed to MIGRATE for the target. */
  auth?: string;
  /** Keys per SCAN and per MIGRATE batch (default 1000); batches shrink by themselves when they get slow. */
  batchKeys?: number;
  /** `migration_timeout` in ms, passed to MIGRATE as its I/O timeout (default 30000). */
  timeoutMs?: number;
  /** MIGRATE batches in flight on the source connection (default 2). */
  pipeline?: number;
  /** A batch slower than this halves the batch size, so big values do not hold the source for long (default 50). */
  slowBatchMs?: number;
  /** Stops the move between batches; the result then has state "aborted". */
  signal?: AbortSignal;
}

/** Where a slot's move stands. */
export type SlotMigrationState = "starting" | "running" | "done" | "paused" | "failed" | "aborted";

/** A snapshot of one slot's move, for stats. */
export interface SlotMigrationProgress {
  slot: number;
  from: string;
  to: string;
  state: SlotMigrationState;
  /** Keys moved by this executor (sent in batches the target accepted). */
  moved: number;
  /** Stale source copies deleted because the target already had the key (BUSYKEY). */
  deleted: number;
  /** Keys in database `slot` on the source at the last look (DBSIZE), -1 before the first look. */
  keysLeft: number;
  /** moved / elapsed seconds. */
  keysPerSec: number;
  elapsedMs: number;
  /** MIGRATE commands sent. */
  batches: number;
  /** Paused: the key that could not be moved. */
  key?: string;
  /** Paused / failed: why. */
  reason?: string;
}

/** The outcome of {@link runSlotMigration}: the final progress plus two shortcuts. */
export interface SlotMigrationResult extends SlotMigrationProgress {
  /** True when database `slot` on the source is empty. */
  done: boolean;
  /** True when a key could not be moved within the timeout; `key` and `reason` say which and why. */
  paused: boolean;
}

const MAX_PASSES = 64;
/** Batch errors after which Redis has moved the keys it could: the rest are looked at one by one. */
const KEY_ERR = /BUSYKEY|IOERR|timeout|Target instance replied with error/i;
const STALLED_PASSES = 3;
const PROGRESS_REFRESH_MS = 200;

/** Moves one slot's keys; safe to run several at once for different slots (each has its own connections). */
export class SlotMigrator {
  readonly slot: number;
  readonly from: string;
  readonly to: string;
  #auth: string;
  #timeoutMs: number;
  #pipeline: number;
  #maxBatch: number;
  #batch: number;
  #slowMs: number;
  #signal?: AbortSignal;
  #host: string;
  #port: string;
  #conn: BackendConn | null = null;
  #state: SlotMigrationState = "starting";
  /** Moved and deleted counts and the stop reason, shared with the key-by-key fallback. */
  readonly #tally: MigrationTally = { moved: 0, deleted: 0, stop: null };
  #keysLeft = -1;
  #batches = 0;
  #startedAt = 0;
  #endedAt = 0;
  #key?: string;
  #reason?: string;
  #lastReplyAt = 0;
  #lastRefresh = 0;
  #running: Promise<SlotMigrationResult> | null = null;
  /** `MIGRATE host port "" db timeout [AUTH pw] KEYS`: every argument before the keys. */
  #migrateHead: string[];
  #encoder: MigrateEncoder;
  /** Set for each run: looks at the keys a failed batch left behind. */
  #fallback: KeyFallback | null = null;

  constructor(opts: SlotMigrationOptions) {
    if (!Number.isInteger(opts.slot) || opts.slot < 0 || opts.slot > 1023) throw new Error(`bad slot ${opts.slot}`);
    this.slot = opts.slot;
    this.from = opts.from;
    this.to = opts.to;
    [this.#host, this.#port] = splitAddr(opts.to);
    splitAddr(opts.from);
    this.#auth = opts.auth ?? "";
    this.#timeoutMs = Math.max(1, Math.round(opts.timeoutMs ?? 30_000));
    this.#pipeline = Math.max(1, opts.pipeline ?? 2);
    this.#maxBatch = Math.max(1, opts.batchKeys ?? 1000);
    // Slow start: values may be big, so the first batches are small and grow while they stay fast.
    this.#batch = Math.min(this.#maxBatch, 32);
    this.#slowMs = opts.slowBatchMs ?? 50;
    this.#signal = opts.signal;
    this.#migrateHead = ["MIGRATE", this.#host, this.#port, "", String(this.slot), String(this.#timeoutMs)];
    if (this.#auth) this.#migrateHead.push("AUTH", this.#auth);
    this.#migrateHead.push("KEYS");
    this.#encoder = new MigrateEncoder(this.#migrateHead);
  }

  /** The current progress (cheap; safe to call at any time). */
  progress(): SlotMigrationProgress {
    const end = this.#endedAt || Date.now();
    const elapsedMs = this.#startedAt ? end - this.#startedAt : 0;
    const p: SlotMigrationProgress = {
      slot: this.slot,
      from: this.from,
      to: this.to,
      state: this.#state,
      moved: this.#tally.moved,
      deleted: this.#tally.deleted,
      keysLeft: this.#keysLeft,
      keysPerSec: elapsedMs > 0 ? Math.round(this.#tally.moved * 1000 / elapsedMs) : 0,
      elapsedMs,
      batches: this.#batches,
    };
    if (this.#key !== undefined) p.key = this.#key;
    if (this.#reason !== undefined) p.reason = this.#reason;
    return p;
  }

  /** Runs the move once (a second call returns the same promise). Never rejects. */
  run(): Promise<SlotMigrationResult> {
    return this.#running ??= this.#run();
  }

  async #run(): Promise<SlotMigrationResult> {
    this.#startedAt = Date.now();
    const conn = newConn(this.from, this.#auth, Math.min(this.#timeoutMs + 1000, 10_000), 1 << 16);
    this.#conn = conn;
    this.#fallback = new KeyFallback({
      conn,
      slot: this.slot,
      from: this.from,
      to: this.to,
      auth: this.#auth,
      timeoutMs: this.#timeoutMs,
      migrateHead: this.#migrateHead,
      tally: this.#tally,
      aborted: () => this.#aborted(),
    });
    try {
      // MIGRATE to itself would hold the server until the timeout, every batch.
      if (this.from === this.to) throw new Error(`source and target are the same server ${this.from}`);
      await conn.connect();
      this.#state = "running";
      await this.#refreshLeft();
      let stalled = 0;
      for (let pass = 0; pass < MAX_PASSES && this.#keysLeft > 0; pass++) {
        const before = this.#keysLeft;
        await this.#scanPass();
        if (this.#tally.stop) break;
        await this.#refreshLeft();
        // Keys that SCAN keeps returning but MIGRATE neither moves nor reports would loop forever.
        stalled = this.#keysLeft >= before ? stalled + 1 : 0;
        if (stalled >= STALLED_PASSES) {
          this.#tally.stop = {
            kind: "failed",
            reason: `${this.#keysLeft} keys stay in db ${this.slot} after ${pass + 1} passes`,
          };
          break;
        }
      }
      // Stats show keys_left for a paused slot until it is resumed: count them once every batch has answered.
      if (this.#tally.stop?.kind === "paused") await this.#refreshLeft().catch(() => {});
      if (!this.#tally.stop && this.#keysLeft > 0) {
        this.#tally.stop = { kind: "failed", reason: `${this.#keysLeft} keys left after ${MAX_PASSES} passes` };
      }
    } catch (e) {
      this.#tally.stop ??= { kind: "failed", reason: (e as Error).message };
    } finally {
      conn.close();
      this.#conn = null;
      this.#fallback = null;
    }
    this.#endedAt = Date.now();
    const s = this.#tally.stop;
    if (s === null) this.#state = "done";
    else {
      this.#state = s.kind;
      if (s.kind === "paused") this.#key = s.key;
      if (s.kind !== "aborted") this.#reason = s.reason;
    }
    return { ...this.progress(), done: this.#state === "done", paused: this.#state === "paused" };
  }

  async #refreshLeft(): Promise<void> {
    const raw = await this.#conn!.call(this.slot, ["DBSIZE"]);
    if (isErrorReply(raw)) throw new Error(`DBSIZE in db ${this.slot} on ${this.from}: ${errorText(raw)}`);
    this.#keysLeft = integerOf(raw);
    this.#lastRefresh = Date.now();
  }

  #aborted(): boolean {
    if (this.#signal?.aborted && !this.#tally.stop) this.#tally.stop = { kind: "aborted" };
    return this.#tally.stop !== null;
  }

  /**
   * One full SCAN of the slot's database, with the next SCAN always sent ahead of the MIGRATEs it feeds. Each
   * MIGRATE carries a byte range of a SCAN reply as its key list (scan_batch.ts), so no key is decoded here.
   */
  async #scanPass(): Promise<void> {
    const conn = this.#conn!;
    const inflight: Promise<void>[] = [];
    const scanFrom = (cursor: string) => {
      const p = conn.call(this.slot, ["SCAN", cursor, "COUNT", String(this.#maxBatch)]);
      p.catch(() => {}); // awaited later; a loss meanwhile must not count as unhandled
      return p;
    };
    let scan: Promise<Uint8Array> | null = scanFrom("0");
    try {
      while (scan !== null) {
        const raw: Uint8Array = await scan;
        scan = null;
        if (isErrorReply(raw)) throw new Error(`SCAN in db ${this.slot} on ${this.from}: ${errorText(raw)}`);
        if (this.#aborted()) break;
        const page = parseScanPage(raw);
        if (page.cursor !== "0") scan = scanFrom(page.cursor);
        const n = page.bounds.length - 1;
        for (let i = 0; i < n; i += this.#batch) {
          inflight.push(this.#migrateBatch(page, i, Math.min(n, i + this.#batch)));
          while (inflight.length > this.#pipeline) await inflight.shift();
        }
        if (Date.now() - this.#lastRefresh > PROGRESS_REFRESH_MS) {
          this.#lastRefresh = Date.now();
          conn.call(this.slot, ["DBSIZE"]).then((r) => {
            if (!isErrorReply(r)) this.#keysLeft = integerOf(r);
          }, () => {});
        }
      }
    } finally {
      for (const p of inflight) await p;
    }
  }

  /** Moves keys `from`..`to` of a SCAN page; never rejects (a failure stops the move with the reason). */
  async #migrateBatch(page: ScanPage, from: number, to: number): Promise<void> {
    try {
      await this.#migrateBatchOnce(page, from, to);
    } catch (e) {
      this.#tally.stop ??= { kind: "failed", reason: (e as Error).message };
    }
  }

  async #migrateBatchOnce(page: ScanPage, from: number, to: number): Promise<void> {
    const count = to - from;
    if (count <= 0) return;
    const sentAt = Date.now();
    this.#batches++;
    const raw = await this.#conn!.callEncoded(this.slot, this.#encoder.encode(page, from, to));
    const now = Date.now();
    this.#adapt(now - Math.max(sentAt, this.#lastReplyAt), count);
    this.#lastReplyAt = now;
    if (!isErrorReply(raw)) {
      // +OK or +NOKEY (every key already gone: moved by a proxy or expired).
      if (raw[1] === 79) this.#tally.moved += count;
      return;
    }
    const err = errorText(raw);
    if (this.#tally.stop) return;
    if (AUTH_ERR.test(err) || !KEY_ERR.test(err)) {
      this.#tally.stop = { kind: "failed", reason: `MIGRATE to ${this.to}: ${err}` };
      return;
    }
    // Redis moved every key it could and left the others on the source; look at those one at a time.
    const keys = pageKeys(page, from, to);
    if (IO_ERR.test(err)) return await this.#fallback!.oneByOne(keys);
    await this.#fallback!.busyFallback(keys);
  }

  /** Halves the batch after a slow one; grows it back after fast ones. */
  #adapt(ms: number, n: number): void {
    if (ms > this.#slowMs && n > 1) this.#batch = Math.max(1, n >> 1);
    else if (ms * 4 < this.#slowMs && this.#batch < this.#maxBatch) {
      this.#batch = Math.min(this.#maxBatch, this.#batch * 2);
    }
  }
}

/** Moves one slot's keys from `from` to `to`; resolves with the outcome (never rejects). */
export function runSlotMigration(opts: SlotMigrationOptions): Promise<SlotMigrationResult> {
  return new SlotMigrator(opts).run();
}
