/**
 * The proxy's one command table: Redis's own facts (arity, flags, key specs, subcommands — generated from a real
 * redis-server by scripts/gen-command-table.ts, and merged from each backend's live `COMMAND` reply) plus
 * codis-proxy's policy (policy.ts). `lookup` and `keyPositions` run once per request and do not allocate.
 * @module
 */
import builtinData from "./redis_commands.json" with { type: "json" };
import { CMD_BLOCKING, CMD_CONTAINER, CMD_NO_MANDATORY_KEYS, CMD_PROXY, COMMAND_FLAG_BITS, flagBits } from "./flags.ts";
import {
  applyKeySpecs,
  BS_INDEX,
  compileKeySpecs,
  copyHasDb,
  FK_RANGE,
  GETKEYS_PROCS,
  type GetKeysProc,
  type KeySpec,
  sortPatternOutsideSlot,
  xreadHasBlock,
} from "./keys.ts";
import { KS_NOT_KEY } from "./flags.ts";
import { NameTable } from "./names.ts";
import { parseCommandReply, type RawCommand } from "./parse.ts";
import { decidePolicy, KEYLESS_ANYWHERE, noKeysReason, type Policy, REASONS } from "./policy.ts";

/** Blocking behaviour: never blocks. */
const BLOCK_NEVER = 0;
/** Always blocks (BLPOP, ...). */
const BLOCK_ALWAYS = 1;
/** Blocks only with a BLOCK option (XREAD, XREADGROUP). */
const BLOCK_OPTION = 2;

/**
 * Everything the proxy knows about one command or subcommand: the public fields of the table's entries, documented
 * where they are declared (Info below, whose other fields are the table's own lookup state).
 */
export interface CommandInfo extends
  Pick<
    Info,
    | "name"
    | "displayName"
    | "nameBytes"
    | "id"
    | "arity"
    | "flags"
    | "policy"
    | "reason"
    | "closeConnection"
    | "noKeysReason"
    | "keylessAnywhere"
    | "keySpecs"
    | "raw"
  > {
  /** Subcommands of a container command (OBJECT, CLIENT, ...). */
  readonly subcommands?: readonly CommandInfo[];
  /** The container of a subcommand. */
  readonly parent?: CommandInfo;
}

class Info implements CommandInfo {
  /** Upper-case name for messages, with a space for subcommands, e.g. "OBJECT ENCODING". */
  readonly displayName: string;
  /** Upper-case ASCII bytes of the last name part ("ENCODING"), matched against argv. */
  readonly nameBytes: Uint8Array;
  /** CMD_* bits. */
  readonly flags: number;
  readonly policy: Policy;
  /** For "refused": why, one line. */
  readonly reason?: string;
  /** Close the connection instead of replying (HTTP guards `HOST:` / `POST`, as Redis does). */
  readonly closeConnection: boolean;
  /** For "forward": the refusal reason when a call carries no key. */
  readonly noKeysReason: string;
  /** A call with no key runs on one master (EVAL script 0, FCALL f 0): see KEYLESS_ANYWHERE. */
  readonly keylessAnywhere: boolean;
  /** Compiled key specs (legacy first/last/step turned into a spec for pre-7 servers). */
  readonly keySpecs: readonly KeySpec[];
  subcommands?: readonly CommandInfo[];
  subTable: NameTable<Info> | null = null;
  readonly getKeys: GetKeysProc | null;
  /** > 0: the only key is at this index (GET, SET, ...). */
  readonly singleKey: number;
  /** > 0: keys run from this index to the end with `rangeStep` (MGET, DEL, MSET). */
  readonly rangeFirst: number;
  readonly rangeStep: number;
  readonly blockMode: number;
  readonly mandatory: boolean;
  /** COPY: refused per call when it names another database. */
  readonly copyLike: boolean;
  /** SORT, SORT_RO: refused per call when a BY/GET pattern may name keys of another slot. */
  readonly sortLike: boolean;

