/**
 * codis-dashboard configuration: Codis's dashboard.toml keys and defaults plus the Raft keys, loaded from TOML and
 * overridden by `--key=value` flags, validated with zod. In the parsed form durations are milliseconds and sizes
 * are bytes.
 * @module
 */
import { parseArgs } from "node:util";
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { formatDuration, formatSize, parseDuration, parseSize } from "../util/duration.ts";

/** The parsed dashboard configuration. Durations are milliseconds, sizes are bytes. */
export interface DashboardConfig {
  coordinator_name: string;
  coordinator_addr: string;
  coordinator_auth: string;
  product_name: string;
  product_auth: string;
  admin_addr: string;
  migration_method: "sync" | "semi-async";
  migration_parallel_slots: number;
  migration_async_maxbulks: number;
  migration_async_maxbytes: number;
  migration_async_numkeys: number;
  migration_timeout: number;
  sentinel_client_timeout: number;
  sentinel_quorum: number;
  sentinel_parallel_syncs: number;
  sentinel_down_after: number;
  sentinel_failover_timeout: number;
  sentinel_notification_script: string;
  sentinel_client_reconfig_script: string;
  raft_id: number;
  raft_addr: string;
  raft_peers: string;
  data_dir: string;
  cluster_secret: string;
}

/** A configuration error; its message is one line naming the offending key or flag. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Kind = "string" | "int" | "duration" | "size";

interface KeyDef {
  kind: Kind;
  /** Default in TOML form (durations and sizes as strings). */
  def: string | number;
  doc: string;
  section?: string;
  /** Smallest accepted value for numbers (after conversion). */
  min?: number;
  check?: (v: string) => string | undefined;
  /** Left out of the overview JSON (secrets). */
  secret?: boolean;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]*):(\d{1,5})$/;

/** Undefined when `v` is HOST:PORT (host may be empty, as in ":18080"), else the reason. */
export function checkHostPort(v: string): string | undefined {
  const m = HOST_PORT.exec(v);
  if (!m || Number(m[2]) > 65535) return `"${v}" is not a HOST:PORT address`;
  return undefined;
}

/** Coordinator names accepted by `coordinator_name`. */
export const COORDINATORS = ["raft", "zookeeper", "zk", "etcd", "filesystem", "fs"] as const;

