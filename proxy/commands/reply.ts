/**
 * Serves `COMMAND` and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP) from the command
 * table, in Redis 7's reply shapes, so clients that introspect the server see the proxy's real command set (Redis's
 * commands, merged module commands, and codis-proxy's SLOTS* commands).
 * @module
 */
import builtinData from "./redis_commands.json" with { type: "json" };
import docsData from "./redis_docs.json" with { type: "json" };
import { unknownSubcommandReply } from "./errors.ts";
import {
  CMD_CONTAINER,
  CMD_NO_MANDATORY_KEYS,
  KS_ACCESS,
  KS_DELETE,
  KS_INCOMPLETE,
  KS_INSERT,
  KS_NOT_KEY,
  KS_OW,
  KS_RM,
  KS_RO,
  KS_RW,
  KS_UPDATE,
  KS_VARIABLE_FLAGS,
} from "./flags.ts";
import { applyKeySpecs, equalsUpper } from "./keys.ts";
import { checkArity, type CommandInfo, type CommandTable, HIDDEN_COMMANDS } from "./table.ts";
import type { DocEntry, DocValue, RawCommand, RawKeySpec } from "./parse.ts";
import { RespWriter } from "./resp_writer.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();
const HELP_LINES: readonly string[] = (builtinData as { command_help: string[] }).command_help;
const DOCS: Readonly<Record<string, DocEntry>> = (docsData as unknown as { docs: Record<string, DocEntry> }).docs;

/** Docs for codis-proxy's own commands (Redis has none for them). */
const PROXY_DOCS: Readonly<Record<string, DocEntry>> = {
  slotsmapping: doc("Show the proxy's slot table: [slot, backend, migrating-from, replica groups] per slot"),
  slotshashkey: doc("Return the Codis slot (crc32 % 1024, with hash tags) of each key"),
  slotsinfo: doc("Return [slot, number of keys] for the non-empty slots of the cluster"),
  slotsscan: doc("Iterate over the keys of one slot: SLOTSSCAN slot cursor [COUNT n]"),
};

function doc(summary: string): DocEntry {
  return { summary, since: "codis-proxy 1.0.0", group: "server", complexity: "O(N)" };
}

function visible(info: CommandInfo): boolean {
  return !HIDDEN_COMMANDS.has(info.name);
}

function writeKeySpec(w: RespWriter, ks: RawKeySpec): void {
  w.map(ks.notes !== undefined ? 4 : 3);
  if (ks.notes !== undefined) w.bulk("notes").bulk(ks.notes);
  w.bulk("flags").set(ks.flags.length);
  for (const f of ks.flags) w.status(f);
  w.bulk("begin_search").map(2).bulk("type").bulk(ks.bs.type).bulk("spec");
  if (ks.bs.type === "index") w.map(1).bulk("index").int(ks.bs.index);
  else if (ks.bs.type === "keyword") {
    w.map(2).bulk("keyword").bulk(ks.bs.keyword).bulk("startfrom").int(ks.bs.startfrom);
  } else w.map(0);
  w.bulk("find_keys").map(2).bulk("type").bulk(ks.fk.type).bulk("spec");
  if (ks.fk.type === "range") {
    w.map(3).bulk("lastkey").int(ks.fk.lastkey).bulk("keystep").int(ks.fk.keystep).bulk("limit").int(ks.fk.limit);
  } else if (ks.fk.type === "keynum") {
    w.map(3).bulk("keynumidx").int(ks.fk.keynumidx).bulk("firstkey").int(ks.fk.firstkey);
    w.bulk("keystep").int(ks.fk.keystep);
  } else w.map(0);
}

