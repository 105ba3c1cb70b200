/**
 * WAIT numreplicas timeout, for real: the session's earlier writes have been answered (the session holds its later
 * requests meanwhile), then on a fresh connection to every master the proxy writes a marker (`PUBLISH` on a proxy
 * channel, which replicates and sets that connection's replication offset past every earlier write) and runs Redis's
 * own `WAIT` there, so the masters ask their replicas for acknowledgements as usual. The reply is the smallest count:
 * the number of replicas that acknowledged in every group. Shared connections never block.
 * @module
 */
import { BackendConn } from "../../redis/conn.ts";
import type { ProxyCore } from "../core.ts";
import { errorText, integerOf, isErrorReply } from "../../redis/decode.ts";
import { errorReply, integerReply } from "../../redis/encode.ts";
import { parseIntStrict } from "../../util/bytes.ts";
import { masters } from "../keyspace/fanout.ts";

/** The channel of the marker write. */
export const WAIT_CHANNEL = "__codis_proxy_wait__";

/** Runs WAIT; `conns` collects the temporary connections so that a closing session can drop them. */
export async function waitCommand(core: ProxyCore, argv: Uint8Array[], conns: Set<BackendConn>): Promise<Uint8Array> {
  const n = parseIntStrict(argv[1], 0, argv[1].length);
  const timeout = parseIntStrict(argv[2], 0, argv[2].length);
  if (n === null || timeout === null) return errorReply("ERR value is not an integer or out of range");
  if (timeout < 0) return errorReply("ERR timeout is negative");
  const pools = masters(core);
  if (pools.length === 0) return errorReply("ERR no backend serves any slot yet");
  const cfg = core.config;
  const counts = await Promise.all(pools.map(async (pool) => {
    const conn = new BackendConn(pool.addr, {
      auth: cfg.product_auth,
      maxPipeline: 4,
      minBackoffMs: 50,
      maxBackoffMs: 1000,
      connectTimeoutMs: cfg.backend_connect_timeout,
      // No keepalive PING or reply timeout here (a blocked command legitimately answers late); TCP keepalive is what
      // notices a server that vanished under it.
      keepAlive: cfg.backend_keepalive_period > 0,
    });
    conns.add(conn);
    try {
      await conn.connect();
      const marker = conn.call(0, ["PUBLISH", WAIT_CHANNEL, ""]);
      const raw = await conn.call(0, ["WAIT", String(n), String(timeout)]);
      await marker;
      if (isErrorReply(raw)) throw new Error(`backend ${pool.addr}: ${errorText(raw)}`);
      return integerOf(raw);
    } finally {
      conns.delete(conn);
      conn.close();
    }
  }));
  return integerReply(Math.min(...counts));
}