const KEYS: { [K in keyof DashboardConfig]: KeyDef } = {
  coordinator_name: {
    section: "Coordinator",
    kind: "string",
    def: "raft",
    doc: 'Where the cluster model lives: "raft" (embedded, replicated by the dashboards themselves),\n' +
      '"zookeeper"/"zk", "etcd" or "filesystem"/"fs" (a single dashboard, as in Codis).',
    check: (v) =>
      (COORDINATORS as readonly string[]).includes(v) ? undefined : `"${v}" is not one of ${COORDINATORS.join(", ")}`,
  },
  coordinator_addr: {
    kind: "string",
    def: "/tmp/codis",
    doc: "zookeeper/etcd address list, or the filesystem root directory. Unused with raft.",
  },
  coordinator_auth: { kind: "string", def: "", doc: "zookeeper/etcd credentials, user:password.", secret: true },
  product_name: {
    section: "Product",
    kind: "string",
    def: "codis-demo",
    doc: "Cluster (product) name. Letters, digits, '_', '.', '-'.",
    check: (v) => /^\w[\w.\-]*$/.test(v) ? undefined : `"${v}" must match ^\\w[\\w\\.\\-]*$`,
  },
  product_auth: {
    kind: "string",
    def: "",
    doc: "Redis requirepass/masterauth, sentinel auth-pass, and part of the admin xauth.",
    secret: true,
  },
  admin_addr: {
    section: "Admin",
    kind: "string",
    def: "0.0.0.0:18080",
    doc: "HTTP API listen address (HOST:PORT).",
    check: checkHostPort,
  },
  migration_method: {
    section: "Slot migration",
    kind: "string",
    def: "semi-async",
    doc: '"sync" or "semi-async"; also sent to proxies as forward_method.',
    check: (v) => v === "sync" || v === "semi-async" ? undefined : `"${v}" is not sync or semi-async`,
  },
  migration_parallel_slots: {
    kind: "int",
    def: 100,
    min: 1,
    doc: "Most slots migrating at once (only across disjoint group pairs).",
  },
  migration_async_maxbulks: { kind: "int", def: 200, min: 1, doc: "Most elements per restore message." },
  migration_async_maxbytes: { kind: "size", def: "32mb", min: 1, doc: "Most bytes in flight per slot." },
  migration_async_numkeys: { kind: "int", def: 500, min: 1, doc: "Keys per migration batch." },
  migration_timeout: {
    kind: "duration",
    def: "30s",
    min: 1,
    doc: "Time one migration command may take; a key too big to move within it pauses its slot.",
  },
  sentinel_client_timeout: {
    section: "Redis Sentinel",
    kind: "duration",
    def: "10s",
    min: 1,
    doc: "Timeout of sentinel admin commands.",
  },
  sentinel_quorum: { kind: "int", def: 2, min: 1, doc: "SENTINEL MONITOR quorum." },
  sentinel_parallel_syncs: { kind: "int", def: 1, min: 1, doc: "parallel-syncs." },
  sentinel_down_after: { kind: "duration", def: "30s", min: 1, doc: "down-after-milliseconds." },
  sentinel_failover_timeout: { kind: "duration", def: "5m", min: 1, doc: "failover-timeout." },
  sentinel_notification_script: { kind: "string", def: "", doc: "notification-script (empty: none)." },
  sentinel_client_reconfig_script: { kind: "string", def: "", doc: "client-reconfig-script (empty: none)." },
  raft_id: {
    section: 'Raft (coordinator_name = "raft")',
    kind: "int",
    def: 1,
    min: 1,
    doc: "This dashboard's member id.",
  },
  raft_addr: {
    kind: "string",
    def: "127.0.0.1:28080",
    doc: "Listen address for Raft peer traffic (HOST:PORT).",
    check: checkHostPort,
  },
  raft_peers: {
    kind: "string",
    def: "",
    doc: 'Initial members, "ID=HOST:PORT,...", e.g. "1=127.0.0.1:28080,2=127.0.0.1:28081,3=127.0.0.1:28082".\n' +
      "Empty: a single member, this one at raft_addr. A node that restarts with data ignores it.",
    check: (v) => {
      try {
        parseRaftPeers(v);
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
  data_dir: {
    kind: "string",
    def: "",
    doc: "Directory of the Raft log and snapshots. Empty: /tmp/codis/raft/{product_name}/node-{raft_id}.",
  },
  cluster_secret: {
    kind: "string",
    def: "",
    doc: "Shared secret authenticating Raft peer traffic between dashboards.",
    secret: true,
  },
};

/** Every configuration key, in file order. */
export const DASHBOARD_CONFIG_KEYS: readonly (keyof DashboardConfig)[] = Object.keys(KEYS) as (keyof DashboardConfig)[];

/** One initial Raft member. */
export interface RaftPeer {
  id: number;
  addr: string;
}

/** Parses `raft_peers` ("1=HOST:PORT,2=HOST:PORT"), sorted by id. Throws an Error naming the bad entry. */
export function parseRaftPeers(text: string): RaftPeer[] {
  const peers: RaftPeer[] = [];
  const ids = new Set<number>();
  const addrs = new Set<string>();
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const m = /^(\d+)=(.+)$/.exec(part);
    if (!m) throw new Error(`peer "${part}" is not ID=HOST:PORT`);
    const id = Number(m[1]);
    const addr = m[2].trim();
    if (!Number.isSafeInteger(id) || id < 1) throw new Error(`peer "${part}": id must be a positive integer`);
    const why = checkHostPort(addr);
    if (why || addr.startsWith(":")) throw new Error(`peer "${part}": "${addr}" is not a HOST:PORT address`);
    if (ids.has(id)) throw new Error(`peer id ${id} appears twice`);
    if (addrs.has(addr)) throw new Error(`peer address ${addr} appears twice`);
    ids.add(id);
    addrs.add(addr);
    peers.push({ id, addr });
  }
  return peers.sort((a, b) => a.id - b.id);
}

/** The initial Raft members of `cfg`: `raft_peers`, or this node alone at `raft_addr` when it is empty. */
export function raftPeers(cfg: DashboardConfig): RaftPeer[] {
  const peers = parseRaftPeers(cfg.raft_peers);
  return peers.length > 0 ? peers : [{ id: cfg.raft_id, addr: cfg.raft_addr }];
}

/** The store kind behind `coordinator_name` (aliases folded: zk → zookeeper, filesystem → fs). */
export function coordinatorKind(cfg: DashboardConfig): "raft" | "zookeeper" | "etcd" | "fs" {
  switch (cfg.coordinator_name) {
    case "zk":
    case "zookeeper":
      return "zookeeper";
    case "filesystem":
    case "fs":
      return "fs";
    case "etcd":
      return "etcd";
  }
  return "raft";
}

function convert(kind: Kind, raw: unknown): string | number {
  switch (kind) {
    case "string":
      if (typeof raw !== "string") throw new Error(`expected a string, got ${JSON.stringify(String(raw))}`);
      return raw;
    case "int": {
      const n = typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
      if (typeof n === "bigint" || typeof n !== "number" || !Number.isSafeInteger(n)) {
        throw new Error(`expected an integer, got ${JSON.stringify(String(raw))}`);
      }
      return n;
    }
    case "duration":
      if (typeof raw !== "string" && typeof raw !== "number") throw new Error(`expected a duration like "5s"`);
      return parseDuration(raw);
    case "size":
      if (typeof raw !== "string" && typeof raw !== "number") throw new Error(`expected a size like "32mb"`);
      return parseSize(raw);
  }
}

function fieldSchema(def: KeyDef): z.ZodType {
  return z.unknown().transform((raw, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    let v: string | number;
    try {
      v = convert(def.kind, raw);
    } catch (e) {
      return fail((e as Error).message);
    }
    if (typeof v === "number" && def.min !== undefined && v < def.min) {
      return fail(
        def.kind === "int" ? `${raw} is below the minimum ${def.min}` : `${JSON.stringify(raw)} must be positive`,
      );
    }
    if (typeof v === "string" && def.check) {
      const why = def.check(v);
      if (why) return fail(why);
    }
    return v;
  });
}

const SCHEMA = z.strictObject(
  Object.fromEntries(DASHBOARD_CONFIG_KEYS.map((k) => [k, fieldSchema(KEYS[k])])) as Record<string, z.ZodType>,
);

function formatIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown config key ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  const key = issue.path.length > 0 ? issue.path.join(".") : "(config)";
  return `invalid config key ${key}: ${issue.message}`;
}

/**
 * Validates raw values (TOML values or flag strings) merged over the defaults. Fills an empty `data_dir`.
 * Throws a {@link ConfigError} naming the first offending key.
 */
export function validateDashboardConfig(raw: Record<string, unknown>): DashboardConfig {
  const merged: Record<string, unknown> = Object.fromEntries(DASHBOARD_CONFIG_KEYS.map((k) => [k, KEYS[k].def]));
  Object.assign(merged, raw);
  const r = SCHEMA.safeParse(merged);
  if (!r.success) throw new ConfigError(formatIssue(r.error.issues[0]));
  const cfg = r.data as unknown as DashboardConfig;
  if (cfg.coordinator_name !== "raft" && cfg.coordinator_addr === "") {
    throw new ConfigError("invalid config key coordinator_addr: must not be empty");
  }
  const peers = parseRaftPeers(cfg.raft_peers);
  if (peers.length > 0 && !peers.some((p) => p.id === cfg.raft_id)) {
    throw new ConfigError(`invalid config key raft_id: ${cfg.raft_id} is not among raft_peers ids`);
  }
  if (cfg.data_dir === "") cfg.data_dir = `/tmp/codis/raft/${cfg.product_name}/node-${cfg.raft_id}`;
  return cfg;
}

/** Codis's defaults plus ours, in parsed form. */
export function defaultDashboardConfig(): DashboardConfig {
  return validateDashboardConfig({});
}

function parseTomlText(text: string, source: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      throw new ConfigError(
        `${source}: TOML syntax error at line ${e.line}, column ${e.column}: ${e.message.split("\n")[0]}`,
      );
    }
    throw e;
  }
}

