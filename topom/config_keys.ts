/**
 * The dashboard.toml key table: Codis's keys and defaults plus the Raft keys, with their docs and checks, and
 * the parsing of `raft_peers`. Drives defaults, validation, flags and `--default-config` in config.ts.
 * @module
 */
import { secretFileDoc, secretSpec } from "../util/secrets.ts";
import { checkHostPort, type ConfigKeyDef as KeyDef, type ConfigKind as Kind } from "../util/config_table.ts";

import { type DashboardTlsConfig, TLS_KEYS } from "./config_tls_keys.ts";

export { checkHostPort, type KeyDef, type Kind };
/** The parsed dashboard configuration. Durations are milliseconds, sizes are bytes. */
export interface DashboardConfig extends DashboardTlsConfig {
  /**
   * Where the cluster model lives: "raft" (embedded, replicated by the dashboards themselves), "zookeeper"/"zk",
   * "etcd" or "filesystem"/"fs" (a single dashboard, as in Codis).
   */
  coordinator_name: string;
  /** zookeeper/etcd address list, or the filesystem root directory. */
  coordinator_addr: string;
  /** zookeeper/etcd credentials, user:password. */
  coordinator_auth: string;
  /** A file holding coordinator_auth (used when coordinator_auth is empty; one trailing newline is dropped). */
  coordinator_auth_file: string;
  /** Cluster (product) name. */
  product_name: string;
  /** Redis requirepass/masterauth, sentinel auth-pass, and part of the admin xauth. */
  product_auth: string;
  /** A file holding product_auth (used when product_auth is empty; one trailing newline is dropped). */
  product_auth_file: string;
  /** HTTP API listen address (HOST:PORT). */
  admin_addr: string;
  /** "sync" or "semi-async"; also sent to proxies as forward_method. */
  migration_method: "sync" | "semi-async";
  /** Most slots migrating at once (only across disjoint group pairs). */
  migration_parallel_slots: number;
  /**
   * Accepted for Codis compatibility (its async restore messages); MIGRATE batches are sized by
   * migration_async_numkeys and shrink by themselves when slow.
   */
  migration_async_maxbulks: number;
  /** Accepted for Codis compatibility; see migration_async_maxbulks. */
  migration_async_maxbytes: number;
  /** Keys per MIGRATE batch (Codis: 500). */
  migration_async_numkeys: number;
  /** Time one migration command may take; a key too big to move within it pauses its slot. */
  migration_timeout: number;
  /** Timeout of sentinel admin commands. */
  sentinel_client_timeout: number;
  /** SENTINEL MONITOR quorum. */
  sentinel_quorum: number;
  /** parallel-syncs. */
  sentinel_parallel_syncs: number;
  /** down-after-milliseconds. */
  sentinel_down_after: number;
  /** failover-timeout. */
  sentinel_failover_timeout: number;
  /** notification-script (empty: none). */
  sentinel_notification_script: string;
  /** client-reconfig-script (empty: none). */
  sentinel_client_reconfig_script: string;
  /**
   * How often the active dashboard also asks the sentinels for the masters, in case a +switch-master event was missed
   * (failovers are followed at once through the sentinels' +switch-master events).
   */
  sentinel_poll_period: number;
  /**
   * Without sentinels: a group's master that has not answered the dashboard for this long is replaced by its replica
   * with the most data (largest replication offset), through the same barrier as a manual promotion; the old master
   * becomes a replica once it answers again.
   */
  promote_after_master_down: number;
  /** This dashboard's member id. */
  raft_id: number;
  /** Listen address for Raft peer traffic (HOST:PORT). */
  raft_addr: string;
  /** Raft address announced to peers (HOST:PORT), when it differs from raft_addr; empty: raft_addr. */
  raft_advertise: string;
  /** Initial members, "ID=HOST:PORT,...", e.g. */
  raft_peers: string;
  /** What an empty data_dir means (etcd's initial-cluster-state). */
  raft_bootstrap: string;
  /** Directory of the Raft log and snapshots. */
  data_dir: string;
  /** Shared secret authenticating Raft peer traffic between dashboards. */
  cluster_secret: string;
  /** A file holding cluster_secret (used when cluster_secret is empty; one trailing newline is dropped). */
  cluster_secret_file: string;
}

/** Coordinator names accepted by `coordinator_name`. */
export const COORDINATORS = ["raft", "zookeeper", "zk", "etcd", "filesystem", "fs"] as const;

