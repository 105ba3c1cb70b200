/**
 * How this process reaches Redis servers and sentinels: plain TCP, or TLS (`backend_tls`) with the cluster's CA and,
 * for servers that verify clients, a client certificate. One setting per process: a proxy or a dashboard serves one
 * cluster, whose servers all listen the same way, so the many places that open a Redis connection (the router's
 * pools, blocking and RESP3 sessions, the dashboard's stats, migration and sentinel I/O) do not each carry it.
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { type TlsClientOptions, tlsHostname } from "../util/tls.ts";

let redisTls: TlsClientOptions | null = null;

/** Sets how Redis connections opened from now on are made: TLS with these options, or plain TCP (null). */
export function configureRedisTls(options: TlsClientOptions | null): void {
  redisTls = options;
}

/** Whether Redis connections use TLS. */
export function redisUsesTls(): boolean {
  return redisTls !== null;
}

/**
 * Opens a connection to a Redis server. Over TLS the server's certificate must name `host` (an IP address needs an
 * IP subject alternative name) and chain to the configured CA.
 */
export function dialRedis(host: string, port: number): Promise<Deno.Conn> {
  const t = redisTls;
  if (t === null) return Deno.connect({ hostname: host, port });
  const hostname = tlsHostname(host);
  const k = t.clientKey;
  return Deno.connectTls(
    k ? { hostname, port, caCerts: t.caCerts, cert: k.cert, key: k.key } : { hostname, port, caCerts: t.caCerts },
  );
}

/** A node:net socket to a Redis server, or a node:tls one under {@link configureRedisTls}; for stream-style users. */
export function dialRedisStream(host: string, port: number): net.Socket {
  const t = redisTls;
  if (t === null) return net.connect({ host, port });
  const hostname = tlsHostname(host);
  return tls.connect({
    host: hostname,
    port,
    // node:tls verifies the name given here; an IP address is checked against the IP SANs.
    servername: net.isIP(hostname) ? undefined : hostname,
    ca: t.caCerts,
    cert: t.clientKey?.cert,
    key: t.clientKey?.key,
  });
}
