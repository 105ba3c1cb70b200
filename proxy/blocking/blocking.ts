/**
 * Blocking commands (BLPOP, BLMOVE, BZPOPMIN, XREAD ... BLOCK, ...) whose keys share a slot. They run on a connection
 * dedicated to the session, so they never stall the shared pipelined connections.
 *
 * If the slot moves to another group while the command blocks, the command would wait on a master that no longer
 * receives the slot's writes: the proxy then unblocks it with `CLIENT UNBLOCK id ERROR` (which never loses an element:
 * the server either unblocks the client or has already answered) and runs it again on the slot's new master, after
 * moving its keys there. In a locked or migrating slot, an EXISTS on the shared path first waits for the lock to end
 * and moves the keys to the target, as any request in that slot would.
 * @module
 */
import type { BackendConn } from "../../redis/conn.ts";
import type { ProxyCore } from "../core/core.ts";
import type { Request } from "../forward/request.ts";
import { errorText, integerOf, isErrorReply } from "../../redis/decode.ts";
import { encodeCommand } from "../../redis/encode.ts";
import { answerAfterWait, blockingWaits } from "./blocking_acks.ts";

const EXISTS = new TextEncoder().encode("EXISTS");
/** How often a blocked command checks that its slot still routes to the same master. */
const ROUTE_CHECK_MS = 100;
/** Re-runs after a slot move, at most (a slot moving back and forth must not loop forever). */
const MAX_RERUNS = 8;

/** What the session gives a blocking command. */
export interface BlockingHost {
  readonly core: ProxyCore;
  /** The session's dedicated connection to `addr`. */
  dedicated(addr: string): BackendConn;
  /** True once the session is closed: a re-run would open a connection nobody answers to, or frees. */
  closed(): boolean;
}

/** Runs a blocking command; sets `req`'s reply, then calls `done` (the session's later requests may go). */
export function runBlocking(
  host: BlockingHost,
  slot: number,
  raw: Uint8Array,
  keys: Uint8Array[],
  req: Request,
  done: () => void,
): void {
  const core = host.core;
  const route = core.router.slots[slot];
  let reruns = 0;
  // backend_write_acks: a blocking command that writes is answered after a WAIT on its connection.
  const acks = core.writeAcks;
  const waits = blockingWaits(acks, core.commands, req.name);

  const run = (): void => {
    const pool = route.backend;
    if (host.closed()) {
      // Its dedicated connection was closed with the session while the command was being moved: run it nowhere.
      req.onError("ERR the session is closed");
      return done();
    }
    if (pool === null) {
      req.onError(`ERR slot ${slot} is not ready, may be offline`);
      return done();
    }
    const conn = host.dedicated(pool.addr);
    let clientId = -1;
    let unblocking = false;
    conn.call(slot, ["CLIENT", "ID"]).then((r) => clientId = integerOf(r), () => {});
    const timer = setInterval(() => {
      if (unblocking || clientId < 0 || route.backend === pool) return;
      unblocking = true;
      // The old master's shared connection may already be retired: then dropping ours unblocks the command too.
      pool.connFor(slot).call(slot, ["CLIENT", "UNBLOCK", String(clientId), "ERROR"]).catch(() => conn.close());
    }, ROUTE_CHECK_MS);
    conn.send(slot, raw, {
      onReply(r: Uint8Array) {
        clearInterval(timer);
        if (unblocking && isErrorReply(r) && errorText(r).startsWith("UNBLOCKED") && reruns++ < MAX_RERUNS) {
          return prepare();
        }
        if (!waits) {
          req.onReply(r);
          return done();
        }
        answerAfterWait(acks!, conn, slot, r, (raw, err) => {
          if (raw !== null) req.onReply(raw);
          else req.onError(err!);
          done();
        });
      },
      onError(m: string) {
        clearInterval(timer);
        if (unblocking && reruns++ < MAX_RERUNS) return prepare();
        req.onError(m);
        done();
      },
    });
  };

  const prepare = (): void => {
    if (!route.locked && route.migrateFrom === null) return run();
    const args = [EXISTS, ...keys];
    const keyRef = { argv: args, pos: Int32Array.from(keys, (_, i) => i + 1), n: keys.length };
    core.send(slot, encodeCommand(args), { onReply: run, onError: run }, keyRef);
  };

  prepare();
}