  constructor(
    /** Redis's facts as reported by `COMMAND` (for serving COMMAND INFO). */
    readonly raw: RawCommand,
    /** Dense index, unique within its table (for per-command stats arrays). */
    readonly id: number,
    readonly parent: Info | undefined,
    extraFlags: number,
  ) {
    const name = raw.name;
    const bar = name.indexOf("|");
    this.displayName = name.replace("|", " ").toUpperCase();
    this.nameBytes = new TextEncoder().encode((bar >= 0 ? name.slice(bar + 1) : name).toUpperCase());
    const container = (raw.subcommands?.length ?? 0) > 0;
    this.flags = flagBits(raw.flags, COMMAND_FLAG_BITS) | extraFlags | (container ? CMD_CONTAINER : 0);
    this.keySpecs = compileKeySpecs(raw);
    this.getKeys = GETKEYS_PROCS[name] ?? null;
    const d = decidePolicy({
      name,
      flags: this.flags,
      keyed: this.keySpecs.length > 0 || this.getKeys !== null,
      container,
    });
    this.policy = d.policy;
    if (d.reason !== undefined) this.reason = d.reason;
    this.closeConnection = d.closeConnection === true;
    this.noKeysReason = noKeysReason(name);
    this.keylessAnywhere = KEYLESS_ANYWHERE.has(name);
    this.mandatory = (this.flags & CMD_NO_MANDATORY_KEYS) === 0;
    let single = 0, rangeFirst = 0, rangeStep = 1;
    if (this.keySpecs.length === 1 && this.getKeys === null) {
      const s = this.keySpecs[0];
      if (s.bsType === BS_INDEX && s.fkType === FK_RANGE && (s.flags & KS_NOT_KEY) === 0 && s.index > 0) {
        if (s.lastkey === 0) single = s.index;
        else if (s.lastkey === -1 && s.limit === 0) {
          rangeFirst = s.index;
          rangeStep = s.keystep;
        }
      }
    }
    this.copyLike = name === "copy";
    this.sortLike = name === "sort" || name === "sort_ro";
    this.singleKey = single;
    this.rangeFirst = rangeFirst;
    this.rangeStep = rangeStep;
    this.blockMode = (this.flags & CMD_BLOCKING) === 0
      ? BLOCK_NEVER
      : name === "xread" || name === "xreadgroup"
      ? BLOCK_OPTION
      : BLOCK_ALWAYS;
  }

  /** Redis's lower-case name; `container|sub` for subcommands, e.g. "object|encoding". */
  get name(): string {
    return this.raw.name;
  }

  /** Redis arity: positive = exact argc, negative = minimum argc (the command name counts). */
  get arity(): number {
    return this.raw.arity;
  }
}

/** Commands that are not Redis's: defined and answered by codis-proxy. */
const PROXY_COMMANDS: RawCommand[] = [
  proxyCommand("slotsmapping", -1, ["readonly", "fast"]),
  proxyCommand("slotshashkey", -1, ["readonly", "fast"]),
  proxyCommand("slotsinfo", -1, ["readonly"]),
  proxyCommand("slotsscan", -3, ["readonly"]),
  // Not commands at all: Redis closes the connection when a request starts like HTTP.
  proxyCommand("host:", -1, ["loading", "stale"]),
  proxyCommand("post", -1, ["loading", "stale"]),
];

/** Names of proxy-only entries that must not appear in COMMAND replies. */
export const HIDDEN_COMMANDS: ReadonlySet<string> = new Set(["host:", "post"]);

function proxyCommand(name: string, arity: number, flags: string[]): RawCommand {
  return { name, arity, flags, first: 0, last: 0, step: 0, acl: [], tips: [], keySpecs: [] };
}

/** Positive arity = exact argc; negative = at least that many. */
export function checkArity(info: CommandInfo, argc: number): boolean {
  const a = info.arity;
  return a > 0 ? argc === a : argc >= -a;
}

/** True when lookup stopped at a container because argv[1] names no subcommand (answer unknownSubcommandReply). */
export function isUnknownSubcommand(info: CommandInfo, argc: number): boolean {
  return (info.flags & CMD_CONTAINER) !== 0 && argc >= 2;
}