/** Parses dashboard.toml text (keys at top level, as in Codis) over the defaults. */
export function parseDashboardToml(text: string, source = "config"): DashboardConfig {
  try {
    return validateDashboardConfig(parseTomlText(text, source));
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith(`${source}:`)) {
      throw new ConfigError(`${source}: ${e.message}`);
    }
    throw e;
  }
}

function tomlValue(kind: Kind, v: string | number): string {
  if (kind === "duration") return JSON.stringify(typeof v === "number" ? formatDuration(v) : v);
  if (kind === "size") return JSON.stringify(typeof v === "number" ? formatSize(v) : v);
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** The full commented default dashboard.toml, as printed by `--default-config`; parsing it gives the defaults. */
export function defaultConfigToml(): string {
  const out = [
    "# codis-dashboard configuration (Codis dashboard.toml keys plus Raft keys).",
    "# Every key can be overridden by a flag of the same name: --raft_id=2 --raft_peers=...",
    '# Durations: "500ms", "5s", "30m". Sizes: "64kb", "32mb".',
  ];
  for (const k of DASHBOARD_CONFIG_KEYS) {
    const def = KEYS[k];
    if (def.section) out.push("", "#".repeat(60), `# ${def.section}`, "#".repeat(60));
    out.push("");
    for (const line of def.doc.split("\n")) out.push(`# ${line}`);
    out.push(`${k} = ${tomlValue(def.kind, def.def)}`);
  }
  return out.join("\n") + "\n";
}

/** Renders a parsed config as TOML (durations and sizes in their shortest exact unit). */
export function configToToml(cfg: DashboardConfig): string {
  return DASHBOARD_CONFIG_KEYS.map((k) => `${k} = ${tomlValue(KEYS[k].kind, cfg[k])}\n`).join("");
}

/** The config as the overview's `config` JSON: Codis's names, durations/sizes as strings, secrets left out. */
export function configJson(cfg: DashboardConfig): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k of DASHBOARD_CONFIG_KEYS) {
    const def = KEYS[k];
    if (def.secret) continue;
    const v = cfg[k];
    out[k] = def.kind === "duration" ? formatDuration(v as number) : def.kind === "size" ? formatSize(v as number) : v;
  }
  return out;
}

