/**
 * The store: one coordination interface ({@link CoordClient}) over embedded Raft (the default), the filesystem,
 * etcd and ZooKeeper (and memory, for unit tests).
 *
 * The Raft store needs a running Raft node, so the dashboard builds it itself (see `raft_client.ts`); every other
 * backend opens from a coordinator name and address, like Codis's `models.NewClient`:
 * ```ts
 * const c = await openCoordinator({ name: "etcd", addr: "127.0.0.1:2379" });
 * ```
 * @module
 */
import type { CoordClient } from "./client.ts";
import { InvalidArgumentError } from "./errors.ts";
import { EtcdClient } from "./etcd.ts";
import { openFsClient } from "./fs.ts";
import { MemoryStore } from "./memory.ts";
import { ZooKeeperClient } from "./zookeeper.ts";

export * from "./client.ts";
export * as paths from "./paths.ts";
export { FsStore, openFsClient } from "./fs.ts";
export { EtcdClient } from "./etcd.ts";
export { ZooKeeperClient } from "./zookeeper.ts";
export { MemoryStore } from "./memory.ts";
export { type Forwarder, RaftStore } from "./raft_client.ts";
export { httpForwarder, STORE_BASE_PATH, storeHandler } from "./http.ts";
export { HttpStoreClient } from "./http_client.ts";
export { NamespaceStateMachine } from "./namespace_state.ts";
export { watchInOrder } from "./watch_in_order.ts";

/** Which external coordinator to open. */
export interface CoordinatorSpec {
  /** "etcd", "zookeeper" (or "zk"), "filesystem" (or "fs"), "memory". "raft" is built by the dashboard. */
  name: string;
  /** etcd: "host:port[,host:port]"; zookeeper: its connect string; filesystem: the root directory. */
  addr: string;
  /** Timeout for connecting/session setup, ms (default 10 s). */
  timeoutMs?: number;
  /** "user:password" for etcd or ZooKeeper (Codis's `--etcd-auth` / `--zookeeper-auth`). */
  auth?: string;
}

/** Opens a client for a non-Raft coordinator. */
export async function openCoordinator(spec: CoordinatorSpec): Promise<CoordClient> {
  switch (spec.name) {
    case "etcd": {
      const c = new EtcdClient({
        endpoints: spec.addr.split(",").filter(Boolean),
        dialTimeoutMs: spec.timeoutMs,
        auth: spec.auth,
      });
      try {
        await c.revision();
      } catch (e) {
        await c.close();
        throw e;
      }
      return c;
    }
    case "zk":
    case "zookeeper":
      return await ZooKeeperClient.connect({ connect: spec.addr, connectTimeoutMs: spec.timeoutMs, auth: spec.auth });
    case "fs":
    case "filesystem":
      return await openFsClient(spec.addr);
    case "memory":
      return new MemoryClientOwner(new MemoryStore());
    case "raft":
      throw new InvalidArgumentError("the raft coordinator runs inside the dashboard: build it with RaftStore");
    default:
      throw new InvalidArgumentError(`invalid coordinator name ${JSON.stringify(spec.name)}`);
  }
}

/** A memory client that owns (and closes) its private store. */
class MemoryClientOwner implements CoordClient {
  readonly kind = "memory" as const;
  private readonly c: CoordClient;
  constructor(private readonly store: MemoryStore) {
    this.c = store.client();
  }
  create: CoordClient["create"] = (...a) => this.c.create(...a);
  update: CoordClient["update"] = (...a) => this.c.update(...a);
  delete: CoordClient["delete"] = (...a) => this.c.delete(...a);
  cas: CoordClient["cas"] = (...a) => this.c.cas(...a);
  batch: CoordClient["batch"] = (...a) => this.c.batch(...a);
  read = ((path: string, must?: boolean) => this.c.read(path, must)) as CoordClient["read"];
  list: CoordClient["list"] = (...a) => this.c.list(...a);
  revision: CoordClient["revision"] = () => this.c.revision();
  waitForChanges: CoordClient["waitForChanges"] = (...a) => this.c.waitForChanges(...a);
  watch: CoordClient["watch"] = (...a) => this.c.watch(...a);
  compact: CoordClient["compact"] = (...a) => this.c.compact(...a);
  openSession: CoordClient["openSession"] = (...a) => this.c.openSession(...a);
  async close(): Promise<void> {
    await this.c.close();
    this.store.close();
  }
}
