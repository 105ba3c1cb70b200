/**
 * A subscribed session's output: each pub/sub message joins the session's reply queue as a request answered at once,
 * so it leaves after the replies already queued, and the output not yet written is checked against the
 * session_pubsub_* limits (pubsub/output_limit.ts). Apart from session.ts because only a session that has received a
 * message makes one.
 * @module
 */
import type { Fifo } from "../util/fifo.ts";
import { logger } from "../util/log.ts";
import type { ProxyConfig } from "./core/config.ts";
import type { ProxyStats } from "./core/stats.ts";
import { Request, type RequestOwner } from "./forward/request.ts";
import { hasPubSubLimits, PubSubOutputLimit } from "./pubsub/output_limit.ts";

const log = logger("session");

/** One session's pub/sub output, made by its first message. */
export class SubscriberOutput {
  /** Messages queued since the session's last flush, in bytes: output not yet handed to the socket. */
  pushedBytes = 0;
  /** The session_pubsub_* limits; null when none is set. */
  readonly #limit: PubSubOutputLimit | null;
  readonly #stats: ProxyStats;
  /** The session, for the log. */
  readonly #who: { readonly id: number; readonly remote: string };

  constructor(cfg: ProxyConfig, stats: ProxyStats, who: { readonly id: number; readonly remote: string }) {
    this.#stats = stats;
    this.#who = who;
    const limits = {
      hardBytes: cfg.session_pubsub_hard_limit,
      softBytes: cfg.session_pubsub_soft_limit,
      softMs: cfg.session_pubsub_soft_time,
    };
    this.#limit = hasPubSubLimits(limits) ? new PubSubOutputLimit(limits) : null;
  }

  /**
   * Queues a message after the requests in `queue`; true (said in the log and counted) when the session is over its
   * limits, counting `socketPendingBytes` (written but not taken by the kernel): the session is then to be closed.
   */
  push(owner: RequestOwner, queue: Fifo<Request>, raw: Uint8Array, socketPendingBytes: number): boolean {
    const r = new Request(owner, "pubsub-message", performance.now());
    queue.push(r);
    r.onReply(raw);
    this.pushedBytes += raw.length;
    const limit = this.#limit;
    const over = limit === null ? null : limit.exceeded(socketPendingBytes + this.pushedBytes, Date.now());
    if (over === null) return false;
    log.warn(`session ${this.#who.id} from ${this.#who.remote} closed: ${over}`);
    this.#stats.pubsubLimitClosed++;
    return true;
  }
}
