/**
 * codis-proxy configuration: Codis's proxy.toml keys and defaults (minus the Go-only ones) plus our limit keys,
 * loaded from TOML and overridden by `--key=value` flags, validated with zod.
 *
 * In the parsed form durations are numbers of milliseconds and sizes are numbers of bytes.
 * @module
 */
import { parseArgs } from "node:util";
import {
  ConfigError,
  configSchema,
  defaultTomlOf,
  jsonOf,
  parseConfigToml,
  readConfigFile,
  tomlOf,
  validateConfig,
} from "../../util/config_table.ts";
import { checkHostPort, KEYS, type ProxyConfig } from "./config_keys.ts";
import { PROCESS_SECRET_IO, resolveSecret, resolveSecrets, type SecretIo, secretSpec } from "../../util/secrets.ts";

export type { ProxyConfig } from "./config_keys.ts";
export { ConfigError };

/** The config keys that may come from a `*_file` key or a CODIS_* variable (see util/secrets.ts). */
const SECRET_SPECS = [
  secretSpec("product_auth"),
  secretSpec("session_auth"),
  secretSpec("jodis_auth"),
  secretSpec("metrics_report_influxdb_password"),
];
/** The coordinator flags' credentials, likewise (`--zookeeper-auth-file`, CODIS_ZOOKEEPER_AUTH). */
const COORDINATOR_AUTH_SPECS = { zookeeper: secretSpec("zookeeper-auth"), etcd: secretSpec("etcd-auth") };

/** Every configuration key, in file order. */
export const PROXY_CONFIG_KEYS: readonly (keyof ProxyConfig)[] = Object.keys(KEYS) as (keyof ProxyConfig)[];

/** Codis keys that only make sense for the Go runtime: accepted in files and ignored. */
const IGNORED_KEYS = new Set(["proxy_max_offheap_size", "proxy_heap_placeholder"]);

const SCHEMA = configSchema(KEYS);

/**
 * Validates raw values (TOML values or flag strings) merged over the defaults and returns the parsed config.
 * Throws a {@link ConfigError} with one line naming the first offending key.
 */
export function validateProxyConfig(raw: Record<string, unknown>): ProxyConfig {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!IGNORED_KEYS.has(k)) kept[k] = v;
  const cfg = validateConfig(KEYS, SCHEMA, kept) as unknown as ProxyConfig;
  if (cfg.proto_type === "unixpacket") {
    throw new ConfigError("invalid config key proto_type: unixpacket is not supported (Deno has no SOCK_SEQPACKET)");
  }
  if (cfg.proto_type === "unix" && cfg.proxy_workers > 1) {
    throw new ConfigError("invalid config key proxy_workers: worker threads need a TCP listener (proto_type unix)");
  }
  if (cfg.jodis_addr !== "" && cfg.jodis_name === "") {
    throw new ConfigError("invalid config key jodis_name: must be zookeeper or etcd when jodis_addr is set");
  }
  return cfg;
}

/** Codis's defaults plus ours, in parsed form. */
export function defaultProxyConfig(): ProxyConfig {
  return validateProxyConfig({});
}

/** Parses proxy.toml text (keys at top level, as in Codis) over the defaults. */
export function parseProxyToml(text: string, source = "config"): ProxyConfig {
  return parseConfigToml(text, source, validateProxyConfig);
}

/** The full commented default proxy.toml, as printed by `--default-config`; parsing it gives the defaults. */
export function defaultConfigToml(): string {
  return defaultTomlOf(KEYS, [
    "# codis-proxy configuration (Codis proxy.toml keys; every key can be overridden by --key=value).",
    '# Durations: "500ms", "5s", "30m", "1h30m" (0 disables where noted). Sizes: "64kb", "128kb", "512mb".',
  ]);
}

/** Renders a parsed config back to TOML (durations and sizes in their shortest exact unit). */
export function configToToml(cfg: ProxyConfig): string {
  return tomlOf(KEYS, cfg);
}

/** Which coordinator to read (the CLI's `--zookeeper`, `--etcd` or `--filesystem`). */
export interface CoordinatorFlag {
  /** The coordinator's kind. */
  name: "zookeeper" | "etcd" | "filesystem";
  /** Its address list, or the filesystem root. */
  addr: string;
  /** "user:password" (`--zookeeper-auth` / `--etcd-auth`). */
  auth?: string;
}

