/**
 * Which write connection a batch of acknowledged writes takes (backend_write_acks, write_acks.ts).
 *
 * Redis runs nothing more of a connection's while a `WAIT` blocks it. With one write connection per master, the writes
 * of a turn that follows one whose WAIT is still out wait that WAIT's replication round trip before they even run, and
 * then their own: at 50 clients sending one request each, measured here as +0.46 ms p50 and 0.70× the throughput of
 * `backend_write_acks = 0`, against +0.15 ms and 0.91× with four connections (bench/README.md).
 * @module
 */
import type { BackendState } from "../../redis/conn.ts";

/** Write connections per master, at least: enough for the batches of the turns one replication round trip spans. */
export const WRITE_CONNS_PER_MASTER = 4;

/** How many write connections a master with `primaryConns` usual connections gets. */
export function writeConnCount(primaryConns: number): number {
  return Math.max(WRITE_CONNS_PER_MASTER, primaryConns);
}

/** What the choice looks at. */
export interface WriteConnView {
  readonly state: BackendState;
  /** WAITs sent and not answered. */
  readonly waiting: number;
  /** A batch of this turn is open on it. */
  readonly batchOpen: boolean;
}

/**
 * The connection for a write that no session order ties to one: the one whose batch of this turn is open (the turn's
 * writes share one WAIT), else the usable one with the fewest WAITs out (first such in order), else the first.
 */
export function chooseWriteConn<C extends WriteConnView>(conns: readonly C[]): C {
  let best: C | null = null;
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i];
    if (c.state !== "connected" && c.state !== "connecting") continue;
    if (c.batchOpen) return c;
    if (best === null || c.waiting < best.waiting) best = c;
  }
  return best ?? conns[0];
}