/** Result of {@link parseDashboardArgs}. */
export interface DashboardArgs {
  config: DashboardConfig;
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
  printDefault: boolean;
  version: boolean;
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
  ].join("\n");
}

/**
 * Parses the dashboard's command line: `--config=FILE`, every key as `--key=value` (overriding the file), and
 * Codis's flags. The config file is optional. `readFile` is injectable for tests. Throws {@link ConfigError}.
 */
export function parseDashboardArgs(
  args: string[],
  readFile: (path: string) => string = (p) => Deno.readTextFileSync(p),
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
  if (configFile !== undefined) {
    let text: string;
    try {
      text = readFile(configFile);
    } catch (e) {
      throw new ConfigError(`cannot read config file ${configFile}: ${(e as Error).message.split("\n")[0]}`);
    }
    parseDashboardToml(text, configFile); // reports file errors against the file name
    raw = parseTomlText(text, configFile);
  }
  const coordFlags = (["zookeeper", "etcd", "filesystem"] as const).filter((k) => str(k) !== undefined);
  if (coordFlags.length > 1) throw new ConfigError("use only one of --zookeeper, --etcd, --filesystem");
  for (const k of coordFlags) raw = { ...raw, coordinator_name: k, coordinator_addr: str(k) };
  for (const k of DASHBOARD_CONFIG_KEYS) if (values[k] !== undefined) raw[k] = values[k];
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
