/**
 * codis-proxy configuration: Codis's proxy.toml keys and defaults (minus the Go-only ones) plus our limit keys,
 * loaded from TOML and overridden by `--key=value` flags, validated with zod.
 *
 * In the parsed form durations are numbers of milliseconds and sizes are numbers of bytes.
 * @module
 */
import { parseArgs } from "node:util";
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { formatDuration, formatSize, parseDuration, parseSize } from "../util/duration.ts";

/** The parsed proxy configuration. Durations are milliseconds, sizes are bytes. */
export interface ProxyConfig {
  product_name: string;
  product_auth: string;
  session_auth: string;
  admin_addr: string;
  proto_type: "tcp" | "tcp4" | "tcp6" | "unix" | "unixpacket";
  proxy_addr: string;
  jodis_name: string;
  jodis_addr: string;
  jodis_auth: string;
  jodis_timeout: number;
  jodis_compatible: boolean;
  proxy_datacenter: string;
  proxy_max_clients: number;
  proxy_workers: number;
  proxy_allow_flush: boolean;
  backend_ping_period: number;
  backend_connect_timeout: number;
  backend_recv_bufsize: number;
  backend_recv_timeout: number;
  backend_send_bufsize: number;
  backend_send_timeout: number;
  backend_max_pipeline: number;
  backend_primary_only: boolean;
  backend_primary_parallel: number;
  backend_replica_parallel: number;
  backend_keepalive_period: number;
  backend_number_databases: number;
  session_recv_bufsize: number;
  session_recv_timeout: number;
  session_send_bufsize: number;
  session_send_timeout: number;
  session_max_pipeline: number;
  session_max_bulk_len: number;
  session_max_args: number;
  session_keepalive_period: number;
  session_break_on_failure: boolean;
  metrics_report_server: string;
  metrics_report_period: number;
  metrics_report_influxdb_server: string;
  metrics_report_influxdb_period: number;
  metrics_report_influxdb_username: string;
  metrics_report_influxdb_password: string;
  metrics_report_influxdb_database: string;
  metrics_report_statsd_server: string;
  metrics_report_statsd_period: number;
  metrics_report_statsd_prefix: string;
}

/** A configuration error; its message is one line naming the offending key. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Kind = "string" | "int" | "bool" | "duration" | "size";

interface KeyDef {
  kind: Kind;
  /** Default in its TOML form (durations and sizes as strings like "5s"). */
  def: string | number | boolean;
  /** One or more comment lines printed above the key by defaultConfigToml(). */
  doc: string;
  /** Section header printed before this key. */
  section?: string;
  min?: number;
  max?: number;
  check?: (v: string) => string | undefined;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]*):(\d{1,5})$/;

function checkHostPort(v: string): string | undefined {
  const m = HOST_PORT.exec(v);
  if (!m || Number(m[2]) > 65535) return `"${v}" is not a HOST:PORT address`;
}

