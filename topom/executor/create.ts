/**
 * The slot migration executor of a dashboard: `topom/executor`'s MigrationExecutor (SCAN + MIGRATE KEYS batches,
 * BUSYKEY → the source's stale copy is dropped, a key too big for migration_timeout pauses its slot).
 * @module
 */
import { MigrationExecutor } from "./executor.ts";
import type { SlotExecutor } from "./slot_executor.ts";

/** The dashboard settings the executor uses (a `DashboardConfig` from `topom/config_keys.ts` has them). */
export interface ExecutorConfig {
  product_auth: string;
  migration_timeout: number;
  migration_async_numkeys: number;
}

/** The executor for a dashboard with `cfg`. */
export function createExecutor(cfg: ExecutorConfig): Promise<SlotExecutor> {
  return Promise.resolve(
    new MigrationExecutor({
      auth: cfg.product_auth,
      timeoutMs: cfg.migration_timeout,
      batchKeys: cfg.migration_async_numkeys,
    }),
  );
}
