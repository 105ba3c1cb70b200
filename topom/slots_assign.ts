/**
 * Static slot assignment (Codis's `SlotsAssignGroup` / `SlotsAssignOffline`): re-map slots without moving data,
 * for initialisation and for taking slots offline.
 * @module
 */
import type { SlotMapping } from "../models/mod.ts";
import { type Context, TopomError, type Write } from "./context.ts";

/** One entry of the `slots/assign` body. */
export interface SlotAssignment {
  id: number;
  group_id: number;
  /** Must be empty; any state is refused ("invalid slot-[id] action = state"). */
  action?: { index?: number; state?: string; target_id?: number };
}

function checkSlot(ctx: Context, a: SlotAssignment): SlotMapping {
  const m = ctx.getSlotMapping(a.id);
  if (a.action?.state) throw new TopomError(`invalid slot-[${a.id}] action = ${a.action.state}`, 400);
  if (m.action.state) throw new TopomError(`slot-[${a.id}] action already exists`);
  return m;
}

/**
 * `PUT /api/topom/slots/assign/:xauth`: map each slot to its group. Every group must exist and have servers, and
 * no slot may have an action. Each target group not yet out of sync is marked out of sync first (as Codis does;
 * resync clears it), then the slots are written.
 */
export function slotsAssignGroup(ctx: Context, slots: readonly SlotAssignment[]): Write[] {
  const seen = new Set<number>();
  for (const a of slots) {
    checkSlot(ctx, a);
    const g = ctx.getGroup(a.group_id);
    if (g.servers.length === 0) throw new TopomError(`group-[${g.id}] is empty`);
    if (seen.has(a.id)) throw new TopomError(`slot-[${a.id}] is assigned twice`, 400);
    seen.add(a.id);
  }
  const writes: Write[] = [];
  const marked = new Set<number>();
  for (const a of slots) {
    const g = ctx.getGroup(a.group_id);
    if (g.out_of_sync || marked.has(g.id)) continue;
    marked.add(g.id);
    writes.push({ kind: "group", group: { ...g, out_of_sync: true } });
  }
  for (const a of slots) writes.push({ kind: "slot", slot: { id: a.id, group_id: a.group_id, action: {} } });
  return writes;
}

/** `PUT /api/topom/slots/assign/:xauth/offline`: take slots offline; every entry must have `group_id` 0. */
export function slotsAssignOffline(ctx: Context, slots: readonly SlotAssignment[]): Write[] {
  for (const a of slots) {
    checkSlot(ctx, a);
    if (a.group_id !== 0) throw new TopomError(`group of slot-[${a.id}] should be 0`, 400);
  }
  return slots.map((a) => ({ kind: "slot", slot: { id: a.id, group_id: 0, action: {} } }));
}

/** The assignments of `beg..end` to `gid` (0 = offline), as codis-admin's `--slots-assign` builds them. */
export function slotRangeAssignments(beg: number, end: number, gid: number): SlotAssignment[] {
  const out: SlotAssignment[] = [];
  for (let sid = beg; sid <= end; sid++) out.push({ id: sid, group_id: gid, action: {} });
  return out;
}
