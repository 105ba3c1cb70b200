/**
 * The gate: a request that holds its session (a blocking command, WATCH or EXEC on the dedicated connection, a
 * command held by CLIENT PAUSE) starts only once every earlier request is answered, and requests read after it wait
 * until it is done. This file keeps what waits meanwhile: the requests read and parsed behind the gate, and, once too
 * many of those wait, the chunks read but not parsed. It is apart from session.ts because none of it is on the
 * per-request path of a session that is not held: the session tests one flag before coming here.
 * @module
 */
import type { Request } from "./forward/request.ts";

/**
 * Input read while requests wait behind a blocked command, beyond which the session is closed. Reading goes on while
 * they wait, as Redis keeps reading a blocked client: that is how a client that leaves is noticed, and its blocked
 * command freed before it takes an element nobody will receive.
 */
export const MAX_STASHED_BYTES = 16 << 20;

/** A request parsed while the gate was held: its arguments and its raw bytes (null for an inline command). */
type DeferredRequest = [Uint8Array[], Uint8Array | null];

/** One session's gate (see the module doc); owned by the session, which decides when to hold, start and open it. */
export class SessionGate {
  /** The request holding the session, or null. */
  req: Request | null = null;
  /** What to run once every request before `req` is answered; null once started. */
  start: (() => void) | null = null;
  /** True while chunks read are stashed unparsed (see MAX_STASHED_BYTES). */
  stashing = false;
  /** Made by the first request or chunk that waits (null in a session never held: idle sessions stay small). */
  #deferred: DeferredRequest[] | null = null;
  #stash: Uint8Array[] | null = null;
  #stashBytes = 0;

  /** Holds the session for `req`; `start` runs (see {@link begin}) once every earlier request is answered. */
  hold(req: Request, start: () => void): void {
    this.req = req;
    this.start = start;
  }

  /** Runs the held request's start, once. */
  begin(): void {
    const start = this.start!;
    this.start = null;
    start();
  }

  /** The held request is done: the session is no longer held. */
  release(): void {
    this.req = null;
    this.start = null;
  }

  /** Keeps a request read while the gate is held; returns how many wait. */
  defer(argv: Uint8Array[], raw: Uint8Array | null): number {
    return (this.#deferred ??= []).push([argv, raw]);
  }

  /** Keeps a chunk read while stashing; false when the stash is over MAX_STASHED_BYTES. */
  stashChunk(chunk: Uint8Array): boolean {
    if (chunk.length === 0) return true;
    (this.#stash ??= []).push(chunk);
    this.#stashBytes += chunk.length;
    return this.#stashBytes <= MAX_STASHED_BYTES;
  }

  /** True when chunks wait in the stash. */
  get hasStash(): boolean {
    return this.#stash !== null && this.#stash.length > 0;
  }

  /**
   * Dispatches the requests that waited, in order, while `dispatch` (called once per request, made once per session)
   * says to go on; the rest keep waiting.
   */
  dispatchDeferred(dispatch: (argv: Uint8Array[], raw: Uint8Array | null) => boolean): void {
    const d = this.#deferred;
    if (d === null) return;
    let i = 0;
    let going = true;
    while (going && i < d.length) {
      const [argv, raw] = d[i++];
      going = dispatch(argv, raw);
    }
    this.#deferred = i < d.length ? d.slice(i) : null;
  }

  /** Feeds the stashed chunks, in order, while `feed` (made once per session) says to go on; the rest stay. */
  drainStash(feed: (chunk: Uint8Array) => boolean): void {
    const stash = this.#stash;
    if (stash === null) return;
    let i = 0;
    let going = true;
    while (going && i < stash.length) {
      const chunk = stash[i++];
      this.#stashBytes -= chunk.length;
      going = feed(chunk);
    }
    this.#stash = i < stash.length ? stash.slice(i) : null;
  }

  /** Drops everything that waited: the session is closed. */
  clear(): void {
    this.#deferred = null;
    this.#stash = null;
    this.#stashBytes = 0;
  }
}
