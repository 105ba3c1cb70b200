/**
 * TLS key material for every role, read from PEM files named by config keys (`*_tls_cert_file`,
 * `*_tls_key_file`, `*_tls_ca_file`), and the config-table entries for those keys. Deno's own TLS (rustls) does the
 * rest: `Deno.listenTls` / `Deno.serve({cert, key})` on the serving side, `Deno.connectTls` / an HTTP client with
 * `caCerts` on the calling side.
 *
 * What Deno 2.9 cannot do, and so no key offers: a TLS server that asks for and verifies client certificates.
 * `Deno.listenTls` and `Deno.serve` take only `cert`, `key` and `alpnProtocols`, and a `Deno.TlsConn` shows nothing
 * of the peer's certificate, so mutual TLS is available only where this code is the client (to Redis servers with
 * `tls-auth-clients yes`, and to any HTTPS endpoint), never where it serves.
 * @module
 */
import type { ConfigKeyDef } from "./config_table.ts";

/** A certificate chain and its private key, PEM, for a TLS server (or a client certificate). */
export interface TlsCertifiedKey {
  cert: string;
  key: string;
}

/** What a TLS client needs: extra roots to trust and, for servers that ask for one, a client certificate. */
export interface TlsClientOptions {
  /** PEM roots trusted in addition to the system's (the cluster's own CA). */
  caCerts?: string[];
  /** A client certificate, for servers that verify clients (Redis's `tls-auth-clients yes`). */
  clientKey?: TlsCertifiedKey;
}

/** An error naming the config key whose file is missing or not what it should be. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

function readPem(file: string, key: string, marker: RegExp, what: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    throw new TlsConfigError(`${key}: cannot read ${file}: ${(e as Error).message}`);
  }
  if (!marker.test(text)) throw new TlsConfigError(`${key}: ${file} holds no PEM ${what}`);
  return text;
}

const CERT_PEM = /-----BEGIN CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * Reads a certificate chain and key from the files named by `certKey` and `keyKey` (`files` maps key names to
 * paths). Both empty: null (no TLS). One without the other, an unreadable file, a file that is not PEM, or an
 * encrypted key (which rustls cannot use): a {@link TlsConfigError} naming the key.
 */
export function readCertifiedKey(
  files: Record<string, string>,
  certKey: string,
  keyKey: string,
): TlsCertifiedKey | null {
  const certFile = files[certKey] ?? "";
  const keyFile = files[keyKey] ?? "";
  if (certFile === "" && keyFile === "") return null;
  if (certFile === "") throw new TlsConfigError(`${keyKey} is set but ${certKey} is not: set both or neither`);
  if (keyFile === "") throw new TlsConfigError(`${certKey} is set but ${keyKey} is not: set both or neither`);
  const cert = readPem(certFile, certKey, CERT_PEM, "certificate");
  const key = readPem(keyFile, keyKey, KEY_PEM, "private key");
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) {
    throw new TlsConfigError(`${keyKey}: ${keyFile} is encrypted; give an unencrypted key (mode 0600)`);
  }
  return { cert, key };
}

/** Reads the CA bundle named by `caKey`; empty: undefined (the system's roots only). */
export function readCaCerts(files: Record<string, string>, caKey: string): string[] | undefined {
  const file = files[caKey] ?? "";
  if (file === "") return undefined;
  return [readPem(file, caKey, CERT_PEM, "certificate")];
}

/** `host` as `Deno.connectTls` wants it: without the brackets of an IPv6 literal. */
export function tlsHostname(host: string): string {
  return host.replace(/^\[|\]$/g, "");
}

/**
 * Config-table entries for a TLS server's certificate and key files: `${prefix}_tls_cert_file` and
 * `${prefix}_tls_key_file`. `what` says what is served over TLS when they are set.
 */
export function serverTlsKeyDefs(prefix: string, what: string, section?: string): Record<string, ConfigKeyDef> {
  return {
    [`${prefix}_tls_cert_file`]: {
      ...(section ? { section } : {}),
      kind: "string",
      def: "",
      doc: `PEM certificate chain. When set (with ${prefix}_tls_key_file): ${what}. Empty: no TLS.`,
    },
    [`${prefix}_tls_key_file`]: {
      kind: "string",
      def: "",
      doc: `PEM private key (unencrypted; keep the file 0600) of ${prefix}_tls_cert_file.`,
    },
  };
}

/** Config-table entries for `${prefix}_tls_ca_file`: the CA that signs the certificates of `whose`. */
export function caFileKeyDef(prefix: string, whose: string): Record<string, ConfigKeyDef> {
  return {
    [`${prefix}_tls_ca_file`]: {
      kind: "string",
      def: "",
      doc: `PEM CA certificate(s) trusted, besides the system's roots, for ${whose}.`,
    },
  };
}

/** The `backend_tls*` keys, shared by the proxy and the dashboard: how this process reaches Redis servers. */
export function backendTlsKeyDefs(section: string): Record<string, ConfigKeyDef> {
  return {
    backend_tls: {
      section,
      kind: "bool",
      def: false,
      doc: "Connect to Redis servers (and sentinels) over TLS: they listen with tls-port. Every server of the\n" +
        "cluster then needs it, with tls-replication yes (replicas) and tls-cluster yes (MIGRATE between servers\n" +
        "picks TLS by tls-cluster in Redis 7.0, even outside cluster mode) on the servers. TLS connections have no\n" +
        "TCP keepalive in Deno: backend_ping_period is what notices a server that vanished.",
    },
    ...caFileKeyDef("backend", "the Redis servers' certificates"),
    backend_tls_cert_file: {
      kind: "string",
      def: "",
      doc: "PEM client certificate presented to Redis servers, which ask for one by default (tls-auth-clients yes).",
    },
    backend_tls_key_file: { kind: "string", def: "", doc: "PEM private key of backend_tls_cert_file." },
  };
}

/** The string values of a parsed config, for the readers above (which look keys up by name). */
export function fileKeys(config: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (typeof v === "string") out[k] = v;
  return out;
}

/** The `backend_tls*` keys' values. */
export interface BackendTlsConfig {
  backend_tls: boolean;
  backend_tls_ca_file: string;
  backend_tls_cert_file: string;
  backend_tls_key_file: string;
}

/** The Redis-side TLS options of `backend_tls*`, or null when `backend_tls` is off (and no file key is set). */
export function backendTls(config: BackendTlsConfig): TlsClientOptions | null {
  const files = fileKeys(config);
  if (!config.backend_tls) {
    const stray = ["backend_tls_ca_file", "backend_tls_cert_file", "backend_tls_key_file"].find((k) => files[k]);
    if (stray) throw new TlsConfigError(`${stray} is set but backend_tls is false: set backend_tls = true`);
    return null;
  }
  return {
    caCerts: readCaCerts(files, "backend_tls_ca_file"),
    clientKey: readCertifiedKey(files, "backend_tls_cert_file", "backend_tls_key_file") ?? undefined,
  };
}

/**
 * How a role makes admin calls (to dashboards and proxies): HTTPS when its own admin API is HTTPS
 * (`admin_tls_cert_file`) or `admin_tls_ca_file` is set, trusting that CA; else plain HTTP (null).
 */
export function adminCallsTls(
  config: { admin_tls_cert_file: string; admin_tls_ca_file: string },
): TlsClientOptions | null {
  if (config.admin_tls_cert_file === "" && config.admin_tls_ca_file === "") return null;
  return { caCerts: readCaCerts(fileKeys(config), "admin_tls_ca_file") };
}