/** One `COMMAND INFO` entry: name, arity, flags, first, last, step, ACL categories, tips, key specs, subcommands. */
export function writeCommandEntry(w: RespWriter, raw: RawCommand): void {
  w.array(10).bulk(raw.name).int(raw.arity);
  w.set(raw.flags.length);
  for (const f of raw.flags) w.status(f);
  w.int(raw.first).int(raw.last).int(raw.step);
  w.set(raw.acl.length);
  for (const c of raw.acl) w.status(c);
  w.set(raw.tips.length);
  for (const t of raw.tips) w.bulk(t);
  // Redis 7.0 sends key specs as a set, and "no subcommands" as an empty set but a list of them as an array.
  w.set(raw.keySpecs.length);
  for (const ks of raw.keySpecs) writeKeySpec(w, ks);
  const subs = raw.subcommands ?? [];
  if (subs.length === 0) w.set(0);
  else w.array(subs.length);
  for (const s of subs) writeCommandEntry(w, s);
}

function writeDocValue(w: RespWriter, field: string, v: DocValue): void {
  if (typeof v === "number") w.int(v);
  else if (typeof v === "string") w.bulk(v);
  else if (Array.isArray(v)) {
    if (field === "flags" || field === "doc_flags") {
      w.set(v.length);
      for (const x of v) w.status(String(x));
    } else {
      if (field === "history") w.set(v.length);
      else w.array(v.length);
      for (const x of v) writeDocValue(w, "", x);
    }
  } else writeDocMap(w, v);
}

function writeDocMap(w: RespWriter, d: DocEntry): void {
  const keys = Object.keys(d);
  w.map(keys.length);
  for (const k of keys) {
    w.bulk(k);
    writeDocValue(w, k, d[k]);
  }
}

/** The docs of a command or subcommand by full name; module commands merged from a backend have none. */
export function commandDocs(name: string): DocEntry {
  const bar = name.indexOf("|");
  if (bar < 0) return DOCS[name] ?? PROXY_DOCS[name] ?? {};
  const parent = DOCS[name.slice(0, bar)];
  const subs = parent?.subcommands as DocEntry | undefined;
  return (subs?.[name] as DocEntry | undefined) ?? {};
}

/** A command by the exact full-name syntax Redis accepts in COMMAND INFO/DOCS: `name` or `container|sub`. */
function byFullName(table: CommandTable, name: string): CommandInfo | undefined {
  if (name.includes(" ") || name.split("|").length > 2) return undefined;
  const info = table.get(name);
  return info && visible(info) ? info : undefined;
}

/** Redis's glob matching (`*`, `?`, `[...]`, `\`), case-insensitive as COMMAND LIST uses it. */
export function globMatch(pattern: string, s: string): boolean {
  const p = pattern.toLowerCase(), t = s.toLowerCase();
  const m = (pi: number, ti: number): boolean => {
    while (pi < p.length) {
      const c = p[pi];
      if (c === "*") {
        while (p[pi + 1] === "*") pi++;
        if (pi + 1 === p.length) return true;
        for (let k = ti; k <= t.length; k++) if (m(pi + 1, k)) return true;
        return false;
      }
      if (ti >= t.length) return false;
      if (c === "?") {
        pi++;
        ti++;
        continue;
      }
      if (c === "[") {
        let j = pi + 1;
        const not = p[j] === "^";
        if (not) j++;
        let match = false;
        while (j < p.length && p[j] !== "]") {
          if (p[j] === "\\" && j + 1 < p.length) {
            if (p[j + 1] === t[ti]) match = true;
            j += 2;
          } else if (p[j + 1] === "-" && j + 2 < p.length && p[j + 2] !== "]") {
            let lo = p[j], hi = p[j + 2];
            if (lo > hi) [lo, hi] = [hi, lo];
            if (t[ti] >= lo && t[ti] <= hi) match = true;
            j += 3;
          } else {
            if (p[j] === t[ti]) match = true;
            j++;
          }
        }
        if (match === not) return false;
        pi = j + 1;
        ti++;
        continue;
      }
      if (c === "\\" && pi + 1 < p.length) {
        if (p[pi + 1] !== t[ti]) return false;
        pi += 2;
        ti++;
        continue;
      }
      if (c !== t[ti]) return false;
      pi++;
      ti++;
    }
    return ti === t.length;
  };
  return m(0, 0);
}

