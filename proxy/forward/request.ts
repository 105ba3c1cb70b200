/**
 * One client request on its way through the proxy. It waits in its session's queue until its reply is ready, so
 * replies leave in request order whatever order backends answer in.
 * @module
 */
import type { PendingReply } from "../../redis/conn.ts";
import { errorReply } from "../../redis/encode.ts";
import { adoptReply, type ReplyBuffer } from "../../redis/reply_buffers.ts";
import type { PooledBuffer } from "../../util/buffer_pool.ts";

/** Told when a request completes, so the session can flush the replies at the head of its queue. */
export interface RequestOwner {
  requestDone(req: Request): void;
}

/** A request waiting for its reply. */
export class Request implements PendingReply {
  /** The reply bytes, set exactly once. */
  reply: Uint8Array | null = null;
  /** True when the reply is an error the proxy made (a failure, as opposed to a Redis error reply). */
  failed = false;
  readonly owner: RequestOwner;
  /** Command name for stats. */
  readonly name: string;
  /** performance.now() when parsed. */
  readonly start: number;
  /** The client's arguments, for the slow log; null for frames the proxy pushes itself. */
  argv: Uint8Array[] | null = null;
  /** The slot it was sent to whole, for the per-slot statistics (`../stats/load.ts`); -1: none, or split. */
  slot = -1;
  /** Its first key (a view of the client's bytes), for the big-key check on its reply; null: none. */
  key: Uint8Array | null = null;
  /**
   * The pooled buffer its reply is a view of, adopted as the backend connection delivered it: the session releases it
   * once the reply has been copied or handed to the kernel (`../../redis/reply_buffers.ts`). Null: none.
   */
  replyBuffer: ReplyBuffer | null = null;
  /**
   * The reused read buffer its bytes are views of, counting it as a user; the session releases it once the reply is
   * written, if {@link plain}, and pins it otherwise (`../../util/buffer_pool.ts`). Null: not counted.
   */
  slab: PooledBuffer | null = null;
  /**
   * Sent whole to a backend connection by the Forwarder's plain path (no lock, migration or write acks), where
   * nothing but the connection keeps its bytes: once the backend's reply has come, every byte has been written.
   */
  plain = false;

  constructor(owner: RequestOwner, name: string, start: number) {
    this.owner = owner;
    this.name = name;
    this.start = start;
  }

  onReply(raw: Uint8Array): void {
    if (this.reply !== null) return;
    this.reply = raw;
    this.replyBuffer = adoptReply(raw);
    this.owner.requestDone(this);
  }

  onError(msg: string): void {
    if (this.reply !== null) return;
    this.reply = errorReply(msg);
    this.failed = true;
    this.owner.requestDone(this);
  }
}
