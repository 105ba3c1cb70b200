/**
 * codis-dashboard configuration: Codis's dashboard.toml keys and defaults plus the Raft keys, loaded from TOML and
 * overridden by `--key=value` flags, validated with zod. In the parsed form durations are milliseconds and sizes
 * are bytes.
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
} from "../util/config_table.ts";
import { PROCESS_SECRET_IO, resolveSecrets, type SecretIo, secretSpec } from "../util/secrets.ts";
import {
  checkHostPort,
  DASHBOARD_CONFIG_KEYS,
  type DashboardConfig,
  defaultDataDir,
  KEYS,
  parseRaftPeers,
} from "./config_keys.ts";

export { ConfigError };
export {
  checkHostPort,
  coordinatorKind,
  COORDINATORS,
  DASHBOARD_CONFIG_KEYS,
  type DashboardConfig,
  defaultDataDir,
  parseRaftPeers,
  type RaftPeer,
  raftPeers,
} from "./config_keys.ts";

const SCHEMA = configSchema(KEYS);

/** The config keys that may come from a `*_file` key or a CODIS_* variable (see util/secrets.ts). */
const SECRET_SPECS = [secretSpec("product_auth"), secretSpec("cluster_secret"), secretSpec("coordinator_auth")];

/**
 * Validates raw values (TOML values or flag strings) merged over the defaults. Fills an empty `data_dir`.
 * Throws a {@link ConfigError} naming the first offending key.
 */
export function validateDashboardConfig(raw: Record<string, unknown>): DashboardConfig {
  const cfg = validateConfig(KEYS, SCHEMA, raw) as unknown as DashboardConfig;
  if (cfg.coordinator_name !== "raft" && cfg.coordinator_addr === "") {
    throw new ConfigError("invalid config key coordinator_addr: must not be empty");
  }
  const peers = parseRaftPeers(cfg.raft_peers);
  if (peers.length > 0 && !peers.some((p) => p.id === cfg.raft_id)) {
    throw new ConfigError(`invalid config key raft_id: ${cfg.raft_id} is not among raft_peers ids`);
  }
  if (cfg.data_dir === "") cfg.data_dir = defaultDataDir(cfg.product_name, cfg.raft_id);
  return cfg;
}

/** Codis's defaults plus ours, in parsed form. */
export function defaultDashboardConfig(): DashboardConfig {
  return validateDashboardConfig({});
}

/** Parses dashboard.toml text (keys at top level, as in Codis) over the defaults. */
export function parseDashboardToml(text: string, source = "config"): DashboardConfig {
  return parseConfigToml(text, source, validateDashboardConfig);
}

/** The full commented default dashboard.toml, as printed by `--default-config`; parsing it gives the defaults. */
export function defaultConfigToml(): string {
  return defaultTomlOf(KEYS, [
    "# codis-dashboard configuration (Codis dashboard.toml keys plus Raft keys).",
    "# Every key can be overridden by a flag of the same name: --raft_id=2 --raft_peers=...",
    '# Durations: "500ms", "5s", "30m". Sizes: "64kb", "32mb".',
  ]);
}

/** Renders a parsed config as TOML (durations and sizes in their shortest exact unit). */
export function configToToml(cfg: DashboardConfig): string {
  return tomlOf(KEYS, cfg);
}

/** The config as the overview's `config` JSON: Codis's names, durations/sizes as strings, secrets left out. */
export function configJson(cfg: DashboardConfig): Record<string, string | number | boolean> {
  return jsonOf(KEYS, cfg);
}

/** Result of {@link parseDashboardArgs}. */
export interface DashboardArgs {
  /** The configuration: defaults, then the file, then flags. */
  config: DashboardConfig;
  /** `--config=FILE`, when given. */
  configFile?: string;
  /** `--log=FILE`. */
  logFile?: string;
  /** `--log-level=LEVEL`, upper-cased. */
  logLevel?: string;
  /** `--pidfile=FILE`. */
  pidFile?: string;
  /** `--host-admin=ADDR`: admin address to advertise instead of the bound one. */
  hostAdmin?: string;
  /** `--remove-lock`: with an external coordinator, delete a stale lock node first (Codis's flag). */
  removeLock: boolean;
  /** `--default-config`: print the default TOML and exit. */
  printDefault: boolean;
  /** `--version`. */
  version: boolean;
  /** `--help` / `-h`. */
  help: boolean;
}

