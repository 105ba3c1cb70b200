/**
 * One SUBSCRIBE connection to one redis-sentinel, kept up until closed: it reconnects with back-off (reset by
 * each successful subscription) when the sentinel goes away, and PINGs the subscribed connection now and then so
 * that a sentinel that vanished without closing the socket is noticed too. It knows nothing of the model: the
 * frames it receives go to {@link SubscriberHandlers}, already checked for the shape of a pub/sub message.
 * @module
 */
import { SubConn } from "../../redis/subscriber.ts";
import { decodeReply, errorText, isErrorReply, type RespValue, textOf } from "../../redis/decode.ts";

/** What the dashboard listens to on every sentinel. */
export const SENTINEL_CHANNELS: readonly string[] = ["+switch-master"];

/** Callbacks of a {@link SentinelSubscriber}; they must not throw. */
export interface SubscriberHandlers {
  /** Every channel is confirmed: events from now on arrive. Called again after each reconnect. */
  onSubscribed(addr: string): void;
  /** A message on one of the channels. */
  onMessage(addr: string, channel: string, payload: string): void;
  /** A frame that claimed to be a message but is not one (already described in `why`). */
  onMalformed(addr: string, why: string): void;
  /** The connection was lost or refused; a reconnect is scheduled. */
  onDown(addr: string, reason: string): void;
}

/** Timings of a {@link SentinelSubscriber} (ms). */
export interface SubscriberOptions {
  /** Connect timeout, and how long SUBSCRIBE and each PING may take to be answered. */
  timeoutMs: number;
  /** First reconnect delay; doubles per failure up to `maxBackoffMs`. Default 200. */
  minBackoffMs?: number;
  /** Default 5000. */
  maxBackoffMs?: number;
  /** Health PING period on the subscribed connection. Default 5000. */
  pingMs?: number;
  /** `CLIENT SETNAME` of the connection, so that operators see who holds it (CLIENT LIST). */
  clientName?: string;
}

/** A message frame's channel and payload, or why it is not a well-formed `message`. */
export function parseMessageFrame(raw: Uint8Array): { channel: string; payload: string } | { error: string } {
  let v: RespValue;
  try {
    v = decodeReply(raw);
  } catch (e) {
    return { error: `undecodable frame: ${(e as Error).message}` };
  }
  if (!Array.isArray(v) || v.length !== 3) return { error: "not a 3-element message frame" };
  const [kind, channel, payload] = v;
  if (textOf(kind) !== "message") return { error: `unexpected frame kind ${JSON.stringify(textOf(kind))}` };
  if (!isText(channel) || !isText(payload)) return { error: "channel or payload is not a string" };
  return { channel: textOf(channel), payload: textOf(payload) };
}

function isText(v: RespValue): boolean {
  return typeof v === "string" || v instanceof Uint8Array;
}

/** Keeps one subscription to `addr` alive until {@link close}. */
export class SentinelSubscriber {
  readonly addr: string;
  readonly #h: SubscriberHandlers;
  readonly #timeoutMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #pingMs: number;
  readonly #clientName: string | undefined;
  #backoffMs: number;
  #conn: SubConn | undefined;
  /** Bumped on every new connection and on loss: callbacks of an older connection are ignored. */
  #gen = 0;
  /** The one pending timer: reconnect, next PING, or a reply deadline. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #subscribed = false;

  constructor(addr: string, handlers: SubscriberHandlers, opts: SubscriberOptions) {
    this.addr = addr;
    this.#h = handlers;
    this.#timeoutMs = opts.timeoutMs;
    this.#minBackoffMs = opts.minBackoffMs ?? 200;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.#pingMs = opts.pingMs ?? 5000;
    this.#clientName = opts.clientName?.replace(/[^\w.:@\-]/g, "_");
    this.#backoffMs = this.#minBackoffMs;
    this.#connect();
  }

  /** Whether the subscription is confirmed on a live connection. */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Closes the connection and cancels every timer; no handler is called afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gen++;
    this.#subscribed = false;
    clearTimeout(this.#timer);
    this.#conn?.close();
    this.#conn = undefined;
  }

  #connect(): void {
    if (this.#closed) return;
    const gen = ++this.#gen;
    const conn = new SubConn(
      this.addr,
      { auth: "", connectTimeoutMs: this.#timeoutMs },
      (raw) => this.#onFrame(gen, raw),
      (reason) => this.#lost(gen, reason),
    );
    this.#conn = conn;
    // A name is a courtesy: a sentinel refusing it still serves the subscription.
    if (this.#clientName) conn.command(["CLIENT", "SETNAME", this.#clientName], 1).catch(() => {});
    this.#ask(gen, conn, ["SUBSCRIBE", ...SENTINEL_CHANNELS], SENTINEL_CHANNELS.length, (frames) => {
      const refused = frames.find(isErrorReply);
      if (refused) return this.#lost(gen, `SUBSCRIBE refused: ${errorText(refused)}`);
      this.#subscribed = true;
      this.#backoffMs = this.#minBackoffMs;
      this.#h.onSubscribed(this.addr);
      this.#schedulePing(gen, conn);
    });
  }

  /** Sends a command and waits at most the timeout for its confirmation frames. */
  #ask(gen: number, conn: SubConn, args: string[], frames: number, then: (frames: Uint8Array[]) => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => this.#lost(gen, `no answer to ${args[0]} in ${this.#timeoutMs} ms`),
      this.#timeoutMs,
    );
    conn.command(args, frames).then((f) => {
      if (gen !== this.#gen) return;
      clearTimeout(this.#timer);
      then(f);
    }, (e) => this.#lost(gen, (e as Error).message));
  }

  #schedulePing(gen: number, conn: SubConn): void {
    this.#timer = setTimeout(() => {
      if (gen !== this.#gen) return;
      this.#ask(gen, conn, ["PING"], 1, (f) => {
        if (isErrorReply(f[0])) return this.#lost(gen, `PING refused: ${errorText(f[0])}`);
        this.#schedulePing(gen, conn);
      });
    }, this.#pingMs);
  }

  #onFrame(gen: number, raw: Uint8Array): void {
    if (gen !== this.#gen) return;
    const m = parseMessageFrame(raw);
    if ("error" in m) return this.#h.onMalformed(this.addr, m.error);
    if (!SENTINEL_CHANNELS.includes(m.channel)) {
      return this.#h.onMalformed(this.addr, `message on unexpected channel ${JSON.stringify(m.channel.slice(0, 64))}`);
    }
    this.#h.onMessage(this.addr, m.channel, m.payload);
  }

  #lost(gen: number, reason: string): void {
    if (gen !== this.#gen || this.#closed) return;
    this.#gen++;
    this.#subscribed = false;
    clearTimeout(this.#timer);
    this.#conn?.close();
    this.#conn = undefined;
    this.#h.onDown(this.addr, reason);
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#maxBackoffMs, this.#backoffMs * 2);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }
}
