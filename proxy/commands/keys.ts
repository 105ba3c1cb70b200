/**
 * Key extraction from argv following Redis 7 key specs (begin_search index/keyword + find_keys range/keynum), plus
 * the few commands whose specs are incomplete and need Redis's own procedure (SORT, MIGRATE). Allocation-free.
 * @module
 */
import { slotOf } from "../../models/hash.ts";
import { flagBits, KEY_SPEC_FLAG_BITS, KS_NOT_KEY } from "./flags.ts";
import type { RawCommand, RawKeySpec } from "./parse.ts";

/** begin_search type: a fixed index. */
export const BS_INDEX = 0;
/** begin_search type: the argument after a keyword. */
export const BS_KEYWORD = 1;
/** begin_search type: unknown (needs a command-specific procedure). */
export const BS_UNKNOWN = 2;
/** find_keys type: a range. */
export const FK_RANGE = 0;
/** find_keys type: a count argument followed by the keys. */
export const FK_KEYNUM = 1;
/** find_keys type: unknown. */
export const FK_UNKNOWN = 2;

/** A key spec compiled for the hot path. */
export interface KeySpec {
  /** KS_* bits. */
  readonly flags: number;
  readonly bsType: number;
  /** BS_INDEX: the index of the first key. */
  readonly index: number;
  /** BS_KEYWORD: the keyword, upper-case ASCII bytes. */
  readonly keyword: Uint8Array | null;
  /** BS_KEYWORD: where the search starts; negative = from the end, searching backwards. */
  readonly startfrom: number;
  readonly fkType: number;
  /** FK_RANGE: last key relative to the first (>= 0) or to argc (< 0). */
  readonly lastkey: number;
  /** FK_RANGE / FK_KEYNUM: distance between keys. */
  readonly keystep: number;
  /** FK_RANGE with lastkey -1: only 1/limit of the remaining arguments are keys (XREAD STREAMS k1 k2 id1 id2). */
  readonly limit: number;
  /** FK_KEYNUM: index of the count argument, relative to the begin_search result. */
  readonly keynumidx: number;
  /** FK_KEYNUM: index of the first key, relative to the begin_search result. */
  readonly firstkey: number;
}

/** A command-specific key procedure, used where the specs cannot describe the keys. */
export type GetKeysProc = (argv: Uint8Array[], argc: number, out: Int32Array) => number;

const enc = new TextEncoder();

/** Compiles one raw key spec. */
export function compileKeySpec(ks: RawKeySpec): KeySpec {
  const bs = ks.bs, fk = ks.fk;
  return {
    flags: flagBits(ks.flags, KEY_SPEC_FLAG_BITS),
    bsType: bs.type === "index" ? BS_INDEX : bs.type === "keyword" ? BS_KEYWORD : BS_UNKNOWN,
    index: bs.type === "index" ? bs.index : 0,
    keyword: bs.type === "keyword" ? enc.encode(bs.keyword.toUpperCase()) : null,
    startfrom: bs.type === "keyword" ? bs.startfrom : 0,
    fkType: fk.type === "range" ? FK_RANGE : fk.type === "keynum" ? FK_KEYNUM : FK_UNKNOWN,
    lastkey: fk.type === "range" ? fk.lastkey : 0,
    keystep: fk.type === "unknown" ? 1 : Math.max(1, fk.keystep),
    limit: fk.type === "range" ? fk.limit : 0,
    keynumidx: fk.type === "keynum" ? fk.keynumidx : 0,
    firstkey: fk.type === "keynum" ? fk.firstkey : 0,
  };
}

/** Builds the key specs of a command, synthesizing one from legacy first/last/step for pre-7 servers. */
export function compileKeySpecs(raw: RawCommand): KeySpec[] {
  if (raw.keySpecs.length > 0) return raw.keySpecs.map(compileKeySpec);
  if (raw.first <= 0) return [];
  return [compileKeySpec({
    flags: [],
    bs: { type: "index", index: raw.first },
    fk: { type: "range", lastkey: raw.last < 0 ? raw.last : raw.last - raw.first, keystep: raw.step, limit: 0 },
  })];
}

/** Case-insensitive comparison of an argument with upper-case ASCII bytes. */
export function equalsUpper(arg: Uint8Array, upper: Uint8Array): boolean {
  const n = upper.length;
  if (arg.length !== n) return false;
  for (let i = 0; i < n; i++) {
    let c = arg[i];
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== upper[i]) return false;
  }
  return true;
}

