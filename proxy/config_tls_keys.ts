/**
 * The proxy's TLS keys: its client listener, its admin API (and the admin calls it makes), and its connections to
 * Redis servers. Kept apart from config_keys.ts, which spreads them into the key table.
 * @module
 */
import { backendTlsKeyDefs, caFileKeyDef, serverTlsKeyDefs } from "../util/tls.ts";
import type { ConfigKeyDef } from "../util/config_table.ts";

/** The TLS part of the proxy configuration (file paths; empty means unset). */
export interface ProxyTlsConfig {
  proxy_tls_cert_file: string;
  proxy_tls_key_file: string;
  admin_tls_cert_file: string;
  admin_tls_key_file: string;
  admin_tls_ca_file: string;
  backend_tls: boolean;
  backend_tls_ca_file: string;
  backend_tls_cert_file: string;
  backend_tls_key_file: string;
}

/** Key table entries of {@link ProxyTlsConfig}. */
export const TLS_KEYS: { [K in keyof ProxyTlsConfig]: ConfigKeyDef } = {
  ...serverTlsKeyDefs(
    "proxy",
    "clients reach the proxy (proto_type tcp*)",
    "TLS (Deno's rustls; a TLS server here cannot verify client certificates, so clients authenticate with\n" +
      "session_auth, not with a certificate)",
  ),
  ...serverTlsKeyDefs("admin", "the admin API is served as HTTPS, and calls to the dashboard use HTTPS"),
  ...caFileKeyDef("admin", "the dashboard's admin certificate (setting it alone also turns HTTPS on for those calls)"),
  ...backendTlsKeyDefs("TLS to Redis servers"),
} as { [K in keyof ProxyTlsConfig]: ConfigKeyDef };
