/**
 * The dashboard's coordinator and who is the active dashboard: with `coordinator_name = "raft"` a Raft node
 * replicating the store among the dashboards (the Raft leader is active); with etcd/ZooKeeper an ephemeral
 * `/codis3/{product}/topom` node held by the active one (standbys retry); with the filesystem Codis's persistent
 * lock node (a single dashboard).
 * @module
 */
import type { TopomModel } from "../../models/mod.ts";
import { RaftNode } from "../../raft/node/node.ts";
import type { CoordClient, Session } from "../../store/client.ts";
import { ExistsError, UnsupportedError } from "../../store/errors.ts";
import { httpForwarder, storeHandler } from "../../store/http.ts";
import { openCoordinator } from "../../store/mod.ts";
import { NamespaceStateMachine } from "../../store/namespace_state.ts";
import { topomPath } from "../../store/paths.ts";
import { RaftStore } from "../../store/raft_client.ts";
import { logger } from "../../util/log.ts";
import { type DashboardConfig, defaultDataDir, raftPeers } from "../config_keys.ts";
import { coordinatorKind } from "../config_keys.ts";
import { encodeJson } from "../model_cache.ts";
import { raftTls } from "../config_tls_keys.ts";
import { resolveClusterSecret } from "./cluster_secret.ts";
import { prepareDataDir } from "./data_dir.ts";

const log = logger("coord");

/** The store plus leadership, as the Topom uses it. */
export interface Coordinator {
  /** Which store holds the model. */
  readonly kind: "raft" | "zookeeper" | "etcd" | "fs";
  /** @internal The store's client. */
  readonly client: CoordClient;
  /** Whether this dashboard is the active one. */
  isLeader(): boolean;
  /** The active dashboard's admin address ("" when unknown; this one's when leader). */
  leaderAdminAddr(): string;
  /** Called when leadership may have changed. */
  onChange(cb: () => void): void;
  /** Raft mode: the node (operator endpoints) and the store HTTP routes for followers' forwarding. */
  raft?: RaftNode;
  /** Raft mode: the store's HTTP routes, for followers that forward writes. */
  storeHandler?: (req: Request) => Promise<Response | undefined>;
  /** Gives up leadership and closes the store client (and the Raft node). */
  close(): Promise<void>;
}

/** Options of {@link openDashboardCoordinator}. */
export interface CoordOptions {
  /** The dashboard's configuration. */
  config: DashboardConfig;
  /** This dashboard's advertised admin address. */
  adminAddr: string;
  /** The Topom node to store under `/codis3/{product}/topom`. */
  topom: TopomModel;
  /** Delete a stale lock first (filesystem/etcd/zookeeper, Codis's `--remove-lock`). */
  removeLock?: boolean;
  /** Raft: start empty and wait to be added by the leader, even when listed in raft_peers. */
  join?: boolean;
}

/** Opens the coordinator named by `config`. */
export function openDashboardCoordinator(opts: CoordOptions): Promise<Coordinator> {
  const kind = coordinatorKind(opts.config);
  return kind === "raft" ? openRaft(opts) : openExternal(kind, opts);
}

