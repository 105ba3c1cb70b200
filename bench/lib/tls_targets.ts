/**
 * The bench's TLS targets: `direct-tls` (backend 1 on a second, TLS port), `proxy-tls` (codis-proxy with TLS on
 * the client side only, over the same plain backends) and `proxy-mtls` (the same, asking clients for a certificate,
 * which goes through node:tls), so that the cost of TLS shows next to twemproxy, which has none. Certificates are made at run time (testing/tls_certs.ts) and removed on exit.
 * @module
 */
import { freePort } from "../../testing/ports.ts";
import { makeTestCerts, type TestCerts, tlsCliArgs, tlsPortArgs } from "../../testing/tls_certs.ts";
import { track } from "./procs.ts";

/** The TLS targets a run asked for. */
export const TLS_TARGETS = ["direct-tls", "proxy-tls", "proxy-mtls"];

/** Certificates, the TLS port of backend 1, and what redis-benchmark and codis-proxy need to use them. */
export interface BenchTls {
  certs: TestCerts;
  /** The TLS port backend 1 listens on besides its plain one. */
  redisTlsPort: number;
  /** redis-server arguments adding that TLS port (clients need no certificate). */
  redisArgs: string[];
  /** redis-benchmark arguments for a TLS target. */
  clientArgs: string[];
  /** The same with the client certificate, for `proxy-mtls`. */
  mtlsClientArgs: string[];
  /** codis-proxy flags for TLS on its client listener. */
  proxyArgs: string[];
  /** The same plus the client CA (mutual TLS). */
  mtlsProxyArgs: string[];
}

/** Makes the certificates (removed when the harness stops) and the arguments above. */
export async function prepareBenchTls(): Promise<BenchTls> {
  const certs = await makeTestCerts();
  track(() => certs.remove());
  const redisTlsPort = freePort();
  const proxyArgs = [`--proxy_tls_cert_file=${certs.serverCertFile}`, `--proxy_tls_key_file=${certs.serverKeyFile}`];
  return {
    certs,
    redisTlsPort,
    redisArgs: tlsPortArgs(certs, redisTlsPort, false),
    clientArgs: tlsCliArgs(certs, false),
    mtlsClientArgs: tlsCliArgs(certs),
    proxyArgs,
    mtlsProxyArgs: [...proxyArgs, `--proxy_tls_client_ca_file=${certs.caFile}`],
  };
}
