/**
 * The operator's slot-action switches, `slots/action/interval` and `slots/action/disabled`, as a node of the
 * product: `/codis3/{product}/slot-action` holds `{"interval": µs, "disabled": bool}`. Codis keeps them in the
 * dashboard's memory; storing them lets every dashboard of a Raft group (and a restarted one) see them, so a new
 * leader does not start migrating slots the operator had paused.
 *
 * Pure: decoding, defaults and the transitions of the two routes. An absent node means Codis's start-up state
 * (interval 0, enabled).
 * @module
 */
import { productDir } from "../store/paths.ts";
import type { Context, Write } from "./context.ts";

/** Largest accepted `slots/action/interval` value, in microseconds (Codis clamps to 0..1s). */
export const MAX_ACTION_INTERVAL_US = 1_000_000;

/** The stored switches; the field names are those of Codis's stats `slot_action` object. */
export interface SlotActionSettings {
  /** Least time between two steps of one slot, in µs (0..1 000 000). */
  interval: number;
  /** Pending actions do not start and executors idle. */
  disabled: boolean;
}

/** The state of a cluster that never stored the node. */
export const DEFAULT_SLOT_ACTION: Readonly<SlotActionSettings> = Object.freeze({ interval: 0, disabled: false });

/** `/codis3/{product}/slot-action`. */
export function slotActionPath(product: string): string {
  return `${productDir(product)}/slot-action`;
}

/** Clamps `slots/action/interval` to 0..1 000 000 µs, as Codis does. */
export function clampActionInterval(us: number): number {
  if (!Number.isFinite(us)) return 0;
  return Math.min(MAX_ACTION_INTERVAL_US, Math.max(0, Math.trunc(us)));
}

/**
 * The settings in a decoded node; fields that are missing or of the wrong type take their defaults, so a node
 * written by hand (or by a later version with more fields) never stops the scheduler.
 */
export function decodeSlotActionSettings(v: unknown): SlotActionSettings {
  const o = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  return {
    interval: typeof o.interval === "number" ? clampActionInterval(o.interval) : DEFAULT_SLOT_ACTION.interval,
    disabled: typeof o.disabled === "boolean" ? o.disabled : DEFAULT_SLOT_ACTION.disabled,
  };
}

function change(ctx: Context, next: SlotActionSettings): Write[] {
  const cur = ctx.slotAction;
  // Writing an unchanged value would only wake every follower and long-poll for nothing.
  if (cur.interval === next.interval && cur.disabled === next.disabled) return [];
  return [{ kind: "slot-action", settings: next }];
}

/** `PUT /api/topom/slots/action/interval/:xauth/:value` (clamped to 0..1 000 000 µs). */
export function setSlotActionInterval(ctx: Context, us: number): Write[] {
  return change(ctx, { ...ctx.slotAction, interval: clampActionInterval(us) });
}

/** `PUT /api/topom/slots/action/disabled/:xauth/:value`. */
export function setSlotActionDisabled(ctx: Context, disabled: boolean): Write[] {
  return change(ctx, { ...ctx.slotAction, disabled });
}
