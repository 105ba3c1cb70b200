/**
 * SLOWLOG GET/LEN/RESET/HELP over the proxy's own slow log (proxy/core/slowlog.ts), in Redis 7.0's reply shapes;
 * and {@link setSlowlogConfig}, for CONFIG SET slowlog-log-slower-than / slowlog-max-len.
 * @module
 */
import type { ProxyCore } from "../core/core.ts";
import { errorReply, integerReply, OK } from "../../redis/encode.ts";
import { parseIntArg } from "../commands/keys.ts";
import type { SlowLogEntry } from "../core/slowlog.ts";
import { concat } from "../../util/bytes.ts";

const enc = new TextEncoder();

const HELP = [
  "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GET [<count>]",
  "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
  "    Entries are made of:",
  "    id, timestamp, time in microseconds, arguments array, client IP and port,",
  "    client name",
  "LEN",
  "    Return the length of the slowlog.",
  "RESET",
  "    Reset the slowlog.",
  "HELP",
  "    Prints this help.",
];
const HELP_REPLY = enc.encode(`*${HELP.length}\r\n${HELP.map((l) => `+${l}\r\n`).join("")}`);

/** One entry as Redis sends it: id, unix time, microseconds, the arguments, the client's address and name. */
function entryParts(e: SlowLogEntry, out: Uint8Array[]): void {
  out.push(enc.encode(`*6\r\n:${e.id}\r\n:${e.time}\r\n:${e.durationUs}\r\n*${e.args.length}\r\n`));
  for (const a of e.args) {
    out.push(enc.encode(`$${a.length}\r\n`), a, enc.encode("\r\n"));
  }
  const addr = enc.encode(e.addr);
  const name = enc.encode(e.name);
  out.push(enc.encode(`$${addr.length}\r\n`), addr, enc.encode(`\r\n$${name.length}\r\n`), name, enc.encode("\r\n"));
}

/** SLOWLOG `name` (`slowlog|get`, ...): arity is checked by the command table. */
export function slowlogCommand(core: ProxyCore, name: string, argv: Uint8Array[]): Uint8Array {
  const log = core.ops.slowlog;
  switch (name) {
    case "slowlog|get": {
      let count = 10;
      if (argv.length > 2) {
        count = parseIntArg(argv[2]);
        if (Number.isNaN(count) || count < -1) return errorReply("ERR count should be greater than or equal to -1");
      }
      const entries = log.newest(count);
      const parts: Uint8Array[] = [enc.encode(`*${entries.length}\r\n`)];
      for (const e of entries) entryParts(e, parts);
      return concat(parts);
    }
    case "slowlog|len":
      return integerReply(log.length);
    case "slowlog|reset":
      log.reset();
      return OK;
    case "slowlog|help":
      return HELP_REPLY;
    default:
      return errorReply(
        `ERR unknown subcommand '${argv[1] ? new TextDecoder().decode(argv[1]) : ""}'. Try SLOWLOG HELP.`,
      );
  }
}

/**
 * For CONFIG SET: applies `slowlog-log-slower-than` or `slowlog-max-len` (Redis's names, or the proxy's
 * slowlog_* keys) to this proxy's slow log. Returns undefined when `key` is neither, null when applied, or Redis's
 * error text for a bad value.
 */
export function setSlowlogConfig(core: ProxyCore, key: string, value: Uint8Array): string | null | undefined {
  const k = key.toLowerCase().replaceAll("_", "-");
  if (k !== "slowlog-log-slower-than" && k !== "slowlog-max-len") return undefined;
  const n = parseIntArg(value);
  const v = new TextDecoder().decode(value);
  if (Number.isNaN(n)) {
    return `ERR Invalid argument '${v}' for CONFIG SET '${k}' - argument couldn't be parsed into an integer`;
  }
  if (k === "slowlog-max-len") {
    if (n < 0) {
      return `ERR Invalid argument '${v}' for CONFIG SET '${k}' - argument must be between 0 and 9223372036854775807 inclusive`;
    }
    core.ops.slowlog.maxLen = n;
  } else {
    core.ops.slowlog.slowerThanUs = n;
  }
  return null;
}
