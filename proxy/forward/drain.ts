/**
 * Draining one connection to a slot's previous backend, bounded. A routing change is acknowledged to the dashboard
 * only once the requests in flight on the old routes have completed (a PING queued behind them answers). A master
 * that is paused or cut off without a reset answers nothing: the drain, the acknowledgement and with them the
 * proxy's dashboard lease (renewed after each applied answer) would wait for `backend_recv_timeout` (30 s, as long as
 * the lease), and the proxy would refuse every slot of every group meanwhile. So a connection that does not answer
 * within the bound is dropped: its requests fail (outcome unknown, never OK), it reconnects, and no request of the old
 * route is left in flight, which is what the acknowledgement promises.
 * @module
 */
import type { BackendConn } from "../../redis/conn.ts";

/** How long a connection of an old route may take to answer the drain's PING before it is dropped (ms). */
export const DRAIN_PING_MS = 5000;

/** Resolves once `c` answered a PING sent behind its requests in flight, or was dropped after `ms` without one. */
export function drainConn(c: BackendConn, ms: number = DRAIN_PING_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      c.fatal(`no answer within ${ms} ms while its slots moved (dropped so that the move completes)`);
      resolve();
    }, ms);
    c.call(0, ["PING"]).catch(() => {}).finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
