/**
 * Commands the proxy answers itself: connection commands (PING, ECHO, QUIT, AUTH, SELECT, HELLO, CLIENT ...),
 * INFO, COMMAND, and Codis's slot commands (SLOTSMAPPING, SLOTSHASHKEY, SLOTSINFO, SLOTSSCAN).
 * @module
 */
import { parseIntArg } from "../commands/keys.ts";
import { type CommandInfo, commandReply } from "../commands/mod.ts";
import type { ProxyCore } from "../core/core.ts";
import type { Request } from "../forward/request.ts";
import { bulkReply, concat, errorReply, NULL_BULK, OK, PONG } from "../../redis/encode.ts";
import type { SessionState } from "../core/core.ts";
import { clientCommand, helloCommand } from "./connection.ts";
import { clientReplyCommand } from "./client_reply.ts";
import { clusterInfoCommand } from "./info_cluster.ts";
import { configSetOrReset, oneMasterCommand } from "./server_commands.ts";
import { clientOps } from "./client_list.ts";
import { slowlogCommand } from "./slowlog.ts";
import { slotsHashKey, slotsInfo, slotsMapping, slotsScan } from "./slots.ts";
import {
  configGetCommand,
  dbsizeCommand,
  flushCommand,
  functionCommand,
  keysCommand,
  lastsaveCommand,
  randomkeyCommand,
  roleReply,
  scriptCommand,
  timeCommand,
} from "../keyspace/commands.ts";
import { scanCommand } from "../keyspace/scan.ts";
import { xauthEqual } from "../../util/xauth.ts";

const decoder = new TextDecoder();

/** Runs a locally answered command and sets the request's reply (now or later). */
export function runLocal(
  core: ProxyCore,
  session: SessionState,
  info: CommandInfo,
  argv: Uint8Array[],
  req: Request,
): void {
  const name = info.name;
  const slash = name.indexOf("|");
  const base = slash < 0 ? name : name.slice(0, slash);
  switch (base) {
    case "ping":
      if (argv.length > 2) return req.onReply(errorReply("ERR wrong number of arguments for 'ping' command"));
      return req.onReply(argv.length > 1 ? bulkReply(argv[1]) : PONG);
    case "echo":
      return req.onReply(bulkReply(argv[1]));
    case "quit":
      session.quitting = true;
      return req.onReply(OK);
    case "auth":
      return req.onReply(auth(core, session, argv));
    case "select":
      return req.onReply(selectReply(argv[1]));
    case "hello":
      return req.onReply(helloCommand(core, session, argv));
    case "client": {
      if (name === "client|reply") return req.onReply(clientReplyCommand(session, argv));
      const r = clientOps(core, session, name, argv) ?? clientCommand(session, argv);
      if (r instanceof Promise) return answer(req, r.then((text) => resp3Verbatim(session, text)));
      const text = name === "client|info" || name === "client|list";
      return req.onReply(text ? resp3Verbatim(session, r) : resp3Null(session, r));
    }
    case "info":
      clusterInfoCommand(core, argv).then(
        (r) => req.onReply(resp3Verbatim(session, r)),
        (e) => req.onError(`ERR ${e.message}`),
      );
      return;
    case "command":
      return req.onReply(commandReply(core.commands, argv, argv.length, session.protover === 3));
    case "slotsmapping":
      return req.onReply(slotsMapping(core, argv));
    case "slotshashkey":
      return req.onReply(slotsHashKey(argv));
    case "slotsinfo":
      slotsInfo(core, argv).then((r) => req.onReply(r), (e) => req.onError(`ERR ${e.message}`));
      return;
    case "slotsscan":
      return slotsScan(core, argv, req);
    case "keys":
      return answer(req, keysCommand(core, argv[1]));
    case "scan":
      return answer(req, scanCommand(core, argv));
    case "dbsize":
      return answer(req, dbsizeCommand(core));
    case "randomkey":
      return answer(req, randomkeyCommand(core).then((r) => resp3Null(session, r)));
    case "flushall":
    case "flushdb":
      return answer(req, flushCommand(core, argv));
    case "script":
      return answer(req, scriptCommand(core, argv));
    case "function":
      return answer(req, functionCommand(core, argv, session.protover === 3));
    case "config":
      if (name === "config|help") return answer(req, oneMasterCommand(core, argv));
      if (name !== "config|get") return answer(req, configSetOrReset(core, name, argv));
      return answer(req, configGetCommand(core, argv, session.protover === 3));
    case "pfselftest":
    case "lolwut":
    case "object":
    case "xinfo":
    case "xgroup":
    case "memory":
      return answer(req, oneMasterCommand(core, argv));
    case "time":
      return answer(req, timeCommand(core));
    case "lastsave":
      return answer(req, lastsaveCommand(core));
    case "role":
      return req.onReply(roleReply());
    case "slowlog":
      return req.onReply(slowlogCommand(core, name, argv));
    default:
      return req.onReply(errorReply(`ERR command '${name}' has no local handler in codis-proxy`));
  }
}

