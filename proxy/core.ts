/**
 * What sessions and locally answered commands need from the proxy: configuration, the command table, stats and
 * the slot router. Implemented by {@link Proxy} in `proxy.ts`.
 * @module
 */
import type { PendingReply } from "../redis/conn.ts";
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
  /** Live sessions. */
  sessionCount(): number;
  sessionClosed(s: Session): void;
  /** Proxy facts for INFO. */
  info(): { version: string; startTime: number; token: string; productName: string; proxyAddr: string };
}
