/**
 * What the dashboard's I/O steps (sentinel following in ha.ts, group actions in group_actions.ts, stats in stats.ts)
 * need from the dashboard: small views of {@link Topom} (topom.ts), which implements them all, so that each step
 * names what it reads and writes and can be driven by a fake in tests.
 * @module
 */
import type { DashboardConfig } from "../config_keys.ts";
import type { Context, Write } from "../context.ts";
import type { ModelCache } from "../model_cache.ts";
import type { GuardedWrite } from "../scheduler.ts";
import type { ProxyAckStats } from "../../models/mod.ts";
import type { SlotExecutor } from "../executor/slot_executor.ts";

/** Reads and writes of the model by the active dashboard. */
export interface ModelHost {
  /** The product (cluster) name. */
  readonly product: string;
  /** The dashboard's configuration. */
  readonly config: DashboardConfig;
  /** The dashboard is shutting down. */
  readonly closed: boolean;
  /** This dashboard is the active one. */
  isLeader(): boolean;
  /** A context over the current model. */
  context(): Context;
  /** Stores `writes` in order and waits until the model reflects them. */
  write(writes: readonly Write[]): Promise<void>;
  /** Runs `fn` with the model lock held. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** What holding a group for a master switch needs (switch_barrier.ts): the model and the proxies' acknowledgements. */
export interface SwitchHost extends ModelHost {
  /** The model as last read from the store. */
  readonly cache: ModelCache;
  /** Per proxy token: the revision it reported applied, and when. */
  readonly acks: ReadonlyMap<string, ProxyAckStats>;
}

/** What promoting a replica of a lost master needs (promote_io.ts): the model and the executor's running slots. */
export interface PromoteHost extends ModelHost {
  /** Moves slots' keys; a group whose slots are moving is not promoted. */
  readonly executor: SlotExecutor;
}

/** What the group actions (promotions, sync actions) need: the model, a guarded write and a scheduler pass. */
export interface GroupActionsHost extends ModelHost {
  /** Stores one write if its node is still at the expected revision; false when someone changed it. */
  casWrite(g: GuardedWrite): Promise<boolean>;
  /** Asks for a scheduler pass soon. */
  kick(): void;
}

/**
 * What the stats need: the model as cached, the acknowledgements, the executor and the scheduler's last view; and
 * what promoting a lost master needs, which the stats poll finds.
 */
export interface StatsHost extends PromoteHost {
  /** The model as last read from the store. */
  readonly cache: ModelCache;
  /** Per proxy token: the revision it reported applied, and when. */
  readonly acks: ReadonlyMap<string, ProxyAckStats>;
  /** Moves slots' keys; its progress shows per slot. */
  readonly executor: SlotExecutor;
  /** Slot id → proxies that have not applied the slot's current state. */
  readonly holders: Readonly<Record<number, readonly string[]>>;
  /** `slots/action/interval` (µs). */
  readonly interval: number;
  /** `slots/action/disabled`. */
  readonly disabled: boolean;
  /** The last progress line. */
  readonly lastProgress: string;
  /** Revision of the last change to slots, groups or the sentinel. */
  readonly routingRevision: number;
}