/** Result of {@link parseProxyArgs}. */
export interface ProxyArgs {
  /** The configuration: defaults, then the file, then flags. */
  config: ProxyConfig;
  /** `--config=FILE`, when given. */
  configFile?: string;
  /** `--backend=HOST:PORT`, repeatable: standalone mode, group i+1 served by backends[i]. */
  backends: string[];
  /** `--fillslots=FILE`: a JSON []Slot file (static mode). */
  fillslots?: string;
  /** `--dashboard=ADDR[,ADDR]`: dashboard admin addresses to register with. */
  dashboard?: string[];
  /** `--zookeeper`, `--etcd` or `--filesystem`: find the dashboard in the product's topom node, then register. */
  coordinator?: CoordinatorFlag;
  /** `--log-level=LEVEL`, upper-cased (DEBUG, INFO, WARN, ERROR). */
  logLevel?: string;
  /** `--log=FILE`: log lines are appended to FILE instead of stderr. */
  logFile?: string;
  /** `--pidfile=FILE`: written at start, removed on exit. */
  pidFile?: string;
  /** `--ulimit=N`: refuse to start when the open-files soft limit is below N. */
  ulimit?: number;
  /** `--ncpu=N` (already applied to `config.proxy_workers` unless `--proxy_workers` was given). */
  ncpu?: number;
  /** `--max-ncpu=MAX`: caps the thread count taken from `--ncpu`. */
  maxNcpu?: number;
  /** `--host-admin=ADDR` / `--host-proxy=ADDR`: addresses to advertise instead of the bound ones (NAT). */
  hostAdmin?: string;
  /** `--host-proxy=ADDR`: the client address to advertise instead of the bound one. */
  hostProxy?: string;
  /** `--default-config`: print {@link defaultConfigToml} and exit. */
  printDefault: boolean;
  /** `--help` / `-h`. */
  help: boolean;
  /** `--version`: print the version and exit. */
  printVersion: boolean;
}

/** Usage text for the proxy CLI. */
export function proxyUsage(): string {
  return [
    "usage: codis-proxy [--config=FILE] (--dashboard=ADDR[,ADDR] | --zookeeper=ADDR [--zookeeper-auth=USER:PASSWORD]",
    "                   | --etcd=ADDR [--etcd-auth=USER:PASSWORD] | --filesystem=ROOT | --fillslots=FILE",
    "                   | --backend=HOST:PORT ...) [--ncpu=N [--max-ncpu=MAX]] [--log=FILE] [--log-level=LEVEL]",
    "                   [--host-admin=ADDR] [--host-proxy=ADDR] [--ulimit=N] [--pidfile=FILE]",
    "                   [--product_name=NAME] [--product_auth=AUTH] [--session_auth=AUTH] [--<key>=<value> ...]",
    "       codis-proxy --default-config | --version | --help",
    "Exactly one of --dashboard, --zookeeper, --etcd, --filesystem (the product's dashboard is read from",
    "/codis3/{product_name}/topom), --fillslots or --backend (standalone, no dashboard).",
    "--ncpu=N sets proxy_workers (threads serving clients) unless --proxy_workers is given; --max-ncpu caps it.",
    "--ulimit=N refuses to start when `ulimit -n` is below N (raise it first; Deno cannot).",
    "Every proxy.toml key can be given as --<key>=<value>; flags override the file. See --default-config.",
    "Secrets can stay out of the arguments: --product_auth_file=FILE (any *_auth key, and --zookeeper-auth-file,",
    "--etcd-auth-file), or CODIS_PRODUCT_AUTH, CODIS_SESSION_AUTH, CODIS_JODIS_AUTH, CODIS_ZOOKEEPER_AUTH, ...",
    "in the environment. The command line is looked at first, then the config file, then the environment.",
  ].join("\n");
}

const BOOL_KEYS = new Set(PROXY_CONFIG_KEYS.filter((k) => KEYS[k].kind === "bool"));

/** The flags that choose where the slots come from; exactly one is needed to serve. */
const MODE_FLAGS = ["dashboard", "zookeeper", "etcd", "filesystem", "fillslots", "backend"] as const;

