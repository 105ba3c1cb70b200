/**
 * codis-fe's command line: Codis's flags (`--listen`, `--dashboard-list`, `--zookeeper`, `--etcd`, `--filesystem`,
 * `--assets-dir`, `--log`, `--log-level`, `--pidfile`, `--ncpu`) plus `--dashboard=ADDR[,ADDR]` for one product whose dashboards
 * form our embedded Raft group.
 * @module
 */
import { PROCESS_SECRET_IO, resolveSecret, type SecretIo, secretSpec } from "../util/secrets.ts";

/** Where the FE finds products and their dashboards. */
export type DiscoverySpec =
  | { kind: "file"; file: string }
  | { kind: "store"; name: "filesystem" | "etcd" | "zookeeper"; addr: string; auth?: string }
  | { kind: "dashboard"; addrs: string[] };

/** Parsed flags. */
export interface FeArgs {
  listen: string;
  discovery: DiscoverySpec;
  assetsDir?: string;
  logLevel?: string;
  /** `--log=FILE`: log lines are appended there instead of stderr. */
  logFile?: string;
  pidFile?: string;
  /** `--tls-cert-file` / `--tls-key-file`: serve the console over HTTPS. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** `--ca-file`: reach the dashboards over HTTPS, trusting this CA (PEM) besides the system's roots. */
  caFile?: string;
  /** `--allowed-hosts=a,b`: more names the console answers to (besides localhost and its listen address). */
  allowedHosts: string[];
}

/** A bad command line; the message is one line meant for the operator. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Usage text of `cli/codis-fe.ts`. */
export const FE_USAGE =
  `usage: codis-fe [--listen=ADDR] [--assets-dir=PATH] [--log=FILE] [--log-level=LEVEL] [--pidfile=FILE] DISCOVERY

DISCOVERY is exactly one of:
  --dashboard-list=FILE                     Codis's JSON list [{"name": PRODUCT, "dashboard": ADDR[,ADDR]}]
                                            (codis-admin --dashboard-list writes it; re-read at most every 5 s)
  --dashboard=ADDR[,ADDR...]                the dashboards of one product (our embedded Raft coordinator);
                                            the product name is asked from the dashboards
  --filesystem=ROOT                         list products from a filesystem store
  --etcd=ADDR[,ADDR] [--etcd-auth=USR:PWD]  list products from etcd
  --zookeeper=ADDR [--zookeeper-auth=USR:PWD] list products from ZooKeeper
                                            credentials also as --etcd-auth-file=FILE /
                                            --zookeeper-auth-file=FILE, or CODIS_ETCD_AUTH / CODIS_ZOOKEEPER_AUTH

Options:
  --listen=ADDR        HTTP address to serve on (default 127.0.0.1:9090)
  --assets-dir=PATH    static files (default: fe/assets next to this program)
  --log=FILE           append log lines to FILE instead of stderr
  --log-level=LEVEL    DEBUG, INFO, WARN or ERROR (default INFO)
  --allowed-hosts=A,B  more host names the console answers to; requests naming any other Host are refused
                       (403), besides localhost, 127.0.0.1, ::1 and the --listen host (the machine's name
                       when --listen is on every interface): a guard against DNS rebinding
  --ncpu=N             accepted for Codis's start scripts; the FE is one event loop
  --pidfile=FILE       write the process id there; removed on exit
  --tls-cert-file=FILE, --tls-key-file=FILE
                       serve the console over HTTPS with this PEM certificate chain and key
  --ca-file=FILE       reach the dashboards over HTTPS (their admin_tls_*), trusting this PEM CA
  -h, --help           print this text

The page asks for each product's product_auth and computes the dashboard's xauth in the browser; the FE itself
keeps no credentials.`;

const VALUED = new Set([
  "listen",
  "dashboard-list",
  "dashboard",
  "filesystem",
  "etcd",
  "etcd-auth",
  "etcd-auth-file",
  "zookeeper",
  "zookeeper-auth",
  "zookeeper-auth-file",
  "assets-dir",
  "log",
  "log-level",
  "pidfile",
  "ncpu",
  "tls-cert-file",
  "tls-key-file",
  "ca-file",
  "allowed-hosts",
]);
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]/]*):(\d{1,5})$/;