/** Key table: drives defaults, validation, flags and the default TOML, so all four stay in step. */
const KEYS: { [K in keyof ProxyConfig]: KeyDef } = {
  product_name: {
    section: "Product",
    kind: "string",
    def: "codis-demo",
    doc: "Cluster (product) name; must match the dashboard's. Letters, digits, '_', '.', '-'.",
    check: (v) => /^\w[\w.\-]*$/.test(v) ? undefined : `"${v}" must match ^\\w[\\w\\.\\-]*$`,
  },
  product_auth: {
    kind: "string",
    def: "",
    doc: "Shared secret of dashboard, proxies and servers: sent as AUTH to backends, part of the admin xauth.",
  },
  session_auth: {
    kind: "string",
    def: "",
    doc: "Password clients must AUTH with at this proxy (independent of product_auth). Empty: no AUTH needed.",
  },
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
    doc: "Client listener type: tcp, tcp4, tcp6, unix or unixpacket.",
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
  jodis_name: {
    section: "Jodis registration (proxy discovery for Jodis clients)",
    kind: "string",
    def: "",
    doc: "Coordinator type: zookeeper or etcd. Only used when jodis_addr is set.",
    check: (v) => ["", "zookeeper", "zk", "etcd"].includes(v) ? undefined : `"${v}" is not zookeeper or etcd`,
  },
  jodis_addr: { kind: "string", def: "", doc: "Coordinator address list; empty disables Jodis registration." },
  jodis_auth: { kind: "string", def: "", doc: "Coordinator credentials, user:password." },
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
    doc: "Worker processes sharing the client listener (reusePort), each with its own backend connections.\n" +
      "1 means a single process (no worker mode).",
  },
  proxy_allow_flush: {
    kind: "bool",
    def: false,
    doc: "Allow FLUSHALL/FLUSHDB through the proxy. Refused by default, as in Codis.",
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
  backend_recv_bufsize: { kind: "size", def: "128kb", doc: "Backend read buffer size." },
  backend_recv_timeout: { kind: "duration", def: "30s", doc: "Backend read timeout. 0 disables." },
  backend_send_bufsize: { kind: "size", def: "128kb", doc: "Backend write buffer size." },
  backend_send_timeout: { kind: "duration", def: "30s", doc: "Backend write timeout. 0 disables." },
  backend_max_pipeline: { kind: "int", def: 20480, min: 0, doc: "Maximum in-flight requests per backend connection." },
  backend_primary_only: { kind: "bool", def: false, doc: "Never read from replica groups." },
  backend_primary_parallel: { kind: "int", def: 1, min: 0, doc: "Connections per (master, database)." },
  backend_replica_parallel: { kind: "int", def: 1, min: 0, doc: "Connections per (replica, database)." },
  backend_keepalive_period: { kind: "duration", def: "75s", doc: "TCP keepalive period to backends. 0 disables." },
  backend_number_databases: {
    kind: "int",
    def: 16,
    min: 1,
    doc: "Databases per backend accepted by SELECT, as in Codis (slot data itself lives in database = slot id).",
  },
  session_recv_bufsize: {
    section: "Client sessions",
    kind: "size",
    def: "128kb",
    doc: "Client read buffer size.",
  },
  session_recv_timeout: {
    kind: "duration",
    def: "30m",
    doc: "Client idle timeout: a session that sends nothing for this long is closed. 0 disables.",
  },
  session_send_bufsize: { kind: "size", def: "64kb", doc: "Client write buffer size." },
  session_send_timeout: { kind: "duration", def: "30s", doc: "Client write timeout. 0 disables." },
  session_max_pipeline: {
    kind: "int",
    def: 10000,
    min: 1,
    doc: "Maximum requests queued per client (pipeline depth); beyond it the client gets an error and is closed.",
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
  session_keepalive_period: { kind: "duration", def: "75s", doc: "TCP keepalive period to clients. 0 disables." },
  session_break_on_failure: {
    kind: "bool",
    def: false,
    doc: "Close the client connection instead of replying -ERR when a request fails.",
  },
  metrics_report_server: {
    section: "Metrics reporting",
    kind: "string",
    def: "",
    doc: "URL to POST the JSON overview to periodically. Empty disables.",
  },
  metrics_report_period: { kind: "duration", def: "1s", doc: "Period of metrics_report_server reports." },
  metrics_report_influxdb_server: { kind: "string", def: "", doc: "InfluxDB URL. Empty disables." },
  metrics_report_influxdb_period: { kind: "duration", def: "1s", doc: "Period of InfluxDB reports." },
  metrics_report_influxdb_username: { kind: "string", def: "", doc: "InfluxDB user." },
  metrics_report_influxdb_password: { kind: "string", def: "", doc: "InfluxDB password." },
  metrics_report_influxdb_database: { kind: "string", def: "", doc: "InfluxDB database." },
  metrics_report_statsd_server: { kind: "string", def: "", doc: "StatsD address HOST:PORT. Empty disables." },
  metrics_report_statsd_period: { kind: "duration", def: "1s", doc: "Period of StatsD reports." },
  metrics_report_statsd_prefix: { kind: "string", def: "", doc: "StatsD metric name prefix." },
};

/** Every configuration key, in file order. */
export const PROXY_CONFIG_KEYS: readonly (keyof ProxyConfig)[] = Object.keys(KEYS) as (keyof ProxyConfig)[];

/** Codis keys that only make sense for the Go runtime: accepted in files and ignored. */
const IGNORED_KEYS = new Set(["proxy_max_offheap_size", "proxy_heap_placeholder"]);

function fieldSchema(def: KeyDef): z.ZodType {
  return z.unknown().transform((raw, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    let v: unknown;
    try {
      v = convert(def.kind, raw);
    } catch (e) {
      return fail((e as Error).message);
    }
    if (typeof v === "number") {
      if (def.min !== undefined && v < def.min) return fail(`${raw} is below the minimum ${def.min}`);
      if (def.max !== undefined && v > def.max) return fail(`${raw} is above the maximum ${def.max}`);
    }
    if (typeof v === "string" && def.check) {
      const why = def.check(v);
      if (why) return fail(why);
    }
    return v;
  });
}

function convert(kind: Kind, raw: unknown): string | number | boolean {
  switch (kind) {
    case "string":
      if (typeof raw !== "string") throw new Error(`expected a string, got ${JSON.stringify(raw)}`);
      return raw;
    case "int": {
      const n = typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== "number" || !Number.isSafeInteger(n)) {
        throw new Error(`expected an integer, got ${JSON.stringify(raw)}`);
      }
      return n;
    }
    case "bool":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
    case "duration":
      if (typeof raw === "bigint") throw new Error(`duration ${raw} needs a unit`);
      if (typeof raw !== "string" && typeof raw !== "number") {
        throw new Error(`expected a duration like "5s", got ${JSON.stringify(raw)}`);
      }
      return parseDuration(raw);
    case "size":
      if (typeof raw !== "string" && typeof raw !== "number") {
        throw new Error(`expected a size like "128kb", got ${JSON.stringify(raw)}`);
      }
      return parseSize(raw);
  }
}