/** A whole-number flag in [min, max], or undefined when absent. */
function intFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`invalid --${name}: "${raw}" is not a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A flag that names a file or address: non-empty when given. */
function nonEmpty(name: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.trim() === "") throw new ConfigError(`invalid --${name}: empty`);
  return raw;
}

/**
 * `--zookeeper` / `--etcd` / `--filesystem` with its auth (from `--KIND-auth`, `--KIND-auth-file` or CODIS_KIND_AUTH);
 * an auth flag alone, or malformed, is an error.
 */
function coordinatorFlag(str: (k: string) => string | undefined, io: SecretIo): CoordinatorFlag | undefined {
  const flags: Record<string, string | undefined> = {};
  for (const kind of ["zookeeper", "etcd"] as const) {
    const spec = COORDINATOR_AUTH_SPECS[kind];
    if (str(spec.name) !== undefined || str(spec.fileName) !== undefined) {
      if (str(kind) === undefined) throw new ConfigError(`--${spec.name} needs --${kind}=ADDR`);
    }
    if (str(kind) === undefined) continue;
    flags[spec.name] = str(spec.name);
    flags[spec.fileName] = str(spec.fileName);
    const auth = resolveSecret(spec, [flags], io);
    if (auth === undefined) continue;
    flags[spec.name] = auth;
    // The value is a password: never echo it.
    if (!/^[^:]+:/.test(auth)) throw new ConfigError(`invalid --${kind}-auth: expected USER:PASSWORD`);
  }
  for (const name of ["zookeeper", "etcd", "filesystem"] as const) {
    const addr = nonEmpty(name, str(name));
    if (addr === undefined) continue;
    const auth = name === "filesystem" ? undefined : flags[`${name}-auth`];
    return auth === undefined ? { name, addr } : { name, addr, auth };
  }
  return undefined;
}

/**
 * Parses the proxy's command line. `readFile` and `secretIo` (secrets' files and environment, see util/secrets.ts)
 * are injectable for tests. Throws {@link ConfigError} with one line on an unknown flag, a missing value, an
 * unreadable file or a bad value.
 */
export function parseProxyArgs(
  args: string[],
  readFile: (path: string) => string = (p) => Deno.readTextFileSync(p),
  secretIo: SecretIo = PROCESS_SECRET_IO,
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
    zookeeper: { type: "string" },
    "zookeeper-auth": { type: "string" },
    "zookeeper-auth-file": { type: "string" },
    etcd: { type: "string" },
    "etcd-auth": { type: "string" },
    "etcd-auth-file": { type: "string" },
    filesystem: { type: "string" },
    ncpu: { type: "string" },
    "max-ncpu": { type: "string" },
    log: { type: "string" },
    "log-level": { type: "string" },
    pidfile: { type: "string" },
    ulimit: { type: "string" },
    "host-admin": { type: "string" },
    "host-proxy": { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
  };
  for (const k of PROXY_CONFIG_KEYS) options[k] = { type: "string" };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: normalized, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /'(-[^']*)'/.exec(err.message);
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && m) {
      throw new ConfigError(`unknown flag ${m[1]} (every proxy.toml key is a flag; see --default-config)`);
    }
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && m) {
      throw new ConfigError(`flag ${m[1].split(" ")[0]} needs a value, as ${m[1].split(" ")[0]}=VALUE`);
    }
    throw new ConfigError(err.message.split("\n")[0]);
  }
  const str = (k: string) => values[k] as string | undefined;

  const modes = MODE_FLAGS.filter((f) => values[f] !== undefined).map((f) => `--${f}`);
  if (modes.length > 1) {
    throw new ConfigError(
      `give only one of ${MODE_FLAGS.map((f) => `--${f}`).join(", ")} (got ${modes.join(" and ")})`,
    );
  }
  const coordinator = coordinatorFlag(str, secretIo);
  const ncpu = intFlag("ncpu", str("ncpu"), 1, KEYS.proxy_workers.max ?? 256);
  const maxNcpu = intFlag("max-ncpu", str("max-ncpu"), 1, KEYS.proxy_workers.max ?? 256);
  const ulimit = intFlag("ulimit", str("ulimit"), 1, 2 ** 31 - 1);

  let fileRaw: Record<string, unknown> = {};
  const configFile = str("config");
  if (configFile !== undefined) fileRaw = readConfigFile(configFile, readFile, parseProxyToml);
  const flagRaw: Record<string, unknown> = {};
  // Codis's --ncpu set GOMAXPROCS; our threads serving clients are proxy_workers. An explicit --proxy_workers wins.
  if (ncpu !== undefined) flagRaw.proxy_workers = String(Math.min(ncpu, maxNcpu ?? ncpu));
  for (const k of PROXY_CONFIG_KEYS) if (values[k] !== undefined) flagRaw[k] = values[k];
  Object.assign(flagRaw, resolveSecrets(SECRET_SPECS, [flagRaw, fileRaw], secretIo));
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
    printVersion: values.version === true,
  };
  if (configFile !== undefined) out.configFile = configFile;
  if (nonEmpty("fillslots", str("fillslots")) !== undefined) out.fillslots = str("fillslots");
  if (dashboard) out.dashboard = dashboard;
  if (coordinator) out.coordinator = coordinator;
  if (logLevel) out.logLevel = logLevel;
  if (nonEmpty("log", str("log")) !== undefined) out.logFile = str("log");
  if (nonEmpty("pidfile", str("pidfile")) !== undefined) out.pidFile = str("pidfile");
  if (ulimit !== undefined) out.ulimit = ulimit;
  if (ncpu !== undefined) out.ncpu = ncpu;
  if (maxNcpu !== undefined) out.maxNcpu = maxNcpu;
  if (str("host-admin") !== undefined) out.hostAdmin = str("host-admin");
  if (str("host-proxy") !== undefined) out.hostProxy = str("host-proxy");
  return out;
}

/** Keys whose values are secrets (`secret` in the key table): never shown by the admin API or logged. */
export const SECRET_CONFIG_KEYS: ReadonlySet<keyof ProxyConfig> = new Set(
  PROXY_CONFIG_KEYS.filter((k) => KEYS[k].secret),
);

/**
 * The config as the admin API shows it (Codis's JSON form): durations and sizes as "5s"/"128kb" strings, and the
 * secret keys left out, as Codis hides them.
 */
export function configToJSON(cfg: ProxyConfig): Record<string, string | number | boolean> {
  return jsonOf(KEYS, cfg);
}