/** Checks a HOST:PORT address (an empty host means every interface for `--listen`). */
export function isHostPort(s: string, allowEmptyHost = false): boolean {
  const m = HOST_PORT.exec(s);
  return !!m && Number(m[2]) <= 65535 && (allowEmptyHost || m[1] !== "");
}

/** A store's credentials: `--KIND-auth`, else `--KIND-auth-file`, else CODIS_KIND_AUTH (see util/secrets.ts). */
function storeAuth(kind: string, v: Map<string, string>, io: SecretIo): string | undefined {
  if (kind === "filesystem") return undefined;
  try {
    return resolveSecret(secretSpec(`${kind}-auth`), [Object.fromEntries(v)], io);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parses codis-fe's flags; returns `"help"` for `--help`. Throws {@link UsageError} on bad input. */
export function parseFeArgs(argv: string[], secretIo: SecretIo = PROCESS_SECRET_IO): FeArgs | "help" {
  const v = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") return "help";
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (!m) throw new UsageError(`unexpected argument "${a}"`);
    const name = m[1];
    if (!VALUED.has(name)) throw new UsageError(`unknown option --${name}`);
    let value = m[2];
    if (value === undefined) {
      if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) throw new UsageError(`option --${name} needs a value`);
      value = argv[++i];
    }
    if (v.has(name)) throw new UsageError(`option --${name} given twice`);
    v.set(name, value);
  }
  const listen = v.get("listen") ?? "127.0.0.1:9090";
  if (!isHostPort(listen, true)) throw new UsageError(`invalid --listen address "${listen}": expected HOST:PORT`);
  const sources = ["dashboard-list", "dashboard", "filesystem", "etcd", "zookeeper"].filter((k) => v.has(k));
  if (sources.length === 0) {
    throw new UsageError("give one of --dashboard-list, --dashboard, --filesystem, --etcd or --zookeeper");
  }
  if (sources.length > 1) throw new UsageError(`options --${sources.join(" and --")} cannot be used together`);
  const src = sources[0];
  const value = v.get(src)!;
  if (value === "") throw new UsageError(`option --${src} needs a value`);
  let discovery: DiscoverySpec;
  switch (src) {
    case "dashboard-list":
      discovery = { kind: "file", file: value };
      break;
    case "dashboard": {
      const addrs = splitAddrs(value);
      const bad = addrs.find((a) => !isHostPort(a));
      if (bad !== undefined || addrs.length === 0) {
        throw new UsageError(`invalid --dashboard address "${bad ?? value}": expected HOST:PORT[,HOST:PORT]`);
      }
      discovery = { kind: "dashboard", addrs };
      break;
    }
    default:
      discovery = {
        kind: "store",
        name: src as "filesystem" | "etcd" | "zookeeper",
        addr: value,
        auth: storeAuth(src, v, secretIo),
      };
  }
  for (const k of ["etcd-auth", "zookeeper-auth", "etcd-auth-file", "zookeeper-auth-file"]) {
    const store = k.replace(/-auth(-file)?$/, "");
    if (v.has(k) && src !== store) throw new UsageError(`option --${k} needs --${store}`);
  }
  const logLevel = v.get("log-level")?.toUpperCase();
  if (logLevel !== undefined && !["DEBUG", "INFO", "WARN", "WARNING", "ERROR"].includes(logLevel)) {
    throw new UsageError(`invalid --log-level "${v.get("log-level")}": expected DEBUG, INFO, WARN or ERROR`);
  }
  const ncpu = v.get("ncpu");
  if (ncpu !== undefined && !/^[1-9][0-9]{0,3}$/.test(ncpu)) {
    throw new UsageError(`invalid --ncpu "${ncpu}": expected a positive number`);
  }
  if (v.get("log") === "") throw new UsageError("option --log needs a value");
  return {
    listen,
    discovery,
    assetsDir: v.get("assets-dir"),
    logLevel: logLevel === "WARNING" ? "WARN" : logLevel,
    logFile: v.get("log"),
    pidFile: v.get("pidfile"),
    tlsCertFile: v.get("tls-cert-file"),
    tlsKeyFile: v.get("tls-key-file"),
    caFile: v.get("ca-file"),
    allowedHosts: splitAddrs(v.get("allowed-hosts") ?? ""),
  };
}

/** Splits "a,b , c" into addresses, dropping empty items and duplicates. */
export function splitAddrs(s: string): string[] {
  return [...new Set(s.split(",").map((x) => x.trim()).filter(Boolean))];
}
