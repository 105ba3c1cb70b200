/**
 * The key-by-key side of a slot's move (migrate.ts moves keys in batches). When a batch MIGRATE fails for some of
 * its keys, Redis has moved every key it could and left the others on the source; those are looked at here:
 *
 * - BUSYKEY: the target already holds a newer copy (a proxy moved it first), so the stale source copy is deleted;
 * - a timeout: the key is retried alone, once, after the target answers PING again;
 * - anything else the target refuses (OOM, NOPERM) pauses the slot, naming the key and its size;
 * - an auth error or an unreachable target fails the run (every key would fail alike; the caller retries later).
 * @module
 */
import type { BackendConn } from "../../redis/conn.ts";
import { errorText, integerOf, isErrorReply } from "../../redis/decode.ts";
import { withConn } from "./conn.ts";

/** Why a move stopped early: a key it could not move, a failure of the run, or the caller's abort. */
export type MigrationStop = { kind: "paused"; key: string; reason: string } | { kind: "failed"; reason: string } | {
  kind: "aborted";
};

/** The counters and outcome a slot's move shares between its batches and the key-by-key fallback. */
export interface MigrationTally {
  /** Keys moved (the target accepted them). */
  moved: number;
  /** Stale source copies deleted because the target already had the key. */
  deleted: number;
  /** Set once the move must stop: batches still in flight look at it before doing anything more. */
  stop: MigrationStop | null;
}

/** Errors about logging in to the target: every key would fail alike. */
export const AUTH_ERR = /NOAUTH|WRONGPASS|invalid password|without any password|invalid username/i;
/** MIGRATE's I/O timeout (or a lost target connection): the key may still land, so it is worth one retry. */
export const IO_ERR = /IOERR|timeout/i;

const decoder = new TextDecoder();

function keyName(k: Uint8Array): string {
  return decoder.decode(k);
}

/** What {@link KeyFallback} needs from its slot's move. */
export interface KeyFallbackOptions {
  /** The move's connection to the source, selected on database `slot`. */
  conn: BackendConn;
  slot: number;
  from: string;
  to: string;
  auth: string;
  timeoutMs: number;
  /** `MIGRATE host port "" db timeout [AUTH pw] KEYS`: every argument before the keys. */
  migrateHead: readonly string[];
  tally: MigrationTally;
  /** Whether the move is to stop (aborted by the caller or stopped by another batch). */
  aborted(): boolean;
}

/** Looks at the keys a batch left behind, one at a time; see the module documentation. */
export class KeyFallback {
  constructor(private readonly o: KeyFallbackOptions) {}

  /**
   * After a batch error that was not an I/O error (typically BUSYKEY), retries each key alone, pipelined: keys
   * already moved answer NOKEY at once, and BUSYKEY ones are deleted here. Anything else is looked at in sequence.
   */
  async busyFallback(keys: Uint8Array[]): Promise<void> {
    const { conn, slot, tally } = this.o;
    const replies = await Promise.all(keys.map((k) => conn.call(slot, this.#migrateArgs(k))));
    const busy: Uint8Array[] = [];
    const rest: Uint8Array[] = [];
    for (let i = 0; i < keys.length; i++) {
      const raw = replies[i];
      if (!isErrorReply(raw)) {
        if (raw[1] === 79) tally.moved++;
      } else if (/BUSYKEY/.test(errorText(raw))) busy.push(keys[i]);
      else rest.push(keys[i]);
    }
    if (busy.length > 0) await this.#dropStale(busy);
    if (rest.length > 0) await this.oneByOne(rest);
  }

  /**
   * Moves keys one at a time, in sequence, so that at most one MIGRATE holds the source at a time.
   * A key that times out is retried once after the target has caught up (it answers PING): Redis finishes a RESTORE
   * whose reply the source stopped waiting for, so a big value usually lands on the target anyway and the retry
   * sees BUSYKEY (the same value: the source copy is dropped). A key that fails again, or that the target refuses,
   * pauses the slot with its name; a target that does not answer fails the run (retried later).
   */
  async oneByOne(keys: Uint8Array[]): Promise<void> {
    if (!(await this.#targetReady())) return;
    for (const k of keys) {
      if (this.o.aborted()) return;
      await this.#moveAlone(k);
    }
  }

  #migrateArgs(k: Uint8Array): (string | Uint8Array)[] {
    return [...this.o.migrateHead, k];
  }

  /** Deletes source copies of keys the target already holds (UNLINK: a big stale value is freed off-thread). */
  async #dropStale(keys: Uint8Array[]): Promise<void> {
    const { conn, slot, from } = this.o;
    const raw = await conn.call(slot, ["UNLINK", ...keys]);
    if (isErrorReply(raw)) throw new Error(`UNLINK in db ${slot} on ${from}: ${errorText(raw)}`);
    this.o.tally.deleted += integerOf(raw);
  }

  async #moveAlone(k: Uint8Array): Promise<void> {
    const { conn, slot, to, tally } = this.o;
    let raw = await conn.call(slot, this.#migrateArgs(k));
    let timedOut = false;
    if (isErrorReply(raw) && IO_ERR.test(errorText(raw))) {
      timedOut = true;
      if (!(await this.#targetReady())) return;
      raw = await conn.call(slot, this.#migrateArgs(k));
    }
    if (!isErrorReply(raw)) {
      if (raw[1] === 79) tally.moved++;
      return;
    }
    const err = errorText(raw);
    if (/BUSYKEY/.test(err)) return await this.#dropStale([k]);
    if (tally.stop) return;
    const name = JSON.stringify(keyName(k));
    if (AUTH_ERR.test(err)) {
      tally.stop = { kind: "failed", reason: `MIGRATE to ${to}: ${err}` };
      return;
    }
    if (!(await this.#targetReady())) return;
    const size = await this.#keySize(k);
    const why = IO_ERR.test(err)
      ? `cannot be moved within migration_timeout (${this.o.timeoutMs} ms${timedOut ? ", twice" : ""})`
      : `is refused by the target ${to}`;
    tally.stop = { kind: "paused", key: keyName(k), reason: `key ${name}${size} ${why}: ${err}` };
  }

  /** Waits until the target answers PING; false (and the run failed) when it does not. */
  async #targetReady(): Promise<boolean> {
    const problem = await this.#targetProblem();
    if (problem) this.o.tally.stop ??= { kind: "failed", reason: `target ${this.o.to}: ${problem}` };
    return problem === "";
  }

  /** Why the target cannot take keys, or "" when it answers PING. */
  async #targetProblem(): Promise<string> {
    try {
      await withConn(this.o.to, this.o.auth, Math.max(this.o.timeoutMs + 1000, 10_000), (c) => c.call(0, ["PING"]));
      return "";
    } catch (e) {
      return (e as Error).message;
    }
  }

  async #keySize(k: Uint8Array): Promise<string> {
    const raw = await this.o.conn.call(this.o.slot, ["MEMORY", "USAGE", k]).catch(() => null);
    if (raw === null || isErrorReply(raw)) return "";
    const n = integerOf(raw);
    return Number.isFinite(n) ? ` (about ${n} bytes)` : "";
  }
}
