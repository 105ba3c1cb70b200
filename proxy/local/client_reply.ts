/**
 * CLIENT REPLY ON | OFF | SKIP, as Redis: OFF drops every later reply (errors included) until CLIENT REPLY ON, SKIP
 * drops the next command's reply; neither answers itself, ON answers +OK. Pub/Sub confirmations and messages are
 * pushes, which Redis 7.0 writes whatever the mode. The session decides when it makes each request, in request
 * order, so a pipeline keeps its order whatever order backends answer in: a request made while replies are off
 * becomes a {@link QuietRequest}, whose reply takes its place in the queue and writes nothing.
 * @module
 */
import type { CommandInfo } from "../commands/mod.ts";
import type { SessionState } from "../core/core.ts";
import { Request, type RequestOwner } from "../forward/request.ts";
import { errorReply, OK } from "../../redis/encode.ts";

/** Replies are written. */
export const REPLY_ON = 0;
/** Replies are dropped until CLIENT REPLY ON (or RESET). */
export const REPLY_OFF = 1;
/** The next request's reply is dropped. */
export const REPLY_SKIP_NEXT = 2;

const NOTHING = new Uint8Array(0);
const dec = new TextDecoder();

/** A request whose reply is dropped: it still waits for its turn, so later replies keep their order. */
export class QuietRequest extends Request {
  override onReply(_raw: Uint8Array): void {
    super.onReply(NOTHING);
  }

  override onError(_msg: string): void {
    if (this.reply !== null) return;
    this.failed = true;
    this.reply = NOTHING;
    this.owner.requestDone(this);
  }
}

/**
 * A (P|S)(UN)SUBSCRIBE read while replies are OFF or SKIP. Redis 7.0 writes its confirmations anyway (they are
 * pushes, as the messages that follow, which the session writes in any mode); only an error reply is dropped.
 */
export class QuietSubscribeRequest extends QuietRequest {
  override onReply(raw: Uint8Array): void {
    if (raw[0] === 45) super.onReply(raw);
    else Request.prototype.onReply.call(this, raw);
  }
}

const SUBSCRIPTION_COMMANDS = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
]);

/** True for the requests that turn replies back on, whose own reply is written: CLIENT REPLY ON and RESET. */
export function restoresReplies(info: CommandInfo, argv: Uint8Array[]): boolean {
  if (info.name === "reset") return true;
  return info.name === "client|reply" && argv.length === 3 && dec.decode(argv[2]).toLowerCase() === "on";
}

/** CLIENT REPLY ON | OFF | SKIP; an empty reply for OFF and SKIP (nothing is written for them). */
export function clientReplyCommand(session: SessionState, argv: Uint8Array[]): Uint8Array {
  const mode = dec.decode(argv[2]).toLowerCase();
  if (mode !== "on" && mode !== "off" && mode !== "skip") return errorReply("ERR syntax error");
  session.setClientReply(mode);
  return mode === "on" ? OK : NOTHING;
}

/** The mode after CLIENT REPLY `mode`; as Redis, SKIP does nothing while replies are OFF. */
export function nextReplyMode(current: number, mode: "on" | "off" | "skip"): number {
  if (mode === "on") return REPLY_ON;
  if (mode === "off") return REPLY_OFF;
  return current === REPLY_OFF ? REPLY_OFF : REPLY_SKIP_NEXT;
}

/**
 * The request for a command read while replies are OFF or SKIP: a {@link QuietRequest} (a
 * {@link QuietSubscribeRequest} for a subscription command), unless the command turns replies back on. The session then ends a SKIP when the request is quiet.
 */
export function requestWhileQuiet(
  owner: RequestOwner,
  info: CommandInfo | undefined,
  argv: Uint8Array[],
  readAt: number,
): Request {
  const name = info ? info.name : "unknown";
  if (info !== undefined && restoresReplies(info, argv)) return new Request(owner, name, readAt);
  if (SUBSCRIPTION_COMMANDS.has(name)) return new QuietSubscribeRequest(owner, name, readAt);
  return new QuietRequest(owner, name, readAt);
}