/**
 * Why this particular call of a forwarded command must be refused although the command itself is allowed, or
 * undefined: XREAD/XREADGROUP with BLOCK, COPY ... DB n. Cheap: one field test for every other command.
 */
export function callRefusal(info: CommandInfo, argv: Uint8Array[], argc: number): string | undefined {
  const c = info as Info;
  if (c.blockMode !== BLOCK_NEVER && isBlockingCall(info, argv, argc)) return REASONS.blocking;
  if (c.copyLike && copyHasDb(argv, argc)) return REASONS.copyDb;
  if (c.sortLike && sortPatternOutsideSlot(argv, argc)) return REASONS.sortPattern;
  return undefined;
}

/** True when this call would block: BLPOP & co always, XREAD/XREADGROUP only with BLOCK. */
export function isBlockingCall(info: CommandInfo, argv: Uint8Array[], argc: number): boolean {
  const mode = (info as Info).blockMode;
  if (mode === BLOCK_NEVER) return false;
  if (mode === BLOCK_ALWAYS) return true;
  return xreadHasBlock(argv, argc);
}

/** What a merge changed. */
export interface MergeResult {
  /** Commands (or subcommands) the table did not know. */
  added: string[];
  /** Known commands whose facts were replaced by the backend's (it reported key specs). */
  updated: string[];
}

/** The command table: Redis's facts plus codis-proxy's policy. */
export class CommandTable {
  #top: Info[] = [];
  #byName = new Map<string, Info>();
  #table: NameTable<Info> = new NameTable<Info>([]);
  #nextId = 0;

  /** A table built from the committed snapshot of Redis 7.0's `COMMAND` (redis_commands.json). */
  static builtin(): CommandTable {
    const t = new CommandTable();
    for (const raw of (builtinData as { commands: RawCommand[] }).commands) t.#put(raw, 0);
    for (const raw of PROXY_COMMANDS) t.#put(raw, CMD_PROXY);
    t.#rebuild();
    return t;
  }

  /** A table from raw entries only (tests, or a table built purely from a backend). */
  static fromRaw(commands: Iterable<RawCommand>): CommandTable {
    const t = new CommandTable();
    for (const raw of commands) t.#put(raw, 0);
    t.#rebuild();
    return t;
  }