const SCHEMA = z.strictObject(
  Object.fromEntries(PROXY_CONFIG_KEYS.map((k) => [k, fieldSchema(KEYS[k])])) as Record<string, z.ZodType>,
);

function formatIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown config key ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  const key = issue.path.length > 0 ? issue.path.join(".") : "(config)";
  return `invalid config key ${key}: ${issue.message}`;
}

/**
 * Validates raw values (TOML values or flag strings) merged over the defaults and returns the parsed config.
 * Throws a {@link ConfigError} with one line naming the first offending key.
 */
export function validateProxyConfig(raw: Record<string, unknown>): ProxyConfig {
  const merged: Record<string, unknown> = { ...rawDefaults() };
  for (const [k, v] of Object.entries(raw)) if (!IGNORED_KEYS.has(k)) merged[k] = v;
  const r = SCHEMA.safeParse(merged);
  if (!r.success) throw new ConfigError(formatIssue(r.error.issues[0]));
  const cfg = r.data as unknown as ProxyConfig;
  if (cfg.jodis_addr !== "" && cfg.jodis_name === "") {
    throw new ConfigError("invalid config key jodis_name: must be zookeeper or etcd when jodis_addr is set");
  }
  return cfg;
}

function rawDefaults(): Record<string, unknown> {
  return Object.fromEntries(PROXY_CONFIG_KEYS.map((k) => [k, KEYS[k].def]));
}

/** Codis's defaults plus ours, in parsed form. */
export function defaultProxyConfig(): ProxyConfig {
  return validateProxyConfig({});
}

