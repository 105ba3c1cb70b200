/**
 * Draining one connection to a slot's previous backend, bounded. A routing change is acknowledged to the dashboard
 * only once the requests in flight on the old routes have completed (a PING queued behind them answers). A master
 * that is paused or cut off without a reset answers nothing: the drain, the acknowledgement and with them the
 * proxy's dashboard lease (renewed after each applied answer) would wait for `backend_recv_timeout` (30 s, as long as
 * the lease), and the proxy would refuse every slot of every group meanwhile. So a connection that does not answer
 * within the bound is dropped: its requests fail (outcome unknown, never OK), it reconnects, and no request of the old
 * route is left in flight, which is what the acknowledgement promises.
 *
 * A slot held in place (its group's master is being switched: promotion `prepared`, the barrier in front of a
 * Sentinel failover) is not drained that way: its master is the one that may be paused or cut off, and a PING would
 * only add to what it owes. Its connections are given a short grace to answer what they already owe, then dropped
 * with their requests failing (outcome unknown), so the hold is acknowledged at once and the old master receives
 * nothing new.
 * @module
 */
import type { BackendConn } from "../../redis/conn.ts";

/** How long a connection of an old route may take to answer the drain's PING before it is dropped (ms). */
export const DRAIN_PING_MS = 5000;

/**
 * How long a connection of a master being switched may take to answer the requests it already has in flight before
 * they are abandoned (ms): enough for a healthy master (an operator's promotion), far below the dashboard's wait.
 */
export const SWITCH_GRACE_MS = 100;

/** Connections dropped by a drain, for /metrics. */
export const drainCounters = {
  /** Connections dropped for not answering a drain's PING within {@link DRAIN_PING_MS}. */
  dropped: 0,
  /** Connections of a master being switched whose requests in flight were abandoned after {@link SWITCH_GRACE_MS}. */
  abandoned: 0,
};

/** Resolves once `c` answered a PING sent behind its requests in flight, or was dropped after `ms` without one. */
export function drainConn(c: BackendConn, ms: number = DRAIN_PING_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      drainCounters.dropped++;
      c.fatal(`no answer within ${ms} ms while its slots moved (dropped so that the move completes)`);
      resolve();
    }, ms);
    c.call(0, ["PING"]).catch(() => {}).finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Resolves once `c` has nothing in flight: at once when idle, when its requests are answered within `graceMs`, or
 * else after dropping it (its requests fail: outcome unknown). Sends nothing.
 */
export function abandonConn(c: BackendConn, graceMs: number = SWITCH_GRACE_MS): Promise<void> {
  const deadline = Date.now() + graceMs;
  return new Promise((resolve) => {
    const check = () => {
      if (c.inflight === 0 || (c.state !== "connected" && c.state !== "connecting")) return resolve();
      if (Date.now() >= deadline) {
        drainCounters.abandoned++;
        c.fatal(`requests in flight abandoned: its group's master is being switched (outcome unknown)`);
        return resolve();
      }
      setTimeout(check, 5);
    };
    check();
  });
}