/** The key table, in file order. */
export const KEYS: { [K in keyof DashboardConfig]: KeyDef } = {
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
  coordinator_auth_file: { kind: "string", def: "", doc: secretFileDoc(secretSpec("coordinator_auth")) },
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
    doc: "Redis requirepass/masterauth, sentinel auth-pass, and part of the admin xauth.\n" +
      "Required when admin_addr is not a loopback address (the dashboard refuses to start without it).",
    secret: true,
  },
  product_auth_file: { kind: "string", def: "", doc: secretFileDoc(secretSpec("product_auth")) },
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
  migration_async_maxbulks: {
    kind: "int",
    def: 200,
    min: 1,
    doc: "Accepted for Codis compatibility (its async restore messages); MIGRATE batches are sized by\n" +
      "migration_async_numkeys and shrink by themselves when slow.",
  },
  migration_async_maxbytes: {
    kind: "size",
    def: "32mb",
    min: 1,
    doc: "Accepted for Codis compatibility; see migration_async_maxbulks.",
  },
  migration_async_numkeys: { kind: "int", def: 1000, min: 1, doc: "Keys per MIGRATE batch (Codis: 500)." },
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
  sentinel_poll_period: {
    kind: "duration",
    def: "10s",
    min: 1,
    doc: "How often the active dashboard also asks the sentinels for the masters, in case a +switch-master\n" +
      "event was missed (failovers are followed at once through the sentinels' +switch-master events).",
  },
  promote_after_master_down: {
    kind: "duration",
    def: "0s",
    doc: "Without sentinels: a group's master that has not answered the dashboard for this long is replaced by\n" +
      "its replica with the most data (largest replication offset), through the same barrier as a manual\n" +
      "promotion; the old master becomes a replica once it answers again. 0: never (as Codis). Ignored while\n" +
      "the product has sentinels: they decide.",
  },
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
  raft_advertise: {
    kind: "string",
    def: "",
    doc: "Raft address announced to the other members (HOST:PORT) when it is not raft_addr, e.g. behind NAT or\n" +
      "a forwarder. Empty: raft_addr.",
    check: (v) => v === "" ? undefined : checkHostPort(v),
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
  raft_bootstrap: {
    kind: "string",
    def: "existing",
    doc: 'What an empty data_dir means (etcd\'s initial-cluster-state). "new": the first start of a new group:\n' +
      'found it with raft_peers. "existing": the group may exist and this member lost its data: wait for the\n' +
      'leader to send the group\'s state, and vote only once it has. Start the founders of a new group with "new"\n' +
      "(they may keep it: a data_dir that holds data ignores it). A member alone in raft_peers (or with raft_peers\n" +
      "empty, as Codis's single dashboard) founds its group either way.",
    check: (v) => v === "new" || v === "existing" ? undefined : `"${v}" is not new or existing`,
  },
  data_dir: {
    kind: "string",
    def: "",
    doc: "Directory of the Raft log and snapshots (created 0700). Empty: $XDG_STATE_HOME/codis-deno/raft/" +
      "{product_name}/node-{raft_id},\nor ~/.local/state/codis-deno/... without XDG_STATE_HOME, or " +
      "./codis-deno-state/... without HOME.",
  },
  cluster_secret: {
    kind: "string",
    def: "",
    doc: "Shared secret authenticating Raft peer traffic and the store routes (/api/store/*) between dashboards;\n" +
      "never derived from anything else. Required when raft_addr is not a loopback address or there are other\n" +
      "members; a lone member on loopback without it generates a random one in data_dir/cluster_secret (0600).",
    secret: true,
  },
  ...TLS_KEYS,
  cluster_secret_file: { kind: "string", def: "", doc: secretFileDoc(secretSpec("cluster_secret")) },
};

/**
 * The default data directory of a dashboard: under `$XDG_STATE_HOME` (or `~/.local/state`) rather than /tmp, where
 * other users could read it or plant a directory first; relative to the working directory without HOME.
 */
export function defaultDataDir(product: string, raftId: number): string {
  const env = (k: string): string | undefined => {
    try {
      return Deno.env.get(k) || undefined;
    } catch {
      return undefined; // no --allow-env
    }
  };
  const home = env("HOME");
  const base = env("XDG_STATE_HOME") ?? (home ? `${home}/.local/state` : undefined);
  return `${base ? `${base}/codis-deno` : "codis-deno-state"}/raft/${product}/node-${raftId}`;
}

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
