/**
 * HELLO and CLIENT, answered per session.
 * @module
 */
import type { ProxyCore } from "../core/core.ts";
import { bulkReply, concat, encodeValue, errorReply, integerReply, NULL_BULK, OK } from "../../redis/encode.ts";
import type { SessionState } from "../core/core.ts";
import type { CommandInfo } from "../commands/mod.ts";
import { auth } from "./dispatch.ts";

const decoder = new TextDecoder();
const SETINFO = new TextEncoder().encode("SETINFO");

/** CLIENT SETINFO (Redis 7.2, sent by clients on connect) is unknown to a 7.0 command table: accepted and ignored. */
export function isClientSetinfo(info: CommandInfo, argv: Uint8Array[]): boolean {
  if (info.name !== "client" || argv[1].length !== SETINFO.length) return false;
  for (let i = 0; i < SETINFO.length; i++) if ((argv[1][i] & 0xdf) !== SETINFO[i]) return false;
  return true;
}

/**
 * HELLO [protover [AUTH username password] [SETNAME clientname]]. Sets `session.protover` (the session switches its
 * backend connections when it changed) and answers in the new protocol: a map in RESP3.
 */
export function helloCommand(core: ProxyCore, session: SessionState, argv: Uint8Array[]): Uint8Array {
  let proto = session.protover;
  let name: Uint8Array | null = null;
  if (argv.length > 1) {
    const ver = decoder.decode(argv[1]);
    if (ver !== "2" && ver !== "3") return errorReply("NOPROTO sorry, this protocol version is not supported.");
    proto = ver === "3" ? 3 : 2;
    for (let i = 2; i < argv.length; i++) {
      const opt = decoder.decode(argv[i]).toUpperCase();
      if (opt === "AUTH" && i + 2 < argv.length) {
        const r = auth(core, session, [argv[0], argv[i + 1], argv[i + 2]]);
        if (r[0] === 45) return r;
        i += 2;
      } else if (opt === "SETNAME" && i + 1 < argv.length) {
        name = argv[i + 1];
        i += 1;
      } else {
        return errorReply(`ERR Syntax error in HELLO option '${opt}'`);
      }
    }
  }
  if (!session.authenticated) {
    return errorReply(
      "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
    );
  }
  // As in Redis, the name is checked after authentication and before the protocol switches.
  if (name !== null) {
    if (!isValidClientName(name)) return errorReply(BAD_CLIENT_NAME);
    session.name = name.length === 0 ? null : name.slice();
  }
  session.protover = proto;
  const info = core.info();
  const fields = encodeValue([
    "server",
    "redis",
    "version",
    info.version,
    "proto",
    proto,
    "id",
    session.id,
    "mode",
    "standalone",
    "role",
    "master",
    "modules",
    [],
  ]);
  if (proto === 2) return fields;
  // RESP3: the same pairs as a map (`%7` instead of `*14`).
  const head = fields.indexOf(10) + 1;
  return concat([new TextEncoder().encode("%7\r\n"), fields.subarray(head)]);
}

/**
 * CLIENT SETNAME / GETNAME / ID / SETINFO / NO-EVICT (LIST, INFO, KILL, PAUSE, UNPAUSE: client_list.ts); other
 * subcommands are refused by the command table.
 */
export function clientCommand(session: SessionState, argv: Uint8Array[]): Uint8Array {
  const sub = decoder.decode(argv[1]).toLowerCase();
  switch (sub) {
    case "setname": {
      const name = argv[2];
      if (!isValidClientName(name)) return errorReply(BAD_CLIENT_NAME);
      session.name = name.length === 0 ? null : name.slice();
      return OK;
    }
    case "getname":
      return session.name === null ? NULL_BULK : bulkReply(session.name);
    case "id":
      return integerReply(session.id);
    case "setinfo": // Redis 7.2+ clients send it on connect; accepted and ignored
      return OK;
    case "no-evict": { // accepted (the proxy evicts no client), with Redis's check of the argument
      const v = decoder.decode(argv[2]).toLowerCase();
      return v === "on" || v === "off" ? OK : errorReply("ERR syntax error");
    }
    default:
      return errorReply(`ERR command 'client|${sub}' is not supported by codis-proxy`);
  }
}

const BAD_CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters.";

/** Redis's rule for client names: printable ASCII without spaces (empty clears the name). */
function isValidClientName(name: Uint8Array): boolean {
  for (const b of name) if (b <= 32 || b > 126) return false;
  return true;
}