/** Usage text for the dashboard CLI. */
export function dashboardUsage(): string {
  return [
    "usage: codis-dashboard [--config=FILE] [--log=FILE] [--log-level=LEVEL] [--host-admin=ADDR] [--pidfile=FILE]",
    "                       [--zookeeper=ADDR|--etcd=ADDR|--filesystem=ROOT] [--remove-lock] [--<key>=<value> ...]",
    "       codis-dashboard --default-config",
    "       codis-dashboard --version",
    "Every dashboard.toml key can be given as --<key>=<value>; flags override the file. See --default-config.",
    "Secrets can stay out of the arguments: --product_auth_file=FILE (also cluster_secret_file, coordinator_auth_file)",
    "or CODIS_PRODUCT_AUTH, CODIS_CLUSTER_SECRET, CODIS_COORDINATOR_AUTH in the environment. The command line is",
    "looked at first, then the config file, then the environment.",
  ].join("\n");
}

/**
 * Parses the dashboard's command line: `--config=FILE`, every key as `--key=value` (overriding the file), and
 * Codis's flags. The config file is optional. `readFile` is injectable for tests. Throws {@link ConfigError}.
 */
export function parseDashboardArgs(
  args: string[],
  readFile: (path: string) => string = (p) => Deno.readTextFileSync(p),
  secretIo: SecretIo = PROCESS_SECRET_IO,
): DashboardArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    "default-config": { type: "boolean" },
    version: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    log: { type: "string" },
    "log-level": { type: "string" },
    pidfile: { type: "string" },
    "host-admin": { type: "string" },
    ncpu: { type: "string" },
    zookeeper: { type: "string" },
    etcd: { type: "string" },
    filesystem: { type: "string" },
    "remove-lock": { type: "boolean" },
  };
  for (const k of DASHBOARD_CONFIG_KEYS) options[k] = { type: "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (e) {
    throw new ConfigError(String((e as Error).message).split("\n")[0]);
  }
  const str = (k: string) => values[k] as string | undefined;
  let raw: Record<string, unknown> = {};
  const configFile = str("config");
  if (configFile !== undefined) raw = readConfigFile(configFile, readFile, parseDashboardToml);
  const coordFlags = (["zookeeper", "etcd", "filesystem"] as const).filter((k) => str(k) !== undefined);
  if (coordFlags.length > 1) throw new ConfigError("use only one of --zookeeper, --etcd, --filesystem");
  for (const k of coordFlags) raw = { ...raw, coordinator_name: k, coordinator_addr: str(k) };
  const fileRaw = raw;
  const flagRaw: Record<string, unknown> = {};
  for (const k of DASHBOARD_CONFIG_KEYS) if (values[k] !== undefined) flagRaw[k] = values[k];
  raw = { ...raw, ...flagRaw, ...resolveSecrets(SECRET_SPECS, [flagRaw, fileRaw], secretIo) };
  const config = validateDashboardConfig(raw);
  const logLevel = str("log-level")?.toUpperCase();
  if (logLevel !== undefined && !["DEBUG", "INFO", "WARN", "ERROR"].includes(logLevel)) {
    throw new ConfigError(`invalid --log-level: "${str("log-level")}" is not DEBUG, INFO, WARN or ERROR`);
  }
  const hostAdmin = str("host-admin");
  if (hostAdmin !== undefined && checkHostPort(hostAdmin)) {
    throw new ConfigError(`invalid --host-admin: "${hostAdmin}" is not a HOST:PORT address`);
  }
  const out: DashboardArgs = {
    config,
    removeLock: values["remove-lock"] === true,
    printDefault: values["default-config"] === true,
    version: values.version === true,
    help: values.help === true,
  };
  if (configFile !== undefined) out.configFile = configFile;
  if (str("log") !== undefined) out.logFile = str("log");
  if (logLevel) out.logLevel = logLevel;
  if (str("pidfile") !== undefined) out.pidFile = str("pidfile");
  if (hostAdmin !== undefined) out.hostAdmin = hostAdmin;
  return out;
}
