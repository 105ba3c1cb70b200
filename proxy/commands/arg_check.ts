/**
 * Redis checks a command's arguments before anything else happens, so a malformed call gets Redis's own error even
 * where codis-proxy would refuse a well-formed one (`COPY a b DB notanumber` → `ERR value is not an integer or out of
 * range`, not the refusal). These checks run only on the way to a refusal: never for a command that is served.
 * @module
 */
import { formatRefused } from "./errors.ts";
import { equalsUpper, parseIntArg } from "./keys.ts";
import type { CommandInfo } from "./table.ts";

/** The slot whose master runs a script or function called with no keys (`EVAL script 0`). */
export const KEYLESS_SLOT = 0;

const NOT_INT = "ERR value is not an integer or out of range";
const SYNTAX = "ERR syntax error";
const DB = new TextEncoder().encode("DB");
const REPLACE = new TextEncoder().encode("REPLACE");
const ASYNC = new TextEncoder().encode("ASYNC");
const SYNC = new TextEncoder().encode("SYNC");

/** Redis's getIntFromObjectOrReply: the error for an argument that is not a 32-bit integer, or null. */
function intError(arg: Uint8Array, notInt = NOT_INT): string | null {
  const n = parseIntArg(arg);
  if (Number.isNaN(n)) return notInt;
  if (n < -0x80000000 || n > 0x7fffffff) {
    return notInt === NOT_INT ? "ERR value is out of range, value must between -2147483648 and 2147483647" : notInt;
  }
  return null;
}

/** Per command: Redis's error for malformed arguments, or null when they are well-formed. */
const ARG_CHECKS: Readonly<Record<string, (argv: Uint8Array[], argc: number) => string | null>> = {
  // COPY source destination [DB destination-db] [REPLACE], parsed as Redis's copyCommand does.
  copy(argv, argc) {
    for (let j = 3; j < argc; j++) {
      if (equalsUpper(argv[j], REPLACE)) continue;
      if (equalsUpper(argv[j], DB) && j + 1 < argc) {
        const e = intError(argv[++j]);
        if (e !== null) return e;
        continue;
      }
      return SYNTAX;
    }
    return null;
  },
  move: (argv) => intError(argv[2]),
  swapdb: (argv) => intError(argv[1], "ERR invalid first DB index") ?? intError(argv[2], "ERR invalid second DB index"),
  flushall: flushArgs,
  flushdb: flushArgs,
};

/** FLUSHALL / FLUSHDB [ASYNC|SYNC]. */
function flushArgs(argv: Uint8Array[], argc: number): string | null {
  if (argc > 2) return SYNTAX;
  if (argc === 2 && !equalsUpper(argv[1], ASYNC) && !equalsUpper(argv[1], SYNC)) return SYNTAX;
  return null;
}

/** Redis's error for malformed arguments of `info`'s command, or null when they are well-formed (or unchecked). */
export function argumentError(info: CommandInfo, argv: Uint8Array[], argc: number): string | null {
  const check = ARG_CHECKS[info.name];
  return check === undefined ? null : check(argv, argc);
}

/**
 * The error text for a call codis-proxy refuses: Redis's own argument error when the call is malformed, as Redis
 * would answer it first; otherwise the refusal with `reason` (default: the command's own).
 */
export function refusalText(info: CommandInfo, argv: Uint8Array[], argc: number, reason?: string): string {
  return argumentError(info, argv, argc) ?? formatRefused(info, reason);
}
