/**
 * Parsing of `COMMAND` / `COMMAND DOCS` replies into the plain JSON shapes stored in redis_commands.json and
 * redis_docs.json. Accepts what ioredis, node-redis or a raw RESP decoder produce: strings or byte arrays for
 * bulk strings, numbers for integers, and maps either flattened into arrays (RESP2) or as `Map`/objects (RESP3).
 * @module
 */

/** `begin_search` of a key spec. */
export type RawBeginSearch =
  | { type: "index"; index: number }
  | { type: "keyword"; keyword: string; startfrom: number }
  | { type: "unknown" };

/** `find_keys` of a key spec. */
export type RawFindKeys =
  | { type: "range"; lastkey: number; keystep: number; limit: number }
  | { type: "keynum"; keynumidx: number; firstkey: number; keystep: number }
  | { type: "unknown" };

/** One key spec, as reported by Redis 7. */
export interface RawKeySpec {
  flags: string[];
  bs: RawBeginSearch;
  fk: RawFindKeys;
  notes?: string;
}

/** One `COMMAND` entry (names lower-case, exactly as Redis reports them). */
export interface RawCommand {
  name: string;
  arity: number;
  flags: string[];
  first: number;
  last: number;
  step: number;
  acl: string[];
  tips: string[];
  keySpecs: RawKeySpec[];
  subcommands?: RawCommand[];
}

/** A `COMMAND DOCS` entry with its maps turned into objects (field order kept). */
export type DocEntry = { [field: string]: DocValue };
/** A value inside a docs entry. */
export type DocValue = string | number | DocValue[] | DocEntry;

const dec = new TextDecoder();

/** Converts a bulk/simple string (string or bytes) or a number to a string. */
export function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return dec.decode(v);
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  throw new TypeError(`expected a string, got ${Object.prototype.toString.call(v)}`);
}

/** Converts an integer reply (or its string form) to a number. */
export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  const n = Number(str(v));
  if (!Number.isFinite(n)) throw new TypeError(`expected an integer, got ${str(v)}`);
  return n;
}

function arr(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...v];
  if (v === null || v === undefined) return [];
  throw new TypeError(`expected an array, got ${Object.prototype.toString.call(v)}`);
}

/** Turns a RESP3 map, a plain object or a RESP2 flattened [k, v, k, v] array into entries. */
export function mapEntries(v: unknown): [string, unknown][] {
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [str(k), x]);
  if (Array.isArray(v)) {
    const out: [string, unknown][] = [];
    for (let i = 0; i + 1 < v.length; i += 2) out.push([str(v[i]), v[i + 1]]);
    return out;
  }
  if (v !== null && typeof v === "object") return Object.entries(v);
  throw new TypeError(`expected a map, got ${Object.prototype.toString.call(v)}`);
}

function mapOf(v: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, x] of mapEntries(v)) o[k] = x;
  return o;
}

function parseBeginSearch(v: unknown): RawBeginSearch {
  const m = mapOf(v);
  const type = str(m.type);
  const spec = m.spec === undefined ? {} : mapOf(m.spec);
  if (type === "index") return { type, index: num(spec.index) };
  if (type === "keyword") return { type, keyword: str(spec.keyword), startfrom: num(spec.startfrom) };
  return { type: "unknown" };
}

function parseFindKeys(v: unknown): RawFindKeys {
  const m = mapOf(v);
  const type = str(m.type);
  const spec = m.spec === undefined ? {} : mapOf(m.spec);
  if (type === "range") {
    return { type, lastkey: num(spec.lastkey), keystep: num(spec.keystep), limit: num(spec.limit) };
  }
  if (type === "keynum") {
    return { type, keynumidx: num(spec.keynumidx), firstkey: num(spec.firstkey), keystep: num(spec.keystep) };
  }
  return { type: "unknown" };
}

/** Parses one key spec map. */
export function parseKeySpec(v: unknown): RawKeySpec {
  const m = mapOf(v);
  const ks: RawKeySpec = {
    flags: arr(m.flags).map(str),
    bs: parseBeginSearch(m.begin_search),
    fk: parseFindKeys(m.find_keys),
  };
  if (m.notes !== undefined) ks.notes = str(m.notes);
  return ks;
}

/**
 * Parses one entry of a `COMMAND` / `COMMAND INFO` reply. Works for Redis 7 (10 fields), Redis 6 (7 fields, ACL
 * categories) and older servers (6 fields, legacy first/last/step only).
 */
export function parseCommandEntry(v: unknown): RawCommand {
  const e = arr(v);
  if (e.length < 6) throw new TypeError(`COMMAND entry has ${e.length} fields, expected at least 6`);
  const c: RawCommand = {
    name: str(e[0]).toLowerCase(),
    arity: num(e[1]),
    flags: arr(e[2]).map((f) => str(f).toLowerCase()),
    first: num(e[3]),
    last: num(e[4]),
    step: num(e[5]),
    acl: e.length > 6 ? arr(e[6]).map(str) : [],
    tips: e.length > 7 ? arr(e[7]).map(str) : [],
    keySpecs: e.length > 8 ? arr(e[8]).map(parseKeySpec) : [],
  };
  const subs = e.length > 9 ? arr(e[9]) : [];
  if (subs.length > 0) {
    c.subcommands = subs.map(parseCommandEntry);
    c.subcommands.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }
  return c;
}

/** Parses a whole `COMMAND` reply (skipping null entries, which `COMMAND INFO` gives for unknown names). */
export function parseCommandReply(reply: unknown): RawCommand[] {
  return arr(reply).filter((e) => e !== null && e !== undefined).map(parseCommandEntry);
}

// Fields of COMMAND DOCS whose values are maps (in RESP2 they arrive flattened) or lists of maps.
const DOC_MAP_FIELDS = new Set(["subcommands"]);
const DOC_MAP_LIST_FIELDS = new Set(["arguments"]);

function docValue(field: string, v: unknown): DocValue {
  if (DOC_MAP_FIELDS.has(field)) {
    const o: DocEntry = {};
    // Redis lists subcommands in hash order; sort them so regenerated files diff cleanly.
    const entries = mapEntries(v).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    for (const [k, x] of entries) o[k] = parseDocEntry(x);
    return o;
  }
  if (DOC_MAP_LIST_FIELDS.has(field)) return arr(v).map(parseDocEntry);
  if (typeof v === "number" || typeof v === "bigint") return Number(v);
  if (Array.isArray(v) || v instanceof Set) return arr(v).map((x) => docValue("", x));
  return str(v);
}

/** Parses one `COMMAND DOCS` entry (a map of fields). */
export function parseDocEntry(v: unknown): DocEntry {
  const o: DocEntry = {};
  for (const [k, x] of mapEntries(v)) o[k] = docValue(k, x);
  return o;
}

/** Parses a whole `COMMAND DOCS` reply: a map from command name to its docs. */
export function parseDocsReply(reply: unknown): Record<string, DocEntry> {
  const out: Record<string, DocEntry> = {};
  for (const [k, x] of mapEntries(reply)) out[k.toLowerCase()] = parseDocEntry(x);
  return out;
}
