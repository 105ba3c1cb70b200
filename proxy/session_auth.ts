/**
 * A session before AUTH: Redis 7's smaller request limits for a client that has not authenticated, and the commands
 * it may run meanwhile. The session keeps one boolean on its hot path; everything else about AUTH is here.
 * @module
 */
import { errorReply } from "../redis/encode.ts";
import type { ProxyConfig } from "./core/config.ts";
import type { RequestLimits } from "./resp/request_parser.ts";

/** The reply to a command sent before AUTH. */
export const NOAUTH: Uint8Array = errorReply("NOAUTH Authentication required.");

/** Redis 7's limits for a client that has not authenticated: a bulk over 16 KB or a multibulk over 10 arguments. */
export const PRE_AUTH_MAX_BULK_LEN = 16384;
/** See {@link PRE_AUTH_MAX_BULK_LEN}. */
export const PRE_AUTH_MAX_ARGS = 10;

/**
 * The limits for a session before AUTH, derived from its own: a client without the password cannot make the proxy
 * buffer more than about 10 x 16 KB, so a `$400000000` header is refused as soon as it is read.
 */
export function preAuthLimits(own: RequestLimits): RequestLimits {
  return {
    maxBulkLen: Math.min(PRE_AUTH_MAX_BULK_LEN, own.maxBulkLen),
    maxArgs: Math.min(PRE_AUTH_MAX_ARGS, own.maxArgs),
    maxInlineLen: own.maxInlineLen,
    afterAuth: own,
  };
}

/** The last limits made, shared by every session made while the settings stay the same (idle sessions stay small). */
let lastLimits: RequestLimits = { maxBulkLen: -1, maxArgs: -1, maxInlineLen: 64 * 1024 };
let lastPreAuth: RequestLimits = preAuthLimits(lastLimits);

/**
 * A session's own request limits (session_max_bulk_len, session_max_args), which apply once it is authenticated. The
 * object is shared and must not be changed.
 */
export function sessionLimits(cfg: ProxyConfig): RequestLimits {
  if (cfg.session_max_bulk_len !== lastLimits.maxBulkLen || cfg.session_max_args !== lastLimits.maxArgs) {
    lastLimits = { maxBulkLen: cfg.session_max_bulk_len, maxArgs: cfg.session_max_args, maxInlineLen: 64 * 1024 };
    lastPreAuth = preAuthLimits(lastLimits);
  }
  return lastLimits;
}

/** The limits the parser enforces for a session that is, or is not yet, authenticated. */
export function parserLimits(own: RequestLimits, authenticated: boolean): RequestLimits {
  if (authenticated) return own;
  return own === lastLimits ? lastPreAuth : preAuthLimits(own);
}

/** Whether a command may run before AUTH: AUTH itself, HELLO (which can carry AUTH) and QUIT. */
export function allowedBeforeAuth(name: string): boolean {
  return name === "auth" || name === "quit" || name === "hello";
}
