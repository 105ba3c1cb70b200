/**
 * The proxy's own slow log: requests that took at least `slowlog_log_slower_than` microseconds from parsed to
 * answered at this proxy, as the client saw them, kept in Redis's entry form (SLOWLOG GET in proxy/local/slowlog.ts).
 * @module
 */

/** Redis's SLOWLOG_ENTRY_MAX_ARGC: arguments kept per entry, the last one saying how many more there were. */
export const SLOWLOG_MAX_ARGC = 32;
/** Redis's SLOWLOG_ENTRY_MAX_STRING: bytes kept per argument, followed by "... (N more bytes)". */
export const SLOWLOG_MAX_STRING = 128;

/** One slow log entry, as SLOWLOG GET shows it. */
export interface SlowLogEntry {
  readonly id: number;
  /** Unix time in seconds when it was logged. */
  readonly time: number;
  readonly durationUs: number;
  /** The arguments, truncated as Redis does and with secrets redacted. */
  readonly args: readonly Uint8Array[];
  readonly addr: string;
  readonly name: string;
}

const enc = new TextEncoder();
const REDACTED = enc.encode("(redacted)");

/**
 * The arguments a slow log entry or a MONITOR line shows: AUTH's arguments and HELLO's AUTH pair replaced by
 * "(redacted)", as Redis 7 does. Returns `argv` itself when nothing is redacted.
 */
export function redactedArgs(argv: readonly Uint8Array[]): readonly Uint8Array[] {
  const n = argv[0].length;
  if (n !== 4 && n !== 5) return argv;
  const name = String.fromCharCode(...argv[0]).toLowerCase();
  if (name === "auth") return argv.map((a, i) => i === 0 ? a : REDACTED);
  if (name !== "hello") return argv;
  const out = argv.slice();
  for (let i = 2; i + 2 < out.length; i++) {
    if (String.fromCharCode(...out[i]).toLowerCase() === "auth") {
      out[i + 1] = REDACTED;
      out[i + 2] = REDACTED;
      break;
    }
  }
  return out;
}

/** The arguments an entry keeps: at most 32, each at most 128 bytes, with Redis's notes on what was cut. */
export function slowlogArgs(argv: readonly Uint8Array[]): Uint8Array[] {
  const shown = redactedArgs(argv);
  const argc = shown.length;
  const kept = Math.min(argc, SLOWLOG_MAX_ARGC);
  const out: Uint8Array[] = new Array(kept);
  for (let i = 0; i < kept; i++) {
    if (kept !== argc && i === kept - 1) {
      out[i] = enc.encode(`... (${argc - kept + 1} more arguments)`);
    } else if (shown[i].length > SLOWLOG_MAX_STRING) {
      const note = enc.encode(`... (${shown[i].length - SLOWLOG_MAX_STRING} more bytes)`);
      const a = new Uint8Array(SLOWLOG_MAX_STRING + note.length);
      a.set(shown[i].subarray(0, SLOWLOG_MAX_STRING));
      a.set(note, SLOWLOG_MAX_STRING);
      out[i] = a;
    } else {
      out[i] = shown[i].slice(); // the request's bytes live in a read buffer shared with later requests
    }
  }
  return out;
}

/** The slow log of one proxy (one worker thread with proxy_workers > 1). */
export class SlowLog {
  /**
   * The threshold the per-request path compares durations with: slowlog_log_slower_than, or Infinity when it is
   * negative (disabled), so that the hot path is one comparison.
   */
  thresholdUs: number;
  #maxLen: number;
  #nextId = 0;
  /** Newest first. */
  #entries: SlowLogEntry[] = [];

  constructor(slowerThanUs: number, maxLen: number) {
    this.thresholdUs = slowerThanUs < 0 ? Infinity : slowerThanUs;
    this.#maxLen = Math.max(0, maxLen);
  }

  /** slowlog_log_slower_than as configured: negative when disabled. */
  get slowerThanUs(): number {
    return this.thresholdUs === Infinity ? -1 : this.thresholdUs;
  }

  set slowerThanUs(us: number) {
    this.thresholdUs = us < 0 ? Infinity : us;
  }

  get maxLen(): number {
    return this.#maxLen;
  }

  /** Changes slowlog_max_len; older entries beyond it go at once, as in Redis. */
  set maxLen(n: number) {
    this.#maxLen = Math.max(0, n);
    if (this.#entries.length > this.#maxLen) this.#entries.length = this.#maxLen;
  }

  get length(): number {
    return this.#entries.length;
  }

  /** Records a slow request (the caller has compared its duration with {@link thresholdUs}). */
  add(argv: readonly Uint8Array[], durationUs: number, addr: string, name: Uint8Array | null): void {
    const entry: SlowLogEntry = {
      id: this.#nextId++,
      time: Math.floor(Date.now() / 1000),
      durationUs,
      args: slowlogArgs(argv),
      addr,
      name: name === null ? "" : new TextDecoder().decode(name),
    };
    this.#entries.unshift(entry);
    if (this.#entries.length > this.#maxLen) this.#entries.length = this.#maxLen;
  }

  /** The newest `count` entries (all for a negative count). */
  newest(count: number): readonly SlowLogEntry[] {
    return count < 0 ? this.#entries : this.#entries.slice(0, count);
  }

  reset(): void {
    this.#entries = [];
  }
}
