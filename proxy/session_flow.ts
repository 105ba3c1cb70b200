/**
 * A session's backpressure: it stops reading from its client while too many requests are in flight or too many reply
 * bytes are owed, and reads again once both are down to half; while the gate holds it (session_gate.ts), it stops
 * parsing past session_max_pipeline waiting requests and stashes what it reads. Apart from session.ts, which keeps
 * the one per-request test inline (`paused`, the queue's length, {@link SessionFlow.unsentBytes}) and calls here only
 * to pause, to resume (once per flush), and for requests that wait behind the gate.
 * @module
 */
import type { Fifo } from "../util/fifo.ts";
import type { ProxyConfig } from "./core/config.ts";
import type { Request } from "./forward/request.ts";
import type { ClientSocket } from "./net/client_socket.ts";
import type { RequestParser } from "./resp/request_parser.ts";
import { MAX_STASHED_BYTES, type SessionGate } from "./session_gate.ts";
import type { ReplyWriter } from "./session_replies.ts";

/** Replies written but not yet taken by the kernel, beyond which a session stops reading requests. */
export const MAX_UNSENT_BYTES = 16 << 20;
const EMPTY = new Uint8Array(0);

/** What flow control needs from its session. */
export interface FlowHost {
  /** Parses `chunk` as if just read; an empty chunk parses what the parser kept back while holding. */
  feed(chunk: Uint8Array): void;
  /** True once the session is closed. */
  isClosed(): boolean;
}

/** One session's backpressure (see the module doc); made with the session. */
export class SessionFlow {
  /** True while the session has stopped reading, or parsing, until replies drain. */
  paused = false;
  readonly #socket: ClientSocket;
  readonly #parser: RequestParser;
  readonly #queue: Fifo<Request>;
  readonly #replies: ReplyWriter;
  readonly #gate: SessionGate;
  readonly #cfg: ProxyConfig;
  readonly #host: FlowHost;
  /** Feeds one stashed chunk; true while the session may take the next (made once per session). */
  readonly #feedStashed = (chunk: Uint8Array) => {
    this.#host.feed(chunk);
    return !this.#gate.stashing && !this.paused && !this.#host.isClosed();
  };

  constructor(
    socket: ClientSocket,
    parser: RequestParser,
    queue: Fifo<Request>,
    replies: ReplyWriter,
    gate: SessionGate,
    cfg: ProxyConfig,
    host: FlowHost,
  ) {
    this.#socket = socket;
    this.#parser = parser;
    this.#queue = queue;
    this.#replies = replies;
    this.#gate = gate;
    this.#cfg = cfg;
    this.#host = host;
  }

  /**
   * Reply bytes the session owes its client: written but not taken by the kernel, plus, for every request not
   * written yet (in flight, or answered in this turn), the session's usual reply size.
   */
  unsentBytes(): number {
    return this.#socket.pendingBytes + this.#queue.length * this.#replies.replyBytes;
  }

  /** Stops reading until replies drain (see {@link maybeResume}). */
  pause(): void {
    this.paused = true;
    this.#socket.pause();
    this.#parser.hold();
  }

  /** Keeps a request read while the gate is held; stops parsing (not reading) when too many wait. */
  defer(argv: Uint8Array[], raw: Uint8Array | null): void {
    if (this.#gate.defer(argv, raw) >= this.#cfg.session_max_pipeline && !this.paused) {
      this.paused = true;
      this.#gate.stashing = true;
      this.#parser.hold();
    }
  }

  /** Keeps a chunk read while stashing; the error to close the session with when the stash is full, else null. */
  stash(chunk: Uint8Array): string | null {
    if (this.#gate.stashChunk(chunk)) return null;
    return `ERR more than ${MAX_STASHED_BYTES >> 20} MB of requests queued behind a blocking command`;
  }

  /** Reads again once a paused session's requests and unsent replies are down to half their limits. */
  maybeResume(): void {
    if (
      this.paused && this.#gate.req === null && this.#queue.length <= this.#cfg.session_max_pipeline >> 1 &&
      this.unsentBytes() <= MAX_UNSENT_BYTES >> 1
    ) {
      this.paused = false;
      const gate = this.#gate;
      gate.stashing = false;
      this.#socket.resume();
      this.#parser.release();
      // Requests the parser kept back while holding go first (they may pause the session again), then what was read
      // meanwhile.
      if (this.#parser.buffered > 0) this.#host.feed(EMPTY);
      if (gate.hasStash && !this.#host.isClosed() && !this.paused && !gate.stashing) {
        gate.drainStash(this.#feedStashed);
        if (this.#host.isClosed()) gate.clear();
      }
    }
  }
}