/** Parses proxy.toml text (keys at top level, as in Codis) over the defaults. */
export function parseProxyToml(text: string, source = "config"): ProxyConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0];
      throw new ConfigError(`${source}: TOML syntax error at line ${e.line}, column ${e.column}: ${first}`);
    }
    throw e;
  }
  try {
    return validateProxyConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${source}: ${e.message}`);
    throw e;
  }
}

function tomlValue(def: KeyDef): string {
  return typeof def.def === "string" ? JSON.stringify(def.def) : String(def.def);
}

/** The full commented default proxy.toml, as printed by `--default-config`; parsing it gives the defaults. */
export function defaultConfigToml(): string {
  const out: string[] = [
    "# codis-proxy configuration (Codis proxy.toml keys; every key can be overridden by --key=value).",
    '# Durations: "500ms", "5s", "30m", "1h30m" (0 disables where noted). Sizes: "64kb", "128kb", "512mb".',
  ];
  for (const k of PROXY_CONFIG_KEYS) {
    const def = KEYS[k];
    if (def.section) out.push("", "#".repeat(60), `# ${def.section}`, "#".repeat(60));
    out.push("");
    for (const line of def.doc.split("\n")) out.push(`# ${line}`);
    out.push(`${k} = ${tomlValue(def)}`);
  }
  return out.join("\n") + "\n";
}

/** Renders a parsed config back to TOML (durations and sizes in their shortest exact unit). */
export function configToToml(cfg: ProxyConfig): string {
  return PROXY_CONFIG_KEYS.map((k) => {
    const v = cfg[k];
    const kind = KEYS[k].kind;
    const s = kind === "duration"
      ? JSON.stringify(formatDuration(v as number))
      : kind === "size"
      ? JSON.stringify(formatSize(v as number))
      : typeof v === "string"
      ? JSON.stringify(v)
      : String(v);
    return `${k} = ${s}\n`;
  }).join("");
}

/** Result of {@link parseProxyArgs}. */
export interface ProxyArgs {
  config: ProxyConfig;
  /** `--config=FILE`, when given. */
  configFile?: string;
  /** `--backend=HOST:PORT`, repeatable: standalone mode, group i+1 served by backends[i]. */
  backends: string[];
  /** `--fillslots=FILE`: a JSON []Slot file (static mode). */
  fillslots?: string;
  /** `--dashboard=ADDR[,ADDR]`: dashboard admin addresses to register with. */
  dashboard?: string[];
  /** `--log-level=LEVEL`, upper-cased (DEBUG, INFO, WARN, ERROR). */
  logLevel?: string;
  /** `--host-admin=ADDR` / `--host-proxy=ADDR`: addresses to advertise instead of the bound ones (NAT). */
  hostAdmin?: string;
  hostProxy?: string;
  /** `--default-config`: print {@link defaultConfigToml} and exit. */
  printDefault: boolean;
  /** `--help` / `-h`. */
  help: boolean;
}

/** Usage text for the proxy CLI. */
export function proxyUsage(): string {
  return [
    "usage: codis-proxy [--config=FILE] [--backend=HOST:PORT ...] [--fillslots=FILE] [--dashboard=ADDR[,ADDR]]",
    "                   [--log-level=LEVEL] [--host-admin=ADDR] [--host-proxy=ADDR] [--<key>=<value> ...]",
    "       codis-proxy --default-config",
    "Every proxy.toml key can be given as --<key>=<value>; flags override the file. See --default-config.",
  ].join("\n");
}

const BOOL_KEYS = new Set(PROXY_CONFIG_KEYS.filter((k) => KEYS[k].kind === "bool"));

/**
 * Parses the proxy's command line. `readFile` is injectable for tests. Throws {@link ConfigError} with one line
 * on an unknown flag, a missing value, an unreadable file or a bad value.
 */
