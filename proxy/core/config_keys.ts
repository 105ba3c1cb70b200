/**
 * The proxy configuration's key table: every key's type, default (in TOML form), bounds and documentation.
 * config.ts derives defaults, validation, flags and the default TOML from it.
 * @module
 */
import { secretFileDoc, secretSpec } from "../../util/secrets.ts";
import { checkHostPort, type ConfigKeyDef as KeyDef, type ConfigKind as Kind } from "../../util/config_table.ts";

import { type ProxyTlsConfig, TLS_KEYS } from "./config_tls_keys.ts";
import { OPS_KEYS, type ProxyOpsConfig } from "./config_ops_keys.ts";
import { LOAD_KEYS, type ProxyLoadConfig } from "./config_load_keys.ts";
import { METRICS_KEYS, type ProxyMetricsConfig } from "./config_metrics_keys.ts";

export { checkHostPort, type KeyDef, type Kind };

/** The parsed proxy configuration. Durations are milliseconds, sizes are bytes. */
export interface ProxyConfig extends ProxyTlsConfig, ProxyOpsConfig, ProxyLoadConfig, ProxyMetricsConfig {
  /** Cluster (product) name; must match the dashboard's. */
  product_name: string;
  /** Shared secret of dashboard, proxies and servers: sent as AUTH to backends, part of the admin xauth. */
  product_auth: string;
  /** Password clients must AUTH with at this proxy (independent of product_auth). */
  session_auth: string;
  /** A file holding product_auth (used when product_auth is empty; one trailing newline is dropped). */
  product_auth_file: string;
  /** A file holding session_auth (used when session_auth is empty; one trailing newline is dropped). */
  session_auth_file: string;
  /** Admin HTTP API listen address (HOST:PORT). */
  admin_addr: string;
  /** Client listener type: tcp, tcp4, tcp6, or unix (proxy_addr is then the socket's path). */
  proto_type: "tcp" | "tcp4" | "tcp6" | "unix" | "unixpacket";
  /** Client listen address (HOST:PORT, or a socket path for unix). */
  proxy_addr: string;
  /** With proto_type = unix: the socket file's permissions, in octal (like Redis's unixsocketperm). */
  proxy_unixsocket_perm: string;
  /** Coordinator type: zookeeper or etcd. */
  jodis_name: string;
  /** Coordinator address list; empty disables Jodis registration. */
  jodis_addr: string;
  /** Coordinator credentials, user:password. */
  jodis_auth: string;
  /** A file holding jodis_auth (used when jodis_auth is empty; one trailing newline is dropped). */
  jodis_auth_file: string;
  /** Coordinator session timeout (zookeeper) or TTL (etcd). */
  jodis_timeout: number;
  /** Register under Codis 2's path /zk/codis/db_{product}/proxy/{token} instead of /jodis/{product}/proxy-{token}. */
  jodis_compatible: boolean;
  /** Datacenter label, used to prefer nearby replicas for reads. */
  proxy_datacenter: string;
  /** Maximum live client sessions; further clients get an error and are closed. */
  proxy_max_clients: number;
  /**
   * Threads serving clients, each with its own event loop and backend connections, sharing the listener
   * (SO_REUSEPORT); set it to the cores the proxy may use.
   */
  proxy_workers: number;
  /** Allow FLUSHALL/FLUSHDB through the proxy. */
  proxy_allow_flush: boolean;
  /** Allow CONFIG SET and CONFIG RESETSTAT through the proxy (sent to every server of every group). */
  proxy_allow_config_set: boolean;
  /**
   * A proxy following a dashboard that has not reached the active one for this long stops serving slots (clients get
   * "proxy lease expired") until it reaches one again; the dashboard waits this long before it moves a slot past a
   * removed proxy.
   */
  dashboard_lease_timeout: number;
  /** Keepalive PING period on idle backend connections. */
  backend_ping_period: number;
  /** Time allowed to connect (and AUTH/SELECT) to a backend before the attempt counts as failed. */
  backend_connect_timeout: number;
  /** Accepted for Codis compatibility; backend reads use 64 KiB slabs. */
  backend_recv_bufsize: number;
  /**
   * A backend connection with requests in flight that reads nothing for this long is dropped: its requests fail with
   * an error and it reconnects.
   */
  backend_recv_timeout: number;
  /** Accepted for Codis compatibility; no effect. */
  backend_send_bufsize: number;
  /**
   * Accepted for Codis compatibility: a write that cannot complete gets no reply, which backend_recv_timeout catches.
   */
  backend_send_timeout: number;
  /** Maximum in-flight requests per backend connection. */
  backend_max_pipeline: number;
  /** Never read from replica groups. */
  backend_primary_only: boolean;
  /**
   * Answer a write only once this many replicas of its group hold it (Redis's WAIT, one per batch of writes), so that
   * a failover loses no acknowledged write.
   */
  backend_write_acks: number;
  /** How long a write waits for backend_write_acks replicas before it gets the unknown-outcome error. */
  backend_write_acks_timeout: number;
  /** Connections per master; a slot always uses the same one, so its requests stay in order. */
  backend_primary_parallel: number;
  /** Connections per replica that reads go to. */
  backend_replica_parallel: number;
  /** Non-zero turns TCP keepalive on for backend connections (the probe period is the OS's). */
  backend_keepalive_period: number;
  /** Accepted for Codis compatibility; with one database per slot, backends need databases 1024. */
  backend_number_databases: number;
  /** Accepted for Codis compatibility; client reads use small slabs that grow for bursts. */
  session_recv_bufsize: number;
  /** Client idle timeout: a session that sends nothing for this long is closed. */
  session_recv_timeout: number;
  /** Accepted for Codis compatibility; no effect. */
  session_send_bufsize: number;
  /** A client whose replies wait this long to be read (a full socket buffer) is closed. */
  session_send_timeout: number;
  /**
   * Requests in flight per client (pipeline depth); beyond it the proxy stops reading from that client until replies
   * drain (Codis closed the session instead).
   */
  session_max_pipeline: number;
  /** Maximum length of one bulk string in a request (like Redis's proto-max-bulk-len). */
  session_max_bulk_len: number;
  /** Maximum number of arguments in one request, command name included. */
  session_max_args: number;
  /**
   * A subscribed client whose unsent output reaches this is closed (Redis's client-output-buffer-limit pubsub hard
   * limit).
   */
  session_pubsub_hard_limit: number;
  /**
   * A subscribed client whose unsent output stays at or over this for longer than session_pubsub_soft_time is closed
   * (Redis's soft limit).
   */
  session_pubsub_soft_limit: number;
  /** How long a subscribed client may stay over session_pubsub_soft_limit (Redis's soft seconds). */
  session_pubsub_soft_time: number;
  /** Non-zero turns TCP keepalive on for client connections (the probe period is the OS's). */
  session_keepalive_period: number;
  /** Close the client connection instead of replying -ERR when a request fails. */
  session_break_on_failure: boolean;
  /** Serve TCP (IPv4) clients from the proxy's own epoll set through libc (Linux; needs --allow-ffi). */
  session_epoll: boolean;
  /**
   * With session_epoll, up to this many client connections are handed to the runtime's own reactor, which wakes the
   * event loop without the epoll set's thread hop; 0 keeps every connection in the epoll set.
   */
  session_epoll_direct: number;
}

