/**
 * `backend_write_acks` for blocking commands that write (BLMOVE, BRPOPLPUSH, BLPOP, BZPOPMIN, BLMPOP, BZMPOP,
 * XREADGROUP ... BLOCK): they run on the session's dedicated connection, not on a write connection, so their reply
 * is held here until a `WAIT` sent on that same connection after it confirms the replicas hold what it changed. A
 * reply that changed nothing (an error, or nil after the timeout) is answered at once.
 * @module
 */
import type { BackendConn } from "../../redis/conn.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";
import type { WriteAcks } from "../backend/write_acks.ts";
import { ackedCommand } from "../commands/flags.ts";
import type { CommandTable } from "../commands/mod.ts";

/** Whether command `name`'s reply must wait for the replicas (write acks on, and the command writes). */
export function blockingWaits(acks: WriteAcks | null, commands: CommandTable, name: string): boolean {
  if (acks === null) return false;
  const info = commands.get(name);
  return info !== undefined && ackedCommand(info);
}

/** A nil reply: RESP2 null bulk or array, RESP3 null. */
function isNil(raw: Uint8Array): boolean {
  if (raw[0] === 95) return true; // "_"
  return (raw[0] === 42 || raw[0] === 36) && raw[1] === 45 && raw[2] === 49; // "*-1", "$-1"
}

/**
 * Answers `reply` with `raw` once `WAIT` on `conn` says the replicas hold it, or with the unknown-outcome error when
 * fewer than `backend_write_acks` confirmed in time or the connection failed.
 */
export function answerAfterWait(
  acks: WriteAcks,
  conn: BackendConn,
  db: number,
  raw: Uint8Array,
  answer: (raw: Uint8Array | null, err: string | null) => void,
): void {
  if (isErrorReply(raw) || isNil(raw)) return answer(raw, null);
  const { replicas: n, timeoutMs } = acks.opts;
  const stats = acks.stats;
  const sentAt = performance.now();
  conn.call(db, ["WAIT", String(n), String(timeoutMs)]).then((w) => {
    stats.waits++;
    stats.waitUsecs += (performance.now() - sentAt) * 1000;
    if (isErrorReply(w)) {
      stats.timeouts++;
      return answer(null, `NOREPLICAS write outcome unknown: WAIT failed: ${errorText(w)}`);
    }
    const acked = Number(new TextDecoder().decode(w.subarray(1)).trim());
    if (acked >= n) return answer(raw, null);
    stats.timeouts++;
    answer(null, `NOREPLICAS write outcome unknown: ${acked} of ${n} replicas acknowledged within ${timeoutMs} ms`);
  }, (e) => answer(null, `NOREPLICAS write outcome unknown: ${(e as Error).message}`));
}
