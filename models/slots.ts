/** Number of slots in a Codis cluster. Slot `s` lives in logical database `s` of its group's master. */
export const MAX_SLOT_NUM = 1024;

/** Slot action states, in the order a migration passes through them. */
export type SlotActionState = "" | "pending" | "preparing" | "prepared" | "migrating" | "finished";

/** A slot's stored mapping (`/codis3/{product}/slots/slot-NNNN`). `group_id` 0 means offline. */
export interface SlotMapping {
  /** The slot number, 0..1023. */
  id: number;
  /** The group serving the slot; 0 while it is offline. */
  group_id: number;
  /** The slot's pending or running migration: its order (`index`), state and target group. */
  action: { index?: number; state?: SlotActionState; target_id?: number };
}

/** What a proxy is told about one slot (Codis's `models.Slot`). */
export interface Slot {
  /** The slot number, 0..1023. */
  id: number;
  /** Requests wait while the slot is locked (during a group's promotion). */
  locked?: boolean;
  /** Master serving the slot, host:port. */
  backend_addr?: string;
  /** The group of `backend_addr`. */
  backend_addr_group_id?: number;
  /** While the slot migrates: the source master, whose keys are moved before a command runs. */
  migrate_from?: string;
  /** The group of `migrate_from`. */
  migrate_from_group_id?: number;
  /** 0 sync, 1 semi-async; kept for Codis compatibility, the proxy always moves keys before running a command. */
  forward_method?: number;
  /** Replica servers by preference (same datacenter first) for reads, when replica reads are on. */
  replica_groups?: string[][];
}

/**
 * Spreads the 1024 slots over `groupAddrs.length` groups in even contiguous ranges; group i (1-based id i+1)
 * is served by `groupAddrs[i]`.
 */
export function evenSlotRanges(groupAddrs: string[]): Slot[] {
  const n = groupAddrs.length;
  if (n === 0) throw new Error("at least one backend is needed");
  const slots: Slot[] = [];
  for (let id = 0; id < MAX_SLOT_NUM; id++) {
    const g = Math.floor((id * n) / MAX_SLOT_NUM);
    slots.push({ id, backend_addr: groupAddrs[g], backend_addr_group_id: g + 1 });
  }
  return slots;
}