/** Key table: drives defaults, validation, flags and the default TOML, so all four stay in step. */
export const KEYS: { [K in keyof ProxyConfig]: KeyDef } = {
  product_name: {
    section: "Product",
    kind: "string",
    def: "codis-demo",
    doc: "Cluster (product) name; must match the dashboard's. Letters, digits, '_', '.', '-'.",
    check: (v) => /^\w[\w.\-]*$/.test(v) ? undefined : `"${v}" must match ^\\w[\\w\\.\\-]*$`,
  },
  product_auth: {
    secret: true,
    kind: "string",
    def: "",
    doc: "Shared secret of dashboard, proxies and servers: sent as AUTH to backends, part of the admin xauth.\n" +
      "Required when admin_addr is not a loopback address (the proxy refuses to start without it).",
  },
  session_auth: {
    secret: true,
    kind: "string",
    def: "",
    doc: "Password clients must AUTH with at this proxy (independent of product_auth). Empty: no AUTH needed.",
  },
  product_auth_file: { kind: "string", def: "", doc: secretFileDoc(secretSpec("product_auth")) },
  session_auth_file: { kind: "string", def: "", doc: secretFileDoc(secretSpec("session_auth")) },
  admin_addr: {
    section: "Listeners",
    kind: "string",
    def: "0.0.0.0:11080",
    doc: "Admin HTTP API listen address (HOST:PORT).",
    check: checkHostPort,
  },
  proto_type: {
    kind: "string",
    def: "tcp4",
    doc: "Client listener type: tcp, tcp4, tcp6, or unix (proxy_addr is then the socket's path).\n" +
      "unixpacket is refused: Deno has no SOCK_SEQPACKET.",
    check: (v) =>
      ["tcp", "tcp4", "tcp6", "unix", "unixpacket"].includes(v)
        ? undefined
        : `"${v}" is not one of tcp, tcp4, tcp6, unix, unixpacket`,
  },
  proxy_addr: {
    kind: "string",
    def: "0.0.0.0:19000",
    doc: "Client listen address (HOST:PORT, or a socket path for unix).",
    check: (v) => v === "" ? "must not be empty" : undefined,
  },
  proxy_unixsocket_perm: {
    kind: "string",
    def: "0700",
    doc: "With proto_type = unix: the socket file's permissions, in octal (like Redis's unixsocketperm).\n" +
      "Connecting needs write permission: 0700 lets only this user in, 0770 also its group.",
    check: (v) => /^0?[0-7]{3}$/.test(v) ? undefined : `"${v}" is not an octal mode such as "0700" or "0770"`,
  },
  jodis_name: {
    section: "Jodis registration (proxy discovery for Jodis clients)",
    kind: "string",
    def: "",
    doc: "Coordinator type: zookeeper or etcd. Only used when jodis_addr is set.",
    check: (v) => ["", "zookeeper", "zk", "etcd"].includes(v) ? undefined : `"${v}" is not zookeeper or etcd`,
  },
  jodis_addr: { kind: "string", def: "", doc: "Coordinator address list; empty disables Jodis registration." },
  jodis_auth: { secret: true, kind: "string", def: "", doc: "Coordinator credentials, user:password." },
  jodis_auth_file: { kind: "string", def: "", doc: secretFileDoc(secretSpec("jodis_auth")) },
  jodis_timeout: { kind: "duration", def: "20s", doc: "Coordinator session timeout (zookeeper) or TTL (etcd)." },
  jodis_compatible: {
    kind: "bool",
    def: false,
    doc:
      "Register under Codis 2's path /zk/codis/db_{product}/proxy/{token} instead of /jodis/{product}/proxy-{token}.",
  },
  proxy_datacenter: {
    section: "Proxy",
    kind: "string",
    def: "",
    doc: "Datacenter label, used to prefer nearby replicas for reads.",
  },
  proxy_max_clients: {
    kind: "int",
    def: 1000,
    min: 0,
    doc: "Maximum live client sessions; further clients get an error and are closed. 0 means no limit.",
  },
  proxy_workers: {
    kind: "int",
    def: 1,
    min: 1,
    max: 256,
    doc: "Threads serving clients, each with its own event loop and backend connections, sharing the listener\n" +
      "(SO_REUSEPORT); set it to the cores the proxy may use. The admin API and stats cover all of them.",
  },
  proxy_allow_flush: {
    kind: "bool",
    def: false,
    doc: "Allow FLUSHALL/FLUSHDB through the proxy. Refused by default, as in Codis.",
  },
  proxy_allow_config_set: {
    kind: "bool",
    def: false,
    doc: "Allow CONFIG SET and CONFIG RESETSTAT through the proxy: sent to every server of every group, masters\n" +
      "and replicas. Configs the cluster depends on (dir, dbfilename, databases, requirepass, masterauth,\n" +
      "replicaof, hz below 100, ...) are refused even then.",
  },
  dashboard_lease_timeout: {
    kind: "duration",
    def: "30s",
    doc: "A proxy following a dashboard that has not reached the active one for this long stops serving slots\n" +
      '(clients get "proxy lease expired") until it reaches one again; the dashboard waits this long before it\n' +
      "moves a slot past a removed proxy. 0 disables: a cut-off proxy serves its old model, as in Codis.",
  },
  backend_ping_period: {
    section: "Backends (Redis servers)",
    kind: "duration",
    def: "5s",
    doc: "Keepalive PING period on idle backend connections. 0 disables.",
  },
  backend_connect_timeout: {
    kind: "duration",
    def: "5s",
    doc: "Time allowed to connect (and AUTH/SELECT) to a backend before the attempt counts as failed.",
  },
  backend_recv_bufsize: {
    kind: "size",
    def: "128kb",
    doc: "Accepted for Codis compatibility; backend reads use 64 KiB slabs.",
  },
  backend_recv_timeout: {
    kind: "duration",
    def: "30s",
    doc: "A backend connection with requests in flight that reads nothing for this long is dropped: its requests\n" +
      "fail with an error and it reconnects. 0 disables.",
  },
  backend_send_bufsize: { kind: "size", def: "128kb", doc: "Accepted for Codis compatibility; no effect." },
  backend_send_timeout: {
    kind: "duration",
    def: "30s",
    doc: "Accepted for Codis compatibility: a write that cannot complete gets no reply, which\n" +
      "backend_recv_timeout catches.",
  },
  backend_max_pipeline: { kind: "int", def: 20480, min: 0, doc: "Maximum in-flight requests per backend connection." },
  backend_primary_only: { kind: "bool", def: false, doc: "Never read from replica groups." },
  backend_write_acks: {
    kind: "int",
    def: 0,
    min: 0,
    doc: "Answer a write only once this many replicas of its group hold it (Redis's WAIT, one per batch of\n" +
      "writes), so that a failover loses no acknowledged write. Fewer within backend_write_acks_timeout: the\n" +
      "write's outcome is unknown and it gets a NOREPLICAS error, never OK. 0: answer once the master has it.",
  },
  backend_write_acks_timeout: {
    kind: "duration",
    def: "1s",
    min: 1,
    doc: "How long a write waits for backend_write_acks replicas before it gets the unknown-outcome error.",
  },
  backend_primary_parallel: {
    kind: "int",
    def: 1,
    min: 0,
    doc: "Connections per master; a slot always uses the same one, so its requests stay in order.",
  },
  backend_replica_parallel: { kind: "int", def: 1, min: 0, doc: "Connections per replica that reads go to." },
  backend_keepalive_period: {
    kind: "duration",
    def: "75s",
    doc: "Non-zero turns TCP keepalive on for backend connections (the probe period is the OS's). 0 disables.",
  },
  backend_number_databases: {
    kind: "int",
    def: 16,
    min: 1,
    doc: "Accepted for Codis compatibility; with one database per slot, backends need databases 1024.",
  },
  session_recv_bufsize: {
    section: "Client sessions",
    kind: "size",
    def: "128kb",
    doc: "Accepted for Codis compatibility; client reads use small slabs that grow for bursts.",
  },
  session_recv_timeout: {
    kind: "duration",
    def: "30m",
    doc: "Client idle timeout: a session that sends nothing for this long is closed. 0 disables.",
  },
  session_send_bufsize: { kind: "size", def: "64kb", doc: "Accepted for Codis compatibility; no effect." },
  session_send_timeout: {
    kind: "duration",
    def: "30s",
    doc: "A client whose replies wait this long to be read (a full socket buffer) is closed. 0 disables.",
  },
  session_max_pipeline: {
    kind: "int",
    def: 10000,
    min: 1,
    doc: "Requests in flight per client (pipeline depth); beyond it the proxy stops reading from that client\n" +
      "until replies drain (Codis closed the session instead).",
  },
  session_max_bulk_len: {
    kind: "size",
    def: "512mb",
    min: 1,
    doc: "Maximum length of one bulk string in a request (like Redis's proto-max-bulk-len).",
  },
  session_max_args: {
    kind: "int",
    def: 1048576,
    min: 1,
    doc: "Maximum number of arguments in one request, command name included.",
  },
  session_pubsub_hard_limit: {
    kind: "size",
    def: "32mb",
    doc: "A subscribed client whose unsent output reaches this is closed (Redis's client-output-buffer-limit\n" +
      "pubsub hard limit). 0 disables.",
  },
  session_pubsub_soft_limit: {
    kind: "size",
    def: "8mb",
    doc: "A subscribed client whose unsent output stays at or over this for longer than\n" +
      "session_pubsub_soft_time is closed (Redis's soft limit). 0 disables.",
  },
  session_pubsub_soft_time: {
    kind: "duration",
    def: "60s",
    doc: "How long a subscribed client may stay over session_pubsub_soft_limit (Redis's soft seconds).",
  },
  session_keepalive_period: {
    kind: "duration",
    def: "75s",
    doc: "Non-zero turns TCP keepalive on for client connections (the probe period is the OS's). 0 disables.",
  },
  session_break_on_failure: {
    kind: "bool",
    def: false,
    doc: "Close the client connection instead of replying -ERR when a request fails.",
  },
  session_epoll: {
    kind: "bool",
    def: true,
    doc: "Serve TCP (IPv4) client connections from the proxy's own epoll set through libc (Linux; needs\n" +
      "--allow-ffi), which reads every ready client once per round: fair at a thousand clients (p99 6-8x lower).\n" +
      "Connections beyond session_epoll_direct (default 0) pay a thread hop (about 0.05 ms) on a request that wakes an idle\n" +
      "proxy. true (default); false, or where it is not possible (TLS, unix sockets, IPv6, no FFI), uses one Deno\n" +
      "read per connection, which favours recently served clients.",
  },
  session_epoll_direct: {
    kind: "int",
    def: 0,
    min: 0,
    doc: "With session_epoll, up to this many client connections are served by the runtime's own reactor, which\n" +
      "wakes the proxy at once when a client sends; the rest wait in the epoll set, whose blocking wait costs each\n" +
      "request a thread hop (about 0.05 ms and half the CPU of a lone client's request). 0 puts every connection in\n" +
      "the epoll set (the default while a reply-corruption bug under buffer reuse is open; see\n" +
      'bench/README.md "One client\'s wake-ups").',
  },
  ...LOAD_KEYS,
  ...METRICS_KEYS,
  ...TLS_KEYS,
  ...OPS_KEYS,
};
