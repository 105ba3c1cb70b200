/**
 * What sessions and locally answered commands need from the proxy: configuration, the command table, stats and
 * the slot router; and what local commands need from a session. Implemented by `Proxy` in `../proxy.ts` and `Session` in
 * `../session.ts`: interfaces sit below the code that implements them.
 * @module
 */
import type { PendingReply } from "../../redis/conn.ts";
import type { WriteAcks } from "../backend/write_acks.ts";
import type { CommandTable } from "../commands/mod.ts";
import type { ProxyConfig } from "./config.ts";
import type { Router } from "../forward/router.ts";
import type { Forwarder, KeyRef } from "../forward/forward.ts";
import type { ProxyStats } from "./stats.ts";
import type { ClientDescription } from "./client_info.ts";
import type { OperatorHooks } from "./ops.ts";
import type { LoadStats } from "../stats/load.ts";

/** Per-session state that local commands read and change (implemented by `Session` in `../session.ts`). */
export interface SessionState {
  readonly id: number;
  name: Uint8Array | null;
  authenticated: boolean;
  /** Set by QUIT: no more requests are read, and the socket closes once replies are flushed. */
  quitting: boolean;
  readonly remote: string;
  readonly createdAt: number;
  /** The protocol the client chose with HELLO: 2 (default) or 3. */
  protover: 2 | 3;
  /** The session as CLIENT LIST shows it. */
  describe(): ClientDescription;
  /** CLIENT KILL: closes the session; the session itself closes after the reply it is answering. */
  kill(self: boolean): void;
  /** CLIENT REPLY ON | OFF | SKIP: whether the session's next replies are written (see proxy/local/client_reply.ts). */
  setClientReply(mode: "on" | "off" | "skip"): void;
}

/**
 * The proxy as sessions see it.
 * @internal
 */
export interface ProxyCore {
  readonly config: ProxyConfig;
  readonly commands: CommandTable;
  readonly stats: ProxyStats;
  /** Per-slot statistics, hot keys and big keys. */
  readonly load: LoadStats;
  readonly router: Router;
  /**
   * Sends one complete command to the master serving `slot`, in database `slot`. `keys` locates the command's keys,
   * needed only while the slot migrates (they are moved from the source first). `replicaOk`: a read that may be
   * served by the slot's replica groups (Codis's replica reads), unless `backend_primary_only`.
   */
  send(slot: number, raw: Uint8Array, reply: PendingReply, keys?: KeyRef | null, replicaOk?: boolean): void;
  /** The replica-acknowledged write path; null when `backend_write_acks` is 0. */
  readonly writeAcks: WriteAcks | null;
  /**
   * What {@link send} hands commands to; with `backend_write_acks`, sessions send on its write path directly
   * (`Forwarder.sendAcked`).
   */
  readonly forwarder: Pick<Forwarder, "sendAcked">;
  /** Live sessions. */
  sessionCount(): number;
  /** The live sessions (CLIENT LIST, CLIENT KILL). */
  sessions(): Iterable<SessionState>;
  /** The slow log, MONITOR's feed and CLIENT PAUSE. */
  readonly ops: OperatorHooks;
  /** Sessions waiting in a blocking command (or WAIT), and sessions with subscriptions: for INFO clients. */
  clientCounts(): { blocked: number; pubsub: number };
  sessionClosed(s: SessionState): void;
  /** Proxy facts for INFO. */
  info(): { version: string; startTime: number; token: string; productName: string; proxyAddr: string };
}
