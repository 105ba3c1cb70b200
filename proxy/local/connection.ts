/**
 * HELLO and CLIENT, answered per session.
 * @module
 */
import type { ProxyCore } from "../core.ts";
import { bulkReply, encodeValue, errorReply, integerReply, NULL_BULK, OK } from "../resp/encode.ts";
import type { SessionState } from "../session.ts";
import { auth } from "./mod.ts";

const decoder = new TextDecoder();

/** HELLO [protover [AUTH username password] [SETNAME clientname]]; RESP2 only for now. */
export function helloCommand(core: ProxyCore, session: SessionState, argv: Uint8Array[]): Uint8Array {
  if (argv.length > 1) {
    const ver = decoder.decode(argv[1]);
    if (ver === "3") {
      return errorReply("NOPROTO sorry, codis-proxy speaks RESP2 only for now (HELLO 3 is not supported)");
    }
    if (ver !== "2") return errorReply("NOPROTO sorry, this protocol version is not supported.");
    for (let i = 2; i < argv.length; i++) {
      const opt = decoder.decode(argv[i]).toUpperCase();
      if (opt === "AUTH" && i + 2 < argv.length) {
        const r = auth(core, session, [argv[0], argv[i + 1], argv[i + 2]]);
        if (r[0] === 45) return r;
        i += 2;
      } else if (opt === "SETNAME" && i + 1 < argv.length) {
        session.name = argv[i + 1].slice();
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
  const info = core.info();
  return encodeValue([
    "server",
    "redis",
    "version",
    info.version,
    "proto",
    2,
    "id",
    session.id,
    "mode",
    "standalone",
    "role",
    "master",
    "modules",
    [],
  ]);
}

/** CLIENT SETNAME / GETNAME / ID / INFO / SETINFO / NO-EVICT; other subcommands are refused by the command table. */
export function clientCommand(session: SessionState, argv: Uint8Array[]): Uint8Array {
  const sub = decoder.decode(argv[1]).toLowerCase();
  switch (sub) {
    case "setname": {
      const name = argv[2];
      for (const b of name) {
        if (b <= 32 || b > 126) {
          return errorReply("ERR Client names cannot contain spaces, newlines or special characters.");
        }
      }
      session.name = name.length === 0 ? null : name.slice();
      return OK;
    }
    case "getname":
      return session.name === null ? NULL_BULK : bulkReply(session.name);
    case "id":
      return integerReply(session.id);
    case "setinfo": // Redis 7.2+ clients send it on connect; accepted and ignored
    case "no-evict":
      return OK;
    case "info": {
      const name = session.name ? decoder.decode(session.name) : "";
      const age = Math.floor((Date.now() - session.createdAt) / 1000);
      return bulkReply(`id=${session.id} addr=${session.remote} name=${name} age=${age} db=0\n`);
    }
    default:
      return errorReply(`ERR command 'client|${sub}' is not supported by codis-proxy`);
  }
}
