/** Sync action state of a group server. */
export type ServerActionState = "" | "pending" | "syncing" | "synced" | "synced_failed";

/** One server of a group; index 0 of `Group.servers` is the master. */
export interface GroupServer {
  server: string;
  datacenter: string;
  action: { index?: number; state?: ServerActionState };
  replica_group: boolean;
}

/** A group (`/codis3/{product}/group/group-NNNN`). */
export interface Group {
  id: number;
  servers: GroupServer[];
  promoting: { index?: number; state?: "" | "preparing" | "prepared" | "finished" };
  out_of_sync: boolean;
}

/** Highest group id Codis accepts. */
export const MAX_GROUP_ID = 9999;
