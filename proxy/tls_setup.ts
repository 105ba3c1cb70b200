/**
 * Reads the proxy's TLS key material (see config_tls_keys.ts) once at start-up, so that a missing or malformed file
 * stops the proxy with the key's name instead of failing its first client or backend.
 * @module
 */
import {
  adminCallsTls,
  backendTls,
  fileKeys,
  readCaCerts,
  readCertifiedKey,
  type TlsCertifiedKey,
  type TlsClientOptions,
  TlsConfigError,
} from "../util/tls.ts";
import type { ProxyTlsConfig } from "./config_tls_keys.ts";

/** Everything TLS the proxy serves and dials with. */
export interface ProxyTls {
  /** The client listener's TLS; null: plain TCP. */
  clients: ClientTls | null;
  /** The admin API's certificate and key; null: plain HTTP. */
  admin: TlsCertifiedKey | null;
  /** How admin calls to the dashboard are made: over HTTPS with these roots, or plain HTTP (null). */
  adminCalls: TlsClientOptions | null;
  /** How Redis servers are reached: over TLS with these options, or plain TCP (null). */
  backend: TlsClientOptions | null;
}

/** Reads every file the TLS keys name; throws a TlsConfigError naming the key at fault. */
export function loadProxyTls(config: ProxyTlsConfig & { proto_type: string }): ProxyTls {
  return {
    clients: clientTls(config),
    admin: readCertifiedKey(fileKeys(config), "admin_tls_cert_file", "admin_tls_key_file"),
    adminCalls: adminCallsTls(config),
    backend: backendTls(config),
  };
}

/** The client listener's TLS: its certificate and key, and the CA clients' certificates must chain to, if any. */
export interface ClientTls {
  key: TlsCertifiedKey;
  /** Set for mutual TLS (`proxy_tls_client_ca_file`): clients without such a certificate are refused. */
  clientCaCerts?: string[];
}

/** The client listener's TLS from `proxy_tls_*`, or null for plain TCP; refused on a unix socket. */
export function clientTls(config: ProxyTlsConfig & { proto_type: string }): ClientTls | null {
  const files = fileKeys(config);
  const key = readCertifiedKey(files, "proxy_tls_cert_file", "proxy_tls_key_file");
  const clientCaCerts = readCaCerts(files, "proxy_tls_client_ca_file");
  if (key === null) {
    if (clientCaCerts) throw new TlsConfigError("proxy_tls_client_ca_file is set but proxy_tls_cert_file is not");
    return null;
  }
  if (config.proto_type.startsWith("unix")) {
    throw new TlsConfigError(
      "proxy_tls_cert_file needs a TCP listener (proto_type tcp, tcp4 or tcp6): Deno has no TLS over unix sockets",
    );
  }
  return { key, clientCaCerts };
}