async function openRaft(opts: CoordOptions): Promise<Coordinator> {
  const cfg = opts.config;
  const listeners: (() => void)[] = [];
  const fire = () => queueMicrotask(() => listeners.forEach((cb) => cb()));
  const sm = new NamespaceStateMachine();
  const dataDir = cfg.data_dir !== "" ? cfg.data_dir : defaultDataDir(cfg.product_name, cfg.raft_id);
  await prepareDataDir(dataDir);
  const secret = await resolveClusterSecret(cfg, dataDir, opts.join);
  const node = await RaftNode.start({
    id: cfg.raft_id,
    addr: cfg.raft_addr,
    advertise: cfg.raft_advertise || undefined,
    apiAddr: opts.adminAddr,
    peers: new Map(raftPeers(cfg).map((p) => [p.id, p.addr])),
    dataDir,
    clusterId: `codis-${cfg.product_name}`,
    clusterSecret: secret,
    tls: raftTls(cfg),
    join: opts.join,
    bootstrap: cfg.raft_bootstrap === "new" ? "new" : "existing",
    onStateChange: fire,
  }, sm);
  const apiOf = (id: number): string | undefined => {
    if (id === cfg.raft_id) return opts.adminAddr;
    const li = node.leaderInfo();
    if (li.id === id && li.apiAddr) return li.apiAddr;
    return node.status().members.find((m) => m.id === id)?.apiAddr;
  };
  const store = new RaftStore(node, sm, { forward: httpForwarder(secret, (l) => apiOf(l.id)) });
  return {
    kind: "raft",
    client: store.client(),
    raft: node,
    storeHandler: storeHandler(store.host, { secret }),
    isLeader: () => node.status().role === "leader",
    leaderAdminAddr: () => {
      const li = node.leaderInfo();
      return li.id ? apiOf(li.id) ?? "" : "";
    },
    onChange: (cb) => listeners.push(cb),
    async close() {
      store.close();
      await node.close();
    },
  };
}

async function openExternal(kind: "zookeeper" | "etcd" | "fs", opts: CoordOptions): Promise<Coordinator> {
  const cfg = opts.config;
  const client = await openCoordinator({
    name: kind === "fs" ? "filesystem" : kind,
    addr: cfg.coordinator_addr,
    auth: cfg.coordinator_auth || undefined,
  });
  const path = topomPath(cfg.product_name);
  const listeners: (() => void)[] = [];
  let leader = false;
  let leaderAddr = "";
  let closed = false;
  let session: Session | undefined;
  const set = (v: boolean) => {
    if (v !== leader) {
      leader = v;
      log.info(v ? "this dashboard is now active" : "this dashboard is no longer active");
      listeners.forEach((cb) => cb());
    }
  };
  if (opts.removeLock) await client.delete(path);
  const data = encodeJson(opts.topom);
  // A filesystem coordinator has no sessions: Codis's persistent lock node, removed on clean exit.
  const acquire = async (): Promise<boolean> => {
    try {
      if (kind === "fs") {
        await client.create(path, data);
      } else {
        if (session === undefined) {
          // The lost handler is attached once per session: a standby retries acquire() every second.
          const s = await client.openSession({ ttlMs: 5000, autoRenew: true });
          session = s;
          s.lost.then(() => {
            if (session === s) session = undefined;
            set(false);
          });
        }
        await session.createEphemeral(path, data);
      }
      leaderAddr = opts.adminAddr;
      return true;
    } catch (e) {
      if (!(e instanceof ExistsError)) {
        if (e instanceof UnsupportedError) throw e;
        log.warn(`lock ${path}: ${(e as Error).message}`);
      }
      const n = await client.read(path).catch(() => undefined);
      if (n) {
        try {
          leaderAddr = (JSON.parse(new TextDecoder().decode(n.data)) as TopomModel).admin_addr ?? "";
        } catch { /* unreadable lock node */ }
      }
      return false;
    }
  };
  if (kind === "fs" && !(await acquire())) {
    await client.close();
    throw new Error(`dashboard lock ${path} is held by ${leaderAddr || "another dashboard"}; use --remove-lock`);
  }
  if (kind === "fs") set(true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = async () => {
    if (closed) return;
    if (!leader && (await acquire().catch(() => false))) set(true);
    if (!closed) timer = setTimeout(loop, 1000);
  };
  if (kind !== "fs") await loop();
  return {
    kind,
    client,
    isLeader: () => leader,
    leaderAdminAddr: () => leader ? opts.adminAddr : leaderAddr,
    onChange: (cb) => listeners.push(cb),
    async close() {
      closed = true;
      clearTimeout(timer);
      if (leader) await client.delete(path).catch(() => 0);
      await session?.close().catch(() => {});
      await client.close();
    },
  };
}
