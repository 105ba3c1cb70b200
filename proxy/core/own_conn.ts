/**
 * The options of a session's own backend connection (a blocking command's, or a RESP3 client's for push replies):
 * the same as the shared pools' but for the keepalive PING and the reply timeout, which a blocked command would trip.
 * @module
 */
import type { BackendOptions } from "../../redis/conn.ts";
import type { ProxyConfig } from "./config.ts";

/** Backend options of a connection that one session owns. */
export function ownConnOptions(cfg: ProxyConfig): BackendOptions {
  return {
    auth: cfg.product_auth,
    maxPipeline: cfg.backend_max_pipeline,
    minBackoffMs: 50,
    maxBackoffMs: 1000,
    connectTimeoutMs: cfg.backend_connect_timeout,
    // No keepalive PING or reply timeout here (a blocked command legitimately answers late); TCP keepalive is what
    // notices a server that vanished under it.
    keepAlive: cfg.backend_keepalive_period > 0,
  };
}
