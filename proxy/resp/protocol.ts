/**
 * What the request parser's two paths share: the limits, the line scanner and Redis's error texts.
 * @module
 */

/** Carriage return. */
export const CR = 13;
/** Line feed. */
export const LF = 10;
/** `*`, which starts a multibulk request. */
export const STAR = 42;
/** `$`, which starts a bulk argument. */
export const DOLLAR = 36;

/** Limits enforced while parsing; exceeding one is a protocol error that closes the session. */
export interface RequestLimits {
  /** Largest bulk argument, in bytes. */
  maxBulkLen: number;
  /** Most arguments in one request, the command name included. */
  maxArgs: number;
  /** Longest inline command line or multibulk header line. */
  maxInlineLen: number;
  /**
   * Set on the limits of a session that has not authenticated yet (`preAuthLimits` in `../session_auth.ts`): the
   * session's own limits, which still bound inline commands and choose between Redis's "unauthenticated" errors and
   * the ordinary ones.
   */
  afterAuth?: RequestLimits;
}

/** Longest bulk length line (`$` excluded) before it is an error. */
export const MAX_BULK_LINE = 32;

/**
 * Index of the CR of the CRLF ending the line whose content starts at `from`, looking at `data[scanFrom, end)`:
 * -1 when not there yet; -2 when the line is longer than `max` or its CR is not followed by LF. A caller that gets -1
 * may resume the search at {@link resumeAt} once more bytes have arrived.
 */
export function findLineEnd(data: Uint8Array, end: number, from: number, scanFrom: number, max: number): number {
  const stop = Math.min(end - 1, from + max + 1);
  for (let i = scanFrom; i < stop; i++) {
    if (data[i] === CR) return data[i + 1] === LF ? i : -2;
  }
  return end - from > max + 1 ? -2 : -1;
}

/** Where {@link findLineEnd} resumes after it returned -1 (a CR at the very end is looked at again). */
export function resumeAt(end: number, from: number, scanFrom: number, max: number): number {
  return Math.max(scanFrom, Math.min(end - 1, from + max + 1));
}

/**
 * The error for a multibulk count over the limit, in Redis 7's words: `session_max_args` is stricter than Redis's
 * INT_MAX, but a client sees the text Redis gives for a count out of its range; before AUTH, Redis's own check.
 */
export function multibulkError(limits: RequestLimits, count: number | null): string {
  const own = limits.afterAuth;
  if (count !== null && own !== undefined && count <= own.maxArgs) {
    return "Protocol error: unauthenticated multibulk length";
  }
  return "Protocol error: invalid multibulk length";
}

/**
 * The error for a bulk over the limit: Redis 7 checks its proto-max-bulk-len first (`session_max_bulk_len` here),
 * answering `invalid bulk length`, then the pre-auth 16 KB.
 */
export function bulkError(limits: RequestLimits, len: number): string {
  const own = limits.afterAuth;
  if (own !== undefined && len <= own.maxBulkLen) return "Protocol error: unauthenticated bulk length";
  return "Protocol error: invalid bulk length";
}

/** The most arguments of an inline command: Redis has no pre-auth limit on them (their line is bounded anyway). */
export function inlineMaxArgs(limits: RequestLimits): number {
  return (limits.afterAuth ?? limits).maxArgs;
}
