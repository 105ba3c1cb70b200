/**
 * What sessions and locally answered commands need from the proxy: configuration, the command table, stats and
 * the slot router. Implemented by {@link Proxy} in `proxy.ts`.
 * @module
 */
import type { PendingReply } from "../redis/conn.ts";
import type { AckScope, WriteAcks } from "./backend/write_acks.ts";
import type { CommandTable } from "./commands/mod.ts";
import type { ProxyConfig } from "./config.ts";
import type { Router } from "./router.ts";
import type { KeyRef } from "./slot_forward.ts";
import type { Session } from "./session.ts";
import type { ProxyStats } from "./stats.ts";

/** The proxy as sessions see it. */
export interface ProxyCore {
  readonly config: ProxyConfig;
  readonly commands: CommandTable;
  readonly stats: ProxyStats;
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
   * With `backend_write_acks`: sends a command on the write path of the master serving `slot`. A `write` is
   * answered once the group's replicas hold it; otherwise it is a later request of a session whose writes in
   * `scope` still wait, and runs after them.
   */
  sendAcked(
    slot: number,
    raw: Uint8Array,
    reply: PendingReply,
    keys: KeyRef | null,
    scope: AckScope,
    write: boolean,
  ): void;
  /** Live sessions. */
  sessionCount(): number;
  sessionClosed(s: Session): void;
  /** Proxy facts for INFO. */
  info(): { version: string; startTime: number; token: string; productName: string; proxyAddr: string };
}
