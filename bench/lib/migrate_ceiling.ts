/**
 * The ceiling of a slot move: the same keys moved by `MIGRATE host port "" db timeout KEYS ...` in batches, every
 * batch written at once on one connection (Redis runs them one after the other), with no SCAN and no waiting for
 * acknowledgements. The executor's keys/s is measured against it in the same run.
 * @module
 */
import { BackendConn } from "../../redis/conn.ts";
import { encodeCommand } from "../../redis/encode.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";

/** One ceiling run: wall time from the first write to the last reply. */
export interface CeilingRun {
  keys: number;
  ms: number;
}

/** Moves keys `key(0)`..`key(n - 1)` of database `db` from `from` to `to` in `batch`-key MIGRATEs, all pipelined. */
export async function migrateCeiling(
  from: string,
  to: string,
  db: number,
  key: (i: number) => string,
  n: number,
  batch: number,
  auth = "",
): Promise<CeilingRun> {
  const conn = new BackendConn(from, {
    auth,
    maxPipeline: 1 << 16,
    minBackoffMs: 50,
    maxBackoffMs: 1000,
    connectTimeoutMs: 5000,
  });
  try {
    await conn.connect();
    const i = to.lastIndexOf(":");
    const head = ["MIGRATE", to.slice(0, i), to.slice(i + 1), "", String(db), "30000"];
    if (auth) head.push("AUTH", auth);
    head.push("KEYS");
    // Encoded before the clock starts: the ceiling is the servers' part only.
    const cmds: Uint8Array[] = [];
    for (let k = 0; k < n; k += batch) {
      const args = head.slice();
      for (let j = k; j < Math.min(n, k + batch); j++) args.push(key(j));
      cmds.push(encodeCommand(args));
    }
    const t0 = performance.now();
    const replies = await Promise.all(cmds.map((c) => conn.callEncoded(db, c)));
    const ms = performance.now() - t0;
    const bad = replies.find((r) => isErrorReply(r));
    if (bad) throw new Error(`MIGRATE ${from} → ${to}: ${errorText(bad)}`);
    return { keys: n, ms };
  } finally {
    conn.close();
  }
}
