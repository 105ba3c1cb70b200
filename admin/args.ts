/**
 * codis-admin's command line: Codis's codis-admin flags plus the Raft operator flags, parsed strictly
 * with node:util parseArgs, and typed accessors that fail with one-line messages.
 * @module
 */
import { parseArgs } from "node:util";
import { AdminError } from "./http.ts";
import { PROCESS_SECRET_IO, resolveSecret, type SecretIo, type SecretSpec, secretSpec } from "../util/secrets.ts";

const S = { type: "string" } as const;
const B = { type: "boolean" } as const;

/** Every flag codis-admin knows. */
export const OPTIONS = {
  help: { type: "boolean", short: "h" },
  v: B,
  // targets and credentials
  dashboard: S,
  proxy: S,
  auth: { type: "string", short: "a" },
  "auth-file": S,
  product_name: S,
  timeout: S,
  "ca-file": S,
  tls: B,
  // proxy commands
  start: B,
  shutdown: B,
  "log-level": S,
  fillslots: S,
  locked: B,
  "reset-stats": B,
  forcegc: B,
  // dashboard commands
  reload: B,
  "slots-assign": B,
  "slots-status": B,
  beg: S,
  end: S,
  gid: { type: "string", short: "g" },
  offline: B,
  confirm: B,
  "list-proxy": B,
  "create-proxy": B,
  "online-proxy": B,
  "remove-proxy": B,
  "reinit-proxy": B,
  "proxy-status": B,
  overview: B, // alias of the positional word `overview` (an earlier local-cluster banner printed it)
  addr: { type: "string", short: "x" },
  token: { type: "string", short: "t" },
  pid: S,
  force: B,
  all: B,
  "list-group": B,
  "create-group": B,
  "remove-group": B,
  "resync-group": B,
  "group-add": B,
  "group-del": B,
  "group-status": B,
  "replica-groups": B,
  "promote-server": B,
  datacenter: S,
  enable: B,
  disable: B,
  "sync-action": B,
  "slot-action": B,
  create: B,
  remove: B,
  "create-some": B,
  "create-range": B,
  sid: S,
  "gid-from": S,
  "gid-to": S,
  "num-slots": S,
  interval: S,
  disabled: S,
  resume: B,
  status: B,
  rebalance: B,
  by: S,
  "max-moves": S,
  "slots-stats": B,
  hotkeys: B,
  bigkeys: B,
  "sentinel-add": B,
  "sentinel-del": B,
  "sentinel-resync": B,
  // raft operator commands
  "raft-status": B,
  "raft-add": B,
  "raft-promote": B,
  "raft-remove": B,
  "raft-transfer": B,
  id: S,
  learner: B,
  json: B,
  // coordinator commands
  product: S,
  zookeeper: S,
  "zookeeper-auth": S,
  "zookeeper-auth-file": S,
  etcd: S,
  "etcd-auth": S,
  "etcd-auth-file": S,
  filesystem: S,
  raft: S,
  "cluster-secret": S,
  "cluster-secret-file": S,
  "remove-lock": B,
  "config-dump": B,
  "1": B,
  "config-convert": S,
  "config-restore": S,
  "dashboard-list": B,
} as const;

/** A flag name (without the dashes). */
export type OptionName = keyof typeof OPTIONS;

/** The secret flags: each also as `--NAME-file` or a CODIS_* variable (see util/secrets.ts). */
const SECRET_FLAGS: Record<"auth" | "cluster-secret" | "zookeeper-auth" | "etcd-auth", SecretSpec> = {
  auth: secretSpec("auth", "CODIS_PRODUCT_AUTH", "auth-file"), // --auth is the product's product_auth
  "cluster-secret": secretSpec("cluster-secret"),
  "zookeeper-auth": secretSpec("zookeeper-auth"),
  "etcd-auth": secretSpec("etcd-auth"),
};

/** Parsed command line with one-line-error accessors. */
export class Args {
  constructor(
    readonly values: Partial<Record<OptionName, string | boolean>>,
    readonly positionals: string[],
    readonly secretIo: SecretIo = PROCESS_SECRET_IO,
  ) {}

  /** A secret flag's value: `--NAME`, else the file of `--NAME-file`, else its CODIS_* variable; or undefined. */
  secret(name: keyof typeof SECRET_FLAGS): string | undefined {
    try {
      return resolveSecret(SECRET_FLAGS[name], [this.values], this.secretIo);
    } catch (e) {
      throw new AdminError((e as Error).message);
    }
  }

  /** Whether a boolean flag is set or a string flag is present. */
  has(name: OptionName): boolean {
    const v = this.values[name];
    return v !== undefined && v !== false;
  }

  /** A string flag's value, or undefined. */
  str(name: OptionName): string | undefined {
    const v = this.values[name];
    return typeof v === "string" ? v : undefined;
  }

  /** A required string flag. */
  need(name: OptionName): string {
    const v = this.str(name);
    if (v === undefined || v === "") throw new AdminError(`option --${name} is required`);
    return v;
  }

  /** A required integer flag within `min..max`. */
  int(name: OptionName, min: number, max: number): number {
    const s = this.need(name);
    const n = /^-?\d+$/.test(s.trim()) ? Number(s.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new AdminError(`option --${name} = ${s}: expected an integer in ${min}..${max}`);
    }
    return n;
  }

  /** The flags among `names` that are set. */
  present(names: readonly OptionName[]): OptionName[] {
    return names.filter((n) => this.has(n));
  }
}