const KEY_FLAG_NAMES: readonly [number, string][] = [
  [KS_RO, "RO"],
  [KS_RW, "RW"],
  [KS_OW, "OW"],
  [KS_RM, "RM"],
  [KS_ACCESS, "access"],
  [KS_UPDATE, "update"],
  [KS_INSERT, "insert"],
  [KS_DELETE, "delete"],
  [KS_NOT_KEY, "not_key"],
  [KS_INCOMPLETE, "incomplete"],
  [KS_VARIABLE_FLAGS, "variable_flags"],
];

const GET = enc.encode("GET");
const OVERFLOW = enc.encode("OVERFLOW");

/** Key flags where Redis resolves variable_flags per call (SET ... GET, BITFIELD with writes). */
function variableKeyFlags(name: string, argv: Uint8Array[], argc: number, specFlags: number): number {
  if (name === "set") {
    for (let i = 3; i < argc; i++) if (equalsUpper(argv[i], GET)) return KS_RW | KS_ACCESS | KS_UPDATE;
    return KS_OW | KS_UPDATE;
  }
  if (name === "bitfield") {
    for (let i = 2; i < argc; i++) {
      const left = argc - i - 1;
      if (equalsUpper(argv[i], GET) && left >= 2) i += 2;
      else if (equalsUpper(argv[i], OVERFLOW) && left >= 1) i += 1;
      else return KS_RW | KS_ACCESS | KS_UPDATE;
    }
    return KS_RO | KS_ACCESS;
  }
  return specFlags & ~KS_VARIABLE_FLAGS;
}

/** Keys and their spec flags, as COMMAND GETKEYSANDFLAGS reports them; -1 when malformed. */
function keysAndFlags(
  table: CommandTable,
  info: CommandInfo,
  argv: Uint8Array[],
  argc: number,
): { pos: number[]; flags: number[] } | -1 {
  const out = new Int32Array(Math.max(argc, 2)), fl = new Int32Array(Math.max(argc, 2));
  let n: number;
  if (info.name === "sort" || info.name === "sort_ro" || info.name === "migrate") {
    n = table.keyPositions(info, argv, argc, out, false);
    for (let i = 0; i < n; i++) {
      fl[i] = info.name === "migrate" ? KS_RW | KS_ACCESS | KS_DELETE : i === 0 ? KS_RO | KS_ACCESS : KS_OW | KS_UPDATE;
    }
  } else {
    n = applyKeySpecs(info.keySpecs, (info.flags & CMD_NO_MANDATORY_KEYS) === 0, argv, argc, out, false, fl);
  }
  if (n < 0) return -1;
  const pos = [...out.subarray(0, n)];
  const flags = [...fl.subarray(0, n)].map((f) =>
    (f & KS_VARIABLE_FLAGS) !== 0 ? variableKeyFlags(info.name, argv, argc, f) : f
  );
  return { pos, flags };
}

