/**
 * The dashboard's TLS keys: its admin API (and the admin calls it makes to proxies and other dashboards), its Raft
 * transport, and its connections to Redis servers and sentinels. Kept apart from config_keys.ts, which spreads
 * them into the key table; {@link loadDashboardTls} reads the files once at start-up.
 * @module
 */
import type { ConfigKeyDef } from "../util/config_table.ts";
import {
  adminCallsTls,
  backendTls,
  backendTlsKeyDefs,
  caFileKeyDef,
  fileKeys,
  readCaCerts,
  readCertifiedKey,
  serverTlsKeyDefs,
  type TlsCertifiedKey,
  type TlsClientOptions,
} from "../util/tls.ts";

/** The TLS part of the dashboard configuration (file paths; empty means unset). */
export interface DashboardTlsConfig {
  admin_tls_cert_file: string;
  admin_tls_key_file: string;
  admin_tls_ca_file: string;
  raft_tls_cert_file: string;
  raft_tls_key_file: string;
  raft_tls_ca_file: string;
  backend_tls: boolean;
  backend_tls_ca_file: string;
  backend_tls_cert_file: string;
  backend_tls_key_file: string;
}

/** Key table entries of {@link DashboardTlsConfig}. */
export const TLS_KEYS: { [K in keyof DashboardTlsConfig]: ConfigKeyDef } = {
  ...serverTlsKeyDefs(
    "admin",
    "the dashboard API (and /api/store) is HTTPS, and so are the calls to proxies and dashboards.\n" +
      "Deno's HTTPS server cannot ask for client certificates: the xauth and signed store requests authenticate",
    "TLS (Deno's own, rustls)",
  ),
  ...caFileKeyDef("admin", "the admin certificates of proxies and other dashboards"),
  ...serverTlsKeyDefs(
    "raft",
    "the Raft transport runs over TLS (set it on every member); the\n" +
      "cluster_secret's handshake and per-frame MACs still authenticate peers inside it",
  ),
  ...caFileKeyDef("raft", "the other members' raft_tls certificates"),
  ...backendTlsKeyDefs("TLS to Redis servers and sentinels"),
} as { [K in keyof DashboardTlsConfig]: ConfigKeyDef };

/** The Raft transport's TLS: this member's certificate, and the roots its peers' certificates chain to. */
export interface RaftTls extends TlsCertifiedKey {
  caCerts?: string[];
}

/** Everything TLS the dashboard serves and dials with. */
export interface DashboardTls {
  /** The API's certificate and key; null: plain HTTP. */
  admin: TlsCertifiedKey | null;
  /** How admin calls to proxies and dashboards are made: HTTPS with these roots, or plain HTTP (null). */
  adminCalls: TlsClientOptions | null;
  /** How Redis servers and sentinels are reached: TLS with these options, or plain TCP (null). */
  backend: TlsClientOptions | null;
}

/** Reads the admin and backend TLS files; throws a TlsConfigError naming the key at fault. */
export function loadDashboardTls(config: DashboardTlsConfig): DashboardTls {
  return {
    admin: readCertifiedKey(fileKeys(config), "admin_tls_cert_file", "admin_tls_key_file"),
    adminCalls: adminCallsTls(config),
    backend: backendTls(config),
  };
}

/** The Raft transport's TLS from `raft_tls_*`, or null for plain TCP. */
export function raftTls(config: DashboardTlsConfig): RaftTls | null {
  const files = fileKeys(config);
  const key = readCertifiedKey(files, "raft_tls_cert_file", "raft_tls_key_file");
  if (key === null) {
    if (files.raft_tls_ca_file) throw new Error("raft_tls_ca_file is set but raft_tls_cert_file is not");
    return null;
  }
  return { ...key, caCerts: readCaCerts(files, "raft_tls_ca_file") };
}
