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
  proxy_tls_client_ca_file: string;
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
    "clients connect over TLS (proto_type tcp*). Deno's TLS connections have no keepalive\n" +
      "switch, so session_keepalive_period does not apply to them; session_recv_timeout closes dead ones",
    "TLS (Deno's own, rustls)",
  ),
  proxy_tls_client_ca_file: {
    kind: "string",
    def: "",
    doc: "PEM CA. When set, clients must present a certificate signed by it (mutual TLS). Deno.listenTls cannot\n" +
      "verify client certificates, so these connections go through node:tls (see bench/README.md for the cost).",
  },
  ...serverTlsKeyDefs(
    "admin",
    "the admin API is HTTPS, and so are the calls to the dashboard.\n" +
      "Deno's HTTPS server cannot ask for client certificates: callers authenticate with the xauth",
  ),
  ...caFileKeyDef("admin", "the dashboard's admin certificate (setting it alone also turns HTTPS on for those calls)"),
  ...backendTlsKeyDefs("TLS to Redis servers"),
} as { [K in keyof ProxyTlsConfig]: ConfigKeyDef };
