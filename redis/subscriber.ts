/**
 * A subscriber connection to one master: unlike a pipelined {@link BackendConn}, it receives messages nobody asked
 * for, so every frame is classified: `message` / `pmessage` / `smessage` frames go to the session as they are, and
 * the others confirm the (un)subscribe commands sent, in order.
 * @module
 */
import type net from "node:net";
import { dialRedisStream } from "./dial.ts";
import { arrayElements, decodeReply, errorText, isErrorReply, textOf } from "./decode.ts";
import { encodeCommand } from "./encode.ts";
import { ReplyFramer } from "./reply_framer.ts";
import { StallTolerantTimeout } from "../util/stall_tolerant_timeout.ts";

const MESSAGE_KINDS = new Set(["message", "pmessage", "smessage"]);

interface Waiter {
  remaining: number;
  frames: Uint8Array[];
  resolve: (frames: Uint8Array[]) => void;
  reject: (e: Error) => void;
}

/** One session's subscriber connection to one master. */
export class SubConn {
  readonly addr: string;
  #sock: net.Socket;
  #framer: ReplyFramer;
  #waiters: Waiter[] = [];
  #closed = false;
  #connectTimer: StallTolerantTimeout | null = null;
  #onMessage: (raw: Uint8Array) => void;
  #onLost: (reason: string) => void;

  constructor(
    addr: string,
    opts: { auth: string; connectTimeoutMs: number },
    onMessage: (raw: Uint8Array) => void,
    onLost: (reason: string) => void,
  ) {
    this.addr = addr;
    this.#onMessage = onMessage;
    this.#onLost = onLost;
    const i = addr.lastIndexOf(":");
    this.#framer = new ReplyFramer((raw) => this.#onFrame(raw));
    const sock = dialRedisStream(addr.slice(0, i), Number(addr.slice(i + 1)));
    this.#sock = sock;
    sock.setNoDelay(true);
    if (opts.connectTimeoutMs > 0) {
      // (Stall tolerant: a connect that completed while this process did not run is kept, not timed out.)
      const connectTimer = new StallTolerantTimeout(opts.connectTimeoutMs, () => this.#lost("connect timeout"));
      this.#connectTimer = connectTimer;
      sock.once("connect", () => connectTimer.clear());
    }
    sock.on("data", (chunk: Uint8Array) => {
      try {
        this.#framer.feed(chunk);
      } catch (e) {
        this.#lost(`bad reply: ${(e as Error).message}`);
      }
    });
    sock.on("error", (e: Error) => this.#lost((e as { code?: string }).code ?? e.message));
    sock.on("close", () => this.#lost("connection closed by the server"));
    if (opts.auth) {
      this.command(["AUTH", opts.auth], 1).then((f) => {
        if (isErrorReply(f[0])) this.#lost(`AUTH failed: ${errorText(f[0])}`);
      }, () => {});
    }
  }

  /** Sends a command; resolves with the `frames` replies that confirm it. */
  command(args: (string | Uint8Array)[], frames: number): Promise<Uint8Array[]> {
    if (this.#closed) return Promise.reject(new Error(`subscriber connection to ${this.addr} is closed`));
    return new Promise((resolve, reject) => {
      if (frames > 0) this.#waiters.push({ remaining: frames, frames: [], resolve, reject });
      else resolve([]);
      this.#sock.write(encodeCommand(args));
    });
  }

  #onFrame(raw: Uint8Array): void {
    if (raw[0] === 42) {
      const parts = arrayElements(raw);
      const kind = parts && parts.length > 0 ? textOf(decodeReply(parts[0])) : "";
      if (MESSAGE_KINDS.has(kind)) return this.#onMessage(raw);
    }
    const w = this.#waiters[0];
    if (w === undefined) return; // a stray confirmation (after a reset): nothing waits for it
    w.frames.push(raw);
    if (--w.remaining === 0) {
      this.#waiters.shift();
      w.resolve(w.frames);
    }
  }

  #lost(reason: string): void {
    if (this.#closed) return;
    this.close();
    this.#onLost(reason);
  }

  /** Closes the connection; pending commands fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connectTimer?.clear();
    this.#sock.destroy();
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.reject(new Error(`subscriber connection to ${this.addr} closed`));
  }
}
