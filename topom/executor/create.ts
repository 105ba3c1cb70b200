/**
 * The slot migration executor of a dashboard: `topom/executor`'s MigrationExecutor (SCAN + MIGRATE KEYS batches,
 * BUSYKEY → the source's stale copy is dropped, a key too big for migration_timeout pauses its slot).
 * @module
 */
import type { DashboardConfig } from "../config_keys.ts";
import { MigrationExecutor } from "./mod.ts";
import type { SlotExecutor } from "./slot_executor.ts";

/** The executor for a dashboard with `cfg`. */
export function createExecutor(cfg: DashboardConfig): Promise<SlotExecutor> {
  return Promise.resolve(
    new MigrationExecutor({
      auth: cfg.product_auth,
      timeoutMs: cfg.migration_timeout,
      batchKeys: cfg.migration_async_numkeys,
    }),
  );
}