/** SELECT: database 0 only; an argument that is not an int gets Redis's own error first. */
function selectReply(arg: Uint8Array): Uint8Array {
  const id = parseIntArg(arg);
  if (Number.isNaN(id)) return errorReply("ERR value is not an integer or out of range");
  if (id < -0x80000000 || id > 0x7fffffff) {
    return errorReply("ERR value is out of range, value must between -2147483648 and 2147483647");
  }
  if (id === 0) return OK;
  return errorReply("ERR invalid DB index, codis-proxy serves one database (0); slots map to backend databases");
}

const RESP3_NULL = new TextEncoder().encode("_\r\n");

/** A RESP3 session gets RESP3's null where a RESP2 reply is the null bulk string (CLIENT GETNAME, RANDOMKEY). */
function resp3Null(session: SessionState, reply: Uint8Array): Uint8Array {
  return session.protover === 3 && reply.length === NULL_BULK.length && reply[0] === 36 && reply[1] === 45
    ? RESP3_NULL
    : reply;
}

const VERBATIM_TXT = new TextEncoder().encode("txt:");

/** A RESP3 session gets INFO-like text as Redis sends it there: a verbatim string (`=len`, `txt:`), not a bulk. */
function resp3Verbatim(session: SessionState, reply: Uint8Array): Uint8Array {
  if (session.protover !== 3 || reply[0] !== 36) return reply;
  const head = reply.indexOf(10) + 1;
  const n = Number(decoder.decode(reply.subarray(1, head - 2)));
  if (!(n >= 0)) return reply;
  return concat([new TextEncoder().encode(`=${n + 4}\r\n`), VERBATIM_TXT, reply.subarray(head)]);
}

/** Sets the request's reply from an async handler; a failure becomes one `-ERR` line. */
function answer(req: Request, p: Promise<Uint8Array>): void {
  p.then(
    (r) => req.onReply(r),
    (e: Error) => req.onError(e.message.startsWith("ERR") ? e.message : `ERR ${e.message}`),
  );
}

const WRONGPASS = errorReply("WRONGPASS invalid username-password pair or user is disabled.");

/** AUTH [username] password, checked against `session_auth`. */
export function auth(core: ProxyCore, session: SessionState, argv: Uint8Array[]): Uint8Array {
  const want = core.config.session_auth;
  const user = argv.length > 2 ? decoder.decode(argv[1]) : "default";
  if (want === "") {
    // As Redis 7 with no requirepass: the password-only form is refused as a likely misconfiguration; the user form
    // checks the user, and the default user then takes any password (it is "nopass").
    if (argv.length <= 2) {
      return errorReply(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
      );
    }
    if (user !== "default") return WRONGPASS;
    session.authenticated = true;
    return OK;
  }
  const pass = decoder.decode(argv[argv.length - 1]);
  // Constant-time, as the admin API's xauth: the time taken must not tell how much of a guess was right.
  if (!(user === "default" && xauthEqual(pass, want))) {
    // As Redis 6+: a wrong password leaves an authenticated session authenticated.
    return WRONGPASS;
  }
  session.authenticated = true;
  return OK;
}
