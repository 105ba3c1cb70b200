/**
 * The proxy's command table and what is built on it: {@link CommandTable} (table.ts), the flag bits (flags.ts), the
 * routing policy (policy.ts), error texts (errors.ts), COMMAND replies (reply.ts) and the checks run before a
 * command is forwarded (precheck.ts).
 * @module
 */
export {
  callRefusal,
  checkArity,
  type CommandInfo,
  CommandTable,
  HIDDEN_COMMANDS,
  isBlockingCall,
  isUnknownSubcommand,
  type MergeResult,
} from "./table.ts";
export * from "./flags.ts";
export type { Policy, PolicyDecision } from "./policy.ts";
export { REASONS, TXN_PUBSUB_COMMANDS } from "./policy.ts";
export type { KeySpec } from "./keys.ts";
export type { RawCommand, RawKeySpec } from "./parse.ts";
export {
  formatRefused,
  formatUnknownCommand,
  formatUnknownSubcommand,
  formatWrongArity,
  unknownCommandReply,
  unknownSubcommandReply,
} from "./errors.ts";
export { commandDocs, commandReply, writeCommandEntry } from "./reply.ts";
export { RespWriter } from "./resp_writer.ts";
export { CLOSE_CONNECTION, precheckReply, refusedReply, wrongArityReply } from "./precheck.ts";
export { KEYLESS_SLOT, refusalText } from "./arg_check.ts";
