/**
 * zod schemas for the admin API's request bodies.
 * @module
 */
import { z } from "zod";
import { MAX_SLOT_NUM, type Slot } from "../../models/slots.ts";

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-_]*):(\d{1,5})$/;

/** A backend address "HOST:PORT"; the empty string means "none" (an offline slot, no migration). */
const addr = z.string().refine((s) => {
  if (s === "") return true;
  const m = HOST_PORT.exec(s);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}, { message: "must be a HOST:PORT address" });

const nonEmptyAddr = addr.refine((s) => s !== "", { message: "must be a HOST:PORT address" });

/** Codis's models.Slot as sent by the dashboard. Unknown fields are dropped. */
export const SlotSchema = z.object({
  id: z.number().int().min(0).max(MAX_SLOT_NUM - 1),
  locked: z.boolean().optional(),
  backend_addr: addr.optional(),
  backend_addr_group_id: z.number().int().min(0).optional(),
  migrate_from: addr.optional(),
  migrate_from_group_id: z.number().int().min(0).optional(),
  forward_method: z.union([z.literal(0), z.literal(1)]).optional(),
  replica_groups: z.array(z.array(nonEmptyAddr)).nullable().optional(),
});

/** Body of PUT /api/proxy/fillslots: a list of slots. */
export const FillSlotsSchema = z.array(SlotSchema).max(MAX_SLOT_NUM * 4);

/** Body of PUT /api/proxy/sentinels: Codis's models.Sentinel. */
export const SentinelsSchema = z.object({
  servers: z.array(nonEmptyAddr).nullable().optional(),
  out_of_sync: z.boolean().optional(),
});

/** One line describing the first problem, with its JSON path, e.g. `[3].id: Too big: expected number to be <=1023`. */
export function zodMessage(err: z.ZodError): string {
  const i = err.issues[0];
  const path = i.path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`).join("").replace(/^\./, "");
  return path ? `${path}: ${i.message}` : i.message;
}

/**
 * Validates a parsed JSON slot list (a fillslots body or a `--fillslots` file) and returns it as Slot[], with Go's
 * null slices dropped. Throws an Error whose message is one line naming the offending element.
 */
export function parseSlots(value: unknown): Slot[] {
  const parsed = FillSlotsSchema.safeParse(value);
  if (!parsed.success) throw new Error(`invalid slots: ${zodMessage(parsed.error)}`);
  return parsed.data.map((s) => {
    const { replica_groups, ...rest } = s;
    return replica_groups ? { ...rest, replica_groups } : rest;
  });
}