export function parseProxyArgs(
  args: string[],
  readFile: (path: string) => string = (p) => Deno.readTextFileSync(p),
): ProxyArgs {
  // A bare `--some_bool_key` means true; parseArgs' boolean type would reject `--key=false`, so every key is a string.
  const normalized = args.map((a) =>
    a.startsWith("--") && BOOL_KEYS.has(a.slice(2) as keyof ProxyConfig) ? `${a}=true` : a
  );
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {
    config: { type: "string" },
    "default-config": { type: "boolean" },
    backend: { type: "string", multiple: true },
    fillslots: { type: "string" },
    dashboard: { type: "string" },
    "log-level": { type: "string" },
    "host-admin": { type: "string" },
    "host-proxy": { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const k of PROXY_CONFIG_KEYS) options[k] = { type: "string" };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: normalized, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (e) {
    throw new ConfigError(String((e as Error).message).split("\n")[0]);
  }
  const str = (k: string) => values[k] as string | undefined;

  let fileRaw: Record<string, unknown> = {};
  const configFile = str("config");
  if (configFile !== undefined) {
    let text: string;
    try {
      text = readFile(configFile);
    } catch (e) {
      throw new ConfigError(`cannot read config file ${configFile}: ${(e as Error).message.split("\n")[0]}`);
    }
    parseProxyToml(text, configFile); // reports file errors against the file name
    fileRaw = parseToml(text) as Record<string, unknown>;
  }
  const flagRaw: Record<string, unknown> = {};
  for (const k of PROXY_CONFIG_KEYS) if (values[k] !== undefined) flagRaw[k] = values[k];
  const config = validateProxyConfig({ ...fileRaw, ...flagRaw });

  const backends = (values.backend as string[] | undefined) ?? [];
  for (const b of backends) {
    const why = checkHostPort(b);
    if (why || b.startsWith(":")) throw new ConfigError(`invalid --backend: "${b}" is not a HOST:PORT address`);
  }
  const dashboardRaw = str("dashboard");
  const dashboard = dashboardRaw?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const d of dashboard ?? []) {
    if (checkHostPort(d)) throw new ConfigError(`invalid --dashboard: "${d}" is not a HOST:PORT address`);
  }
  if (dashboardRaw !== undefined && dashboard!.length === 0) throw new ConfigError("invalid --dashboard: empty");
  const logLevel = str("log-level")?.toUpperCase();
  if (logLevel !== undefined && !["DEBUG", "INFO", "WARN", "ERROR"].includes(logLevel)) {
    throw new ConfigError(`invalid --log-level: "${str("log-level")}" is not DEBUG, INFO, WARN or ERROR`);
  }
  const out: ProxyArgs = {
    config,
    backends,
    printDefault: values["default-config"] === true,
    help: values.help === true,
  };
  if (configFile !== undefined) out.configFile = configFile;
  if (str("fillslots") !== undefined) out.fillslots = str("fillslots");
  if (dashboard) out.dashboard = dashboard;
  if (logLevel) out.logLevel = logLevel;
  if (str("host-admin") !== undefined) out.hostAdmin = str("host-admin");
  if (str("host-proxy") !== undefined) out.hostProxy = str("host-proxy");
  return out;
}

/** Keys whose values are secrets: never shown by the admin API or logged. */
export const SECRET_CONFIG_KEYS: ReadonlySet<keyof ProxyConfig> = new Set<keyof ProxyConfig>([
  "product_auth",
  "session_auth",
  "jodis_auth",
  "metrics_report_influxdb_password",
]);

/**
 * The config as the admin API shows it (Codis's JSON form): durations and sizes as "5s"/"128kb" strings, and the
 * secret keys left out, as Codis hides them.
 */
export function configToJSON(cfg: ProxyConfig): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const k of PROXY_CONFIG_KEYS) {
    if (SECRET_CONFIG_KEYS.has(k)) continue;
    const kind = KEYS[k].kind;
    const v = cfg[k];
    out[k] = kind === "duration" ? formatDuration(v as number) : kind === "size" ? formatSize(v as number) : v;
  }
  return out;
}