  #put(raw: RawCommand, extraFlags: number): Info {
    const info = new Info(raw, this.#nextId++, undefined, extraFlags);
    if (raw.subcommands && raw.subcommands.length > 0) {
      const subs = raw.subcommands.map((s) => new Info(s, this.#nextId++, info, extraFlags));
      info.subcommands = subs;
      info.subTable = new NameTable(subs);
    }
    const old = this.#byName.get(raw.name);
    if (old) this.#top[this.#top.indexOf(old)] = info;
    else this.#top.push(info);
    this.#byName.set(raw.name, info);
    return info;
  }

  #rebuild(): void {
    this.#table = new NameTable(this.#top);
  }

  /**
   * Merges a live `COMMAND` reply (nested arrays of strings / byte arrays / numbers, as ioredis or a RESP decoder
   * returns it). Unknown commands (modules, newer Redis) are added; known ones take the backend's facts when it
   * reports key specs (Redis 7+), so an older backend never downgrades the table. Proxy-defined entries stay.
   */
  mergeCommandReply(reply: unknown): MergeResult {
    const result: MergeResult = { added: [], updated: [] };
    for (const raw of parseCommandReply(reply)) {
      const old = this.#byName.get(raw.name);
      if (!old) {
        this.#put(raw, 0);
        result.added.push(raw.name);
        continue;
      }
      if ((old.flags & CMD_PROXY) !== 0) continue;
      const merged = mergeRaw(old.raw, raw);
      if (merged === old.raw) continue;
      this.#put(merged, 0);
      result.updated.push(raw.name);
    }
    if (result.added.length > 0 || result.updated.length > 0) this.#rebuild();
    return result;
  }

  /**
   * Resolves argv[0] (and argv[1] for container commands) to its entry, ignoring ASCII case, without allocating.
   * A container is returned itself when argc is 1 (its arity then fails) or when argv[1] is no subcommand of it
   * (see isUnknownSubcommand).
   */
  lookup(argv: Uint8Array[], argc: number): CommandInfo | undefined {
    if (argc < 1) return undefined;
    const info = this.#table.find(argv[0]);
    if (info === undefined || info.subTable === null || argc < 2) return info;
    return info.subTable.find(argv[1]) ?? info;
  }

  /** Looks a command up by name ("get", "object|encoding" or "object encoding"), any case. */
  get(name: string): CommandInfo | undefined {
    const parts = name.toLowerCase().split(/[| ]/);
    const top = this.#byName.get(parts[0]);
    if (!top || parts.length === 1) return top;
    return top.subcommands?.find((s) => s.name === `${parts[0]}|${parts[1]}`);
  }

  /**
   * Writes the indices of the key arguments into `out` and returns their count, following Redis's key specs (and
   * Redis's own procedures for SORT / MIGRATE). Returns -1 when the arguments are malformed so that the keys cannot
   * be found (bad numkeys, missing STREAMS keys, ...): sending the request unchanged to any backend yields Redis's own
   * error. `includeNotKeys` (default true) keeps the channel of sharded pub/sub, which routes like a key.
   */
  keyPositions(info: CommandInfo, argv: Uint8Array[], argc: number, out: Int32Array, includeNotKeys = true): number {
    const c = info as Info;
    const single = c.singleKey;
    if (single > 0) {
      if (single >= argc || out.length < 1) return -1;
      out[0] = single;
      return 1;
    }
    const rf = c.rangeFirst;
    if (rf > 0) {
      if (rf >= argc) return -1;
      const step = c.rangeStep;
      // MSET k1 v1 k2: a key without its value is malformed (Redis's arity error); a split would read past argv.
      if (step > 1 && (argc - rf) % step !== 0) return -1;
      let n = 0;
      for (let i = rf; i < argc; i += step) {
        if (n >= out.length) return -1;
        out[n++] = i;
      }
      return n;
    }
    if (c.getKeys !== null) return c.getKeys(argv, argc, out);
    if (c.keySpecs.length === 0) return 0;
    return applyKeySpecs(c.keySpecs, c.mandatory, argv, argc, out, includeNotKeys);
  }

  /** Number of top-level commands (what `COMMAND COUNT` reports), proxy-only entries included. */
  size(): number {
    return this.#top.length;
  }

  /** Top-level entries; subcommands hang off `info.subcommands`. */
  all(): Iterable<CommandInfo> {
    return this.#top;
  }

  /** Every entry, subcommands included (containers before their subcommands). */
  *allWithSubcommands(): Iterable<CommandInfo> {
    for (const c of this.#top) {
      yield c;
      if (c.subcommands) yield* c.subcommands;
    }
  }
}

/** The backend's entry wins when it carries key specs (Redis 7+) or brings subcommands we lack. */
function mergeRaw(old: RawCommand, live: RawCommand): RawCommand {
  const oldSubs = new Map((old.subcommands ?? []).map((s) => [s.name, s]));
  const liveSubs = live.subcommands ?? [];
  let subsChanged = false;
  const subs: RawCommand[] = [...(old.subcommands ?? [])];
  for (const s of liveSubs) {
    const o = oldSubs.get(s.name);
    if (!o) {
      subs.push(s);
      subsChanged = true;
    } else if (s.keySpecs.length > 0 && JSON.stringify(o) !== JSON.stringify(s)) {
      subs[subs.indexOf(o)] = s;
      subsChanged = true;
    }
  }
  const base = live.keySpecs.length > 0 || (old.keySpecs.length === 0 && old.first === 0 && live.first > 0)
    ? live
    : old;
  const { subcommands: _drop, ...baseNoSubs } = base;
  const candidate: RawCommand = subs.length > 0 ? { ...baseNoSubs, subcommands: subs } : baseNoSubs;
  if (!subsChanged && base === old) return old;
  if (JSON.stringify(candidate) === JSON.stringify(old)) return old;
  return candidate;
}
