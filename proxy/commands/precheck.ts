/**
 * The checks every request passes before its policy runs, in Redis's order, with Redis's error texts:
 * unknown command → unknown subcommand → wrong arity → codis-proxy refusal (HTTP guards close the connection).
 * @module
 */
import { unknownCommandReply, unknownSubcommandReply } from "./errors.ts";
import { checkArity, type CommandInfo, isUnknownSubcommand } from "./table.ts";

const enc = new TextEncoder();
const arityCache = new WeakMap<CommandInfo, Uint8Array>();
const refusedCache = new WeakMap<CommandInfo, Uint8Array>();

/** Returned by precheckReply when the connection must be closed without a reply (`POST`, `HOST:`). */
export const CLOSE_CONNECTION = "close";

/** Redis's arity error as a RESP frame (cached per command). */
export function wrongArityReply(info: CommandInfo): Uint8Array {
  let f = arityCache.get(info);
  if (!f) {
    f = enc.encode(`-ERR wrong number of arguments for '${info.name}' command\r\n`);
    arityCache.set(info, f);
  }
  return f;
}

/** codis-proxy's refusal as a RESP frame; with no `reason`, the command's own (cached per command). */
export function refusedReply(info: CommandInfo, reason?: string): Uint8Array {
  const msg = (r: string) => enc.encode(`-ERR command '${info.displayName}' is not supported by codis-proxy: ${r}\r\n`);
  if (reason !== undefined && reason !== info.reason) return msg(reason);
  let f = refusedCache.get(info);
  if (!f) {
    f = msg(info.reason ?? "refused");
    refusedCache.set(info, f);
  }
  return f;
}

/**
 * The reply that ends a request before its policy runs, or null when it may proceed (then switch on info.policy):
 * the unknown-command / unknown-subcommand / arity errors byte-exact with Redis 7, then the refusal of a refused
 * command, or CLOSE_CONNECTION for HTTP-looking requests. Authentication checks come after this, as in Redis.
 */
export function precheckReply(
  info: CommandInfo | undefined,
  argv: Uint8Array[],
  argc: number,
): Uint8Array | typeof CLOSE_CONNECTION | null {
  if (info === undefined) return unknownCommandReply(argv, argc);
  if (info.closeConnection) return CLOSE_CONNECTION;
  if (isUnknownSubcommand(info, argc)) return unknownSubcommandReply(argv, argc);
  if (!checkArity(info, argc)) return wrongArityReply(info);
  if (info.policy === "refused") return refusedReply(info);
  return null;
}