function getKeys(w: RespWriter, table: CommandTable, argv: Uint8Array[], argc: number, withFlags: boolean): void {
  const inner = argv.slice(2, argc);
  const info = table.lookup(inner, inner.length);
  if (!info || !visible(info) || ((info.flags & CMD_CONTAINER) !== 0 && inner.length >= 2)) {
    w.error("ERR Invalid command specified");
    return;
  }
  const hasKeys = info.keySpecs.some((s) => (s.flags & KS_NOT_KEY) === 0) ||
    info.name === "sort" || info.name === "sort_ro" || info.name === "migrate";
  if (!hasKeys) {
    w.error("ERR The command has no key arguments");
    return;
  }
  if (!checkArity(info, inner.length)) {
    w.error("ERR Invalid number of arguments specified for command");
    return;
  }
  const r = keysAndFlags(table, info, inner, inner.length);
  if (r === -1 || r.pos.length === 0) {
    if (info.flags & CMD_NO_MANDATORY_KEYS) w.array(0);
    else w.error("ERR Invalid arguments specified for command");
    return;
  }
  w.array(r.pos.length);
  for (let i = 0; i < r.pos.length; i++) {
    if (!withFlags) {
      w.bulk(inner[r.pos[i]]);
      continue;
    }
    const names = KEY_FLAG_NAMES.filter(([bit]) => (r.flags[i] & bit) !== 0);
    w.array(2).bulk(inner[r.pos[i]]).set(names.length);
    for (const [, name] of names) w.status(name);
  }
}

function list(w: RespWriter, table: CommandTable, argv: Uint8Array[], argc: number): void {
  let filter: (info: CommandInfo) => boolean = () => true;
  if (argc === 5 && equalsUpper(argv[2], enc.encode("FILTERBY"))) {
    const value = dec.decode(argv[4]);
    const kind = dec.decode(argv[3]).toLowerCase();
    if (kind === "module") filter = () => false; // module names are not part of COMMAND's reply
    else if (kind === "aclcat") filter = (i) => i.raw.acl.some((c) => c.toLowerCase() === `@${value.toLowerCase()}`);
    else if (kind === "pattern") filter = (i) => globMatch(value, i.name);
    else {
      w.error("ERR syntax error");
      return;
    }
  } else if (argc !== 2) {
    w.error("ERR syntax error");
    return;
  }
  const names: string[] = [];
  for (const info of table.allWithSubcommands()) if (visible(info) && filter(info)) names.push(info.name);
  w.array(names.length);
  for (const n of names) w.bulk(n);
}

/**
 * The full RESP reply to a `COMMAND ...` request (argv[0] is COMMAND), built from the table. Arity and unknown
 * subcommands are answered too, with Redis's texts. `resp3` selects RESP3 maps/sets/nulls.
 */
export function commandReply(table: CommandTable, argv: Uint8Array[], argc: number, resp3 = false): Uint8Array {
  const w = new RespWriter(resp3);
  const info = table.lookup(argv, argc);
  if (!info || !info.name.startsWith("command")) throw new Error("commandReply: not a COMMAND request");
  if (!checkArity(info, argc)) return w.error(`ERR wrong number of arguments for '${info.name}' command`).bytes();
  if (info.name === "command" && argc >= 2) return unknownSubcommandReply(argv, argc);
  const top = [...table.all()].filter(visible);
  switch (info.name) {
    case "command":
      w.array(top.length);
      for (const c of top) writeCommandEntry(w, c.raw);
      break;
    case "command|count":
      w.int(top.length);
      break;
    case "command|info": {
      const targets = argc === 2 ? top : argv.slice(2, argc).map((a) => byFullName(table, dec.decode(a)));
      w.array(targets.length);
      for (const c of targets) c ? writeCommandEntry(w, c.raw) : w.null();
      break;
    }
    case "command|docs": {
      const targets = argc === 2
        ? top
        : argv.slice(2, argc).map((a) => byFullName(table, dec.decode(a))).filter((c) => c !== undefined);
      w.map(targets.length);
      for (const c of targets) {
        w.bulk(c.name);
        writeDocMap(w, commandDocs(c.name));
      }
      break;
    }
    case "command|list":
      list(w, table, argv, argc);
      break;
    case "command|getkeys":
      getKeys(w, table, argv, argc, false);
      break;
    case "command|getkeysandflags":
      getKeys(w, table, argv, argc, true);
      break;
    case "command|help":
      w.array(HELP_LINES.length);
      for (const l of HELP_LINES) w.status(l);
      break;
    default:
      return unknownSubcommandReply(argv, argc);
  }
  return w.bytes();
}