/** Parses a decimal integer argument like Redis's string2ll; returns NaN when it is not one. */
export function parseIntArg(arg: Uint8Array): number {
  const n = arg.length;
  if (n === 0 || n > 18) return NaN;
  let i = 0, neg = false;
  if (arg[0] === 45) {
    if (n === 1) return NaN;
    neg = true;
    i = 1;
  }
  if (arg[i] === 48 && (n > i + 1 || neg)) return NaN; // no leading zeros, no "-0"
  let v = 0;
  for (; i < n; i++) {
    const d = arg[i] - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

/**
 * Applies key specs to argv. Returns the number of positions written to `out`, or -1 when the arguments are
 * malformed so that the keys cannot be located (bad or too large numkeys, a range past the end, or no key at all for
 * a command whose keys are mandatory). A numkeys of 0 is malformed too, except for commands flagged
 * `no_mandatory_keys` (EVAL script 0), where it yields no keys. NOT_KEY specs (sharded pub/sub channels) are
 * included only with `includeNotKeys`.
 */
export function applyKeySpecs(
  specs: readonly KeySpec[],
  mandatory: boolean,
  argv: Uint8Array[],
  argc: number,
  out: Int32Array,
  includeNotKeys: boolean,
  outFlags?: Int32Array,
): number {
  let n = 0;
  for (let s = 0; s < specs.length; s++) {
    const spec = specs[s];
    if (!includeNotKeys && (spec.flags & KS_NOT_KEY) !== 0) continue;
    let first = 0;
    if (spec.bsType === BS_INDEX) {
      first = spec.index;
    } else if (spec.bsType === BS_KEYWORD) {
      const kw = spec.keyword!;
      if (spec.startfrom > 0) {
        for (let i = spec.startfrom; i < argc; i++) {
          if (equalsUpper(argv[i], kw)) {
            first = i + 1;
            break;
          }
        }
      } else {
        for (let i = argc + spec.startfrom; i >= 1; i--) {
          if (i < argc && equalsUpper(argv[i], kw)) {
            first = i + 1;
            break;
          }
        }
      }
      if (first === 0) continue; // optional keyword absent: this spec has no keys
    } else {
      continue; // unknown begin_search: left to a command-specific procedure
    }
    let last: number, step: number;
    if (spec.fkType === FK_RANGE) {
      step = spec.keystep;
      if (spec.lastkey >= 0) last = first + spec.lastkey;
      else if (spec.limit === 0) last = argc + spec.lastkey;
      else last = first + (Math.floor((argc - first) / spec.limit) + spec.lastkey);
    } else if (spec.fkType === FK_KEYNUM) {
      step = spec.keystep;
      const at = first + spec.keynumidx;
      if (at >= argc) return -1;
      const numkeys = parseIntArg(argv[at]);
      if (!(numkeys >= 0)) return -1;
      first += spec.firstkey;
      if (numkeys === 0) {
        if (mandatory) return -1; // ZUNIONSTORE d 0 ...: Redis rejects it too
        continue; // EVAL script 0: valid, no keys
      }
      last = first + numkeys - 1;
    } else {
      continue;
    }
    if (first >= argc || last >= argc || last < first) return -1;
    for (let i = first; i <= last; i += step) {
      if (n >= out.length) return -1;
      if (outFlags !== undefined) outFlags[n] = spec.flags;
      out[n++] = i;
    }
  }
  if (n === 0 && mandatory && specs.length > 0) return -1;
  return n;
}

const SORT_LIMIT = enc.encode("LIMIT");
const SORT_GET = enc.encode("GET");
const SORT_BY = enc.encode("BY");
const SORT_STORE = enc.encode("STORE");

/** SORT key [BY p] [LIMIT o c] [GET p ...] [ASC|DESC] [ALPHA] [STORE dst]: the key, and the last STORE target. */
export const sortGetKeys: GetKeysProc = (argv, argc, out) => {
  if (argc < 2 || out.length < 2) return -1;
  out[0] = 1;
  let store = 0;
  for (let i = 2; i < argc; i++) {
    const a = argv[i];
    if (equalsUpper(a, SORT_LIMIT)) i += 2;
    else if (equalsUpper(a, SORT_GET) || equalsUpper(a, SORT_BY)) i += 1;
    else if (equalsUpper(a, SORT_STORE) && i + 1 < argc) store = i + 1;
  }
  if (store === 0) return 1;
  out[1] = store;
  return 2;
};

const STAR = 42; // *
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const HASH = 35; // #

/**
 * True when a BY or GET pattern of SORT/SORT_RO could name keys outside the sorted key's slot. Those keys would be
 * looked up in the slot's own database, where they are not, so the reply would be silently wrong (Redis Cluster
 * refuses such patterns too). A pattern is safe without `*` (Redis then reads no key), as GET `#`, or when its
 * `{hash tag}` comes whole before the `*` and hashes to the key's slot.
 */
export function sortPatternOutsideSlot(argv: Uint8Array[], argc: number): boolean {
  if (argc < 3) return false;
  let keySlot = -1;
  for (let i = 2; i + 1 < argc; i++) {
    const a = argv[i];
    if (equalsUpper(a, SORT_LIMIT)) {
      i += 2;
    } else if (equalsUpper(a, SORT_STORE)) {
      i += 1;
    } else if (equalsUpper(a, SORT_BY) || equalsUpper(a, SORT_GET)) {
      const p = argv[++i];
      if (p.length === 1 && p[0] === HASH) continue; // GET #: the element itself
      const tag = patternTagSlot(p);
      if (tag === -2) continue;
      if (keySlot < 0) keySlot = slotOf(argv[1]);
      if (tag !== keySlot) return true;
    }
  }
  return false;
}

/** The slot of a SORT pattern's keys: -2 when it has no `*` (reads no key), -1 when it depends on the element. */
function patternTagSlot(p: Uint8Array): number {
  const star = p.indexOf(STAR);
  if (star < 0) return -2;
  const open = p.indexOf(OPEN);
  if (open < 0 || star < open) return -1;
  const close = p.indexOf(CLOSE, open + 1);
  if (close < 0 || star < close) return -1;
  return slotOf(p.subarray(open, close + 1));
}

/** SORT_RO only ever reads its one key. */
export const sortRoGetKeys: GetKeysProc = (_argv, argc, out) => {
  if (argc < 2 || out.length < 1) return -1;
  out[0] = 1;
  return 1;
};

const MIG_KEYS = enc.encode("KEYS");
const MIG_COPY = enc.encode("COPY");
const MIG_REPLACE = enc.encode("REPLACE");
const MIG_AUTH = enc.encode("AUTH");
const MIG_AUTH2 = enc.encode("AUTH2");

/** MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k ...]. */
export const migrateGetKeys: GetKeysProc = (argv, argc, out) => {
  if (argc < 6) return -1;
  let first = 3, count = 1;
  for (let i = 6; i < argc; i++) {
    const a = argv[i];
    if (equalsUpper(a, MIG_KEYS)) {
      if (argv[3].length > 0) return -1; // Redis refuses a key argument together with KEYS
      first = i + 1;
      count = argc - first;
      break;
    }
    if (equalsUpper(a, MIG_AUTH)) i += 1;
    else if (equalsUpper(a, MIG_AUTH2)) i += 2;
    else if (equalsUpper(a, MIG_COPY) || equalsUpper(a, MIG_REPLACE)) { /* no argument */ }
  }
  if (count === 0 || count > out.length) return -1;
  for (let j = 0; j < count; j++) out[j] = first + j;
  return count;
};

/** Commands whose key specs are incomplete or unknown, with the procedure that finds their keys. */
export const GETKEYS_PROCS: Readonly<Record<string, GetKeysProc>> = {
  sort: sortGetKeys,
  sort_ro: sortRoGetKeys,
  migrate: migrateGetKeys,
};

const X_STREAMS = enc.encode("STREAMS");
const X_BLOCK = enc.encode("BLOCK");
const X_COUNT = enc.encode("COUNT");
const X_GROUP = enc.encode("GROUP");

/** True when XREAD/XREADGROUP options (before STREAMS) include BLOCK. */
export function xreadHasBlock(argv: Uint8Array[], argc: number): boolean {
  for (let i = 1; i < argc; i++) {
    const a = argv[i];
    if (equalsUpper(a, X_STREAMS)) return false;
    if (equalsUpper(a, X_BLOCK)) return true;
    if (equalsUpper(a, X_COUNT)) i += 1;
    else if (equalsUpper(a, X_GROUP)) i += 2;
  }
  return false;
}

const COPY_DB = enc.encode("DB");

/** True when COPY src dst [DB n] [REPLACE] names a destination database. */
export function copyHasDb(argv: Uint8Array[], argc: number): boolean {
  for (let i = 3; i < argc; i++) if (equalsUpper(argv[i], COPY_DB)) return true;
  return false;
}
