/** Sync action state of a group server. */
export type ServerActionState = "" | "pending" | "syncing" | "synced" | "synced_failed";

/** One server of a group; index 0 of `Group.servers` is the master. */
export interface GroupServer {
  /** The server's address, host:port. */
  server: string;
  /** Datacenter name, used to prefer nearby replicas. */
  datacenter: string;
  /** The server's pending or running resync: its order (`index`) and state. */
  action: { index?: number; state?: ServerActionState };
  /** Whether the proxies may read from it as a replica. */
  replica_group: boolean;
}

/** A group (`/codis3/{product}/group/group-NNNN`). */
export interface Group {
  /** The group id, 1..9999. */
  id: number;
  /** The group's servers, master first. */
  servers: GroupServer[];
  /** A running promotion of a replica to master: its order (`index`) and state. */
  promoting: { index?: number; state?: "" | "preparing" | "prepared" | "finished" };
  /** The group changed since the proxies were last told. */
  out_of_sync: boolean;
  /**
   * Not in Codis's model (absent when unset). Set when the dashboard itself made `servers[0]` the master (a promotion,
   * which Sentinel does not see as a failover): a sentinel's view of this group naming another master with a
   * `config-epoch` of at most `epoch` predates that master and is not followed (topom/sentinel_fence.ts). `epoch`
   * absent: no sentinel answered at the promotion, so no such view is followed. Cleared by `sentinels/resync-all`.
   */
  sentinel_fence?: SentinelFence;
}

/** See {@link Group.sentinel_fence}. */
export interface SentinelFence {
  /** The highest `config-epoch` the sentinels had for the group when the dashboard changed its master. */
  epoch?: number;
}

/** Highest group id Codis accepts. */
export const MAX_GROUP_ID = 9999;
