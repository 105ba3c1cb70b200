/** Number of slots in a Codis cluster. Slot `s` lives in logical database `s` of its group's master. */
export const MAX_SLOT_NUM = 1024;

/** Slot action states, in the order a migration passes through them. */
export type SlotActionState = "" | "pending" | "preparing" | "prepared" | "migrating" | "finished";

/** A slot's stored mapping (`/codis3/{product}/slots/slot-NNNN`). `group_id` 0 means offline. */
export interface SlotMapping {
  id: number;
  group_id: number;
  action: { index?: number; state?: SlotActionState; target_id?: number };
}

/** What a proxy is told about one slot (Codis's `models.Slot`). */
export interface Slot {
  id: number;
  locked?: boolean;
  backend_addr?: string;
  backend_addr_group_id?: number;
  migrate_from?: string;
  migrate_from_group_id?: number;
  /** 0 sync, 1 semi-async; kept for Codis compatibility, the proxy always moves keys before running a command. */
  forward_method?: number;
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
