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
const enc = new TextEncoder();
const DB = enc.encode("DB");
const REPLACE = enc.encode("REPLACE");
const ASYNC = enc.encode("ASYNC");
const SYNC = enc.encode("SYNC");
const [ASC, DESC, ALPHA, LIMIT, STORE, BY, GET] = ["ASC", "DESC", "ALPHA", "LIMIT", "STORE", "BY", "GET"].map((w) =>
  enc.encode(w)
);
const [NOSAVE, SAVE, NOW, FORCE, ABORT, NO, ONE, SCHEDULE, ON, OFF] = [
  "NOSAVE",
  "SAVE",
  "NOW",
  "FORCE",
  "ABORT",
  "NO",
  "ONE",
  "SCHEDULE",
  "ON",
  "OFF",
].map((w) => enc.encode(w));

/** Redis's getLongFromObjectOrReply: the error for an argument that is not a 64-bit integer, or null. */
function longError(arg: Uint8Array): string | null {
  return Number.isNaN(parseIntArg(arg)) ? NOT_INT : null;
}

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
  sort: (argv, argc) => sortArgs(argv, argc, false),
  sort_ro: (argv, argc) => sortArgs(argv, argc, true),
  // SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: ABORT alone, not both NOSAVE and SAVE.
  shutdown(argv, argc) {
    let save = false, nosave = false, other = false, abort = false;
    for (let i = 1; i < argc; i++) {
      const a = argv[i];
      if (equalsUpper(a, NOSAVE)) nosave = true;
      else if (equalsUpper(a, SAVE)) save = true;
      else if (equalsUpper(a, NOW) || equalsUpper(a, FORCE)) other = true;
      else if (equalsUpper(a, ABORT)) abort = true;
      else return SYNTAX;
    }
    return (abort && (save || nosave || other)) || (save && nosave) ? SYNTAX : null;
  },
  bgsave: (argv, argc) => argc === 2 && !equalsUpper(argv[1], SCHEDULE) ? SYNTAX : null,
  replicaof: replicaofArgs,
  slaveof: replicaofArgs,
  "client|tracking": (argv) => equalsUpper(argv[2], ON) || equalsUpper(argv[2], OFF) ? null : SYNTAX,
  swapdb: (argv) => intError(argv[1], "ERR invalid first DB index") ?? intError(argv[2], "ERR invalid second DB index"),
  flushall: flushArgs,
  flushdb: flushArgs,
};

/** REPLICAOF host port | NO ONE: the port is 0..65535 unless it is NO ONE. */
function replicaofArgs(argv: Uint8Array[]): string | null {
  if (equalsUpper(argv[1], NO) && equalsUpper(argv[2], ONE)) return null;
  const port = parseIntArg(argv[2]);
  return Number.isNaN(port) || port < 0 || port > 65535 ? "ERR Invalid master port" : null;
}

/**
 * SORT / SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst], parsed as
 * Redis's sortCommandGeneric does (STORE only for SORT).
 */
function sortArgs(argv: Uint8Array[], argc: number, readonly: boolean): string | null {
  for (let j = 2; j < argc; j++) {
    const left = argc - j - 1;
    const a = argv[j];
    if (equalsUpper(a, ASC) || equalsUpper(a, DESC) || equalsUpper(a, ALPHA)) continue;
    if (equalsUpper(a, LIMIT) && left >= 2) {
      const e = longError(argv[j + 1]) ?? longError(argv[j + 2]);
      if (e !== null) return e;
      j += 2;
    } else if (!readonly && equalsUpper(a, STORE) && left >= 1) j++;
    else if ((equalsUpper(a, BY) || equalsUpper(a, GET)) && left >= 1) j++;
    else return SYNTAX;
  }
  return null;
}

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
