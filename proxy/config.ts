/**
 * codis-proxy configuration: Codis's proxy.toml keys and defaults (minus the Go-only ones) plus our limit keys,
 * loaded from TOML and overridden by `--key=value` flags, validated with zod.
 *
 * In the parsed form durations are numbers of milliseconds and sizes are numbers of bytes.
 * @module
 */
import { parseArgs } from "node:util";
import { formatDuration, formatSize } from "../util/duration.ts";
import { ConfigError, configSchema, parseTomlText, readConfigFile, validateConfig } from "../util/config_table.ts";
import { checkHostPort, type KeyDef, KEYS, type ProxyConfig } from "./config_keys.ts";

export type { ProxyConfig } from "./config_keys.ts";
export { ConfigError };

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
  const doc = parseTomlText(text, source);
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
  /** `--version`: print the version and exit. */
  printVersion: boolean;
}

/** Usage text for the proxy CLI. */
export function proxyUsage(): string {
  return [
    "usage: codis-proxy [--config=FILE] [--backend=HOST:PORT ...] [--fillslots=FILE] [--dashboard=ADDR[,ADDR]]",
    "                   [--log-level=LEVEL] [--host-admin=ADDR] [--host-proxy=ADDR] [--<key>=<value> ...]",
    "       codis-proxy --default-config | --version | --help",
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

  let fileRaw: Record<string, unknown> = {};
  const configFile = str("config");
  if (configFile !== undefined) fileRaw = readConfigFile(configFile, readFile, parseProxyToml);
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
    printVersion: values.version === true,
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