/** Parses argv strictly: unknown flags, missing values and stray words fail with a one-line {@link AdminError}. */
export function parseAdminArgs(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (e) {
    // Node's messages go on with advice about '--'; the first sentence says it all.
    throw new AdminError(String((e as Error).message).split("\n")[0].replace(/\. To specify .*$/, ""));
  }
  return new Args(parsed.values as Args["values"], parsed.positionals);
}

/** One command per invocation: fails when two of `names` are given together. */
export function onlyOne(a: Args, names: readonly OptionName[]): OptionName | undefined {
  const p = a.present(names);
  if (p.length > 1) throw new AdminError(`options --${p[0]} and --${p[1]} cannot be used together`);
  return p[0];
}

/** The usage text printed by --help. */
export const USAGE = `Usage:
  codis-admin [-v] --proxy=ADDR [--auth=AUTH] [overview|config|model|stats|slots]
  codis-admin [-v] --proxy=ADDR [--auth=AUTH]  --start
  codis-admin [-v] --proxy=ADDR [--auth=AUTH]  --shutdown
  codis-admin [-v] --proxy=ADDR [--auth=AUTH]  --log-level=LEVEL
  codis-admin [-v] --proxy=ADDR [--auth=AUTH]  --fillslots=FILE [--locked]
  codis-admin [-v] --proxy=ADDR [--auth=AUTH]  --reset-stats
  codis-admin [-v] --proxy=ADDR [--auth=AUTH]  --forcegc
  codis-admin [-v] --dashboard=ADDR[,ADDR...] [--auth=AUTH] [--product_name=NAME] then one of:
      [overview|config|model|stats|slots|group|proxy]   (overview, the default: all of it; also --overview)
      --shutdown | --reload | --log-level=LEVEL
      --slots-assign   --beg=ID --end=ID (--gid=ID|--offline) [--confirm]
      --slots-status
      --list-proxy | --proxy-status
      --create-proxy   --addr=ADDR
      --online-proxy   --addr=ADDR
      --remove-proxy  (--addr=ADDR|--token=TOKEN|--pid=ID)       [--force]
      --reinit-proxy  (--addr=ADDR|--token=TOKEN|--pid=ID|--all) [--force]
      --list-group | --group-status
      --create-group   --gid=ID
      --remove-group   --gid=ID
      --resync-group  [--gid=ID | --all]
      --group-add      --gid=ID --addr=ADDR [--datacenter=DATACENTER]
      --group-del      --gid=ID --addr=ADDR
      --replica-groups --gid=ID --addr=ADDR (--enable|--disable)
      --promote-server --gid=ID [--addr=ADDR]    (no --addr: the replica with the largest offset)
      --sync-action    --create --addr=ADDR
      --sync-action    --remove --addr=ADDR
      --slot-action    --create --sid=ID --gid=ID
      --slot-action    --remove --sid=ID
      --slot-action    --create-some  --gid-from=ID --gid-to=ID --num-slots=N
      --slot-action    --create-range --beg=ID --end=ID --gid=ID
      --slot-action    --interval=VALUE
      --slot-action    --disabled=VALUE
      --slot-action    --resume --sid=ID      (ours: retry a slot paused on a key)
      --slot-action    --status               (ours: switches, progress, paused slots)
      --rebalance     [--confirm]
      --rebalance      --by=load|bytes|keys [--max-moves=N] [--confirm]   (ours: even out ops/s, bytes/s or keys)
      --slots-stats | --hotkeys | --bigkeys [--json]   (ours: per-slot load, hot keys, big keys of all proxies)
      --sentinel-add   --addr=ADDR
      --sentinel-del   --addr=ADDR [--force]
      --sentinel-resync
      --raft-status [--json]
      --raft-add       --id=N --addr=HOST:PORT [--learner]
      --raft-promote   --id=N
      --raft-remove    --id=N
      --raft-transfer  --id=N
  codis-admin [-v] --remove-lock         --product=NAME COORDINATOR
  codis-admin [-v] --config-dump         --product=NAME COORDINATOR [-1]
  codis-admin [-v] --config-convert=FILE
  codis-admin [-v] --config-restore=FILE --product=NAME COORDINATOR [--confirm]
  codis-admin [-v] --dashboard-list                    COORDINATOR

COORDINATOR is one of:
  --zookeeper=ADDR [--zookeeper-auth=USR:PWD] | --etcd=ADDR [--etcd-auth=USR:PWD] | --filesystem=ROOT |
  --raft=ADDR[,ADDR...] --cluster-secret=SECRET   (the dashboards' embedded Raft store)

Options:
  -a AUTH, --auth=AUTH     product_auth (part of the dashboard's and the proxies' xauth)
  --auth-file=FILE         product_auth from a file (one trailing newline dropped); without --auth or
                           --auth-file, from CODIS_PRODUCT_AUTH. Likewise --cluster-secret-file / CODIS_CLUSTER_SECRET,
                           --zookeeper-auth-file / CODIS_ZOOKEEPER_AUTH, --etcd-auth-file / CODIS_ETCD_AUTH.
  -x ADDR, --addr=ADDR
  -t TOKEN, --token=TOKEN
  -g ID, --gid=ID
  --timeout=MS             per-request timeout (default 30000)
  --tls                    reach dashboards and proxies over HTTPS (their admin_tls_*), with the system's roots
  --ca-file=FILE           HTTPS as --tls, trusting this PEM CA too (the cluster's own)
  -v                       print every request on stderr
`;
