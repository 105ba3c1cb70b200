import type { Group } from "./group.ts";
import type { ProxyModel, SentinelModel } from "./proxy.ts";
import type { SlotMapping } from "./slots.ts";

/** Codis's error body: `{"Cause": ..., "Stack": [...]}`. */
export interface ErrorJson {
  /** The error's message. */
  Cause: string;
  /** Where it was raised, when known. */
  Stack?: string[];
}

/** A sentinel's view of one group: `SENTINEL MASTERS`/`SLAVES` entries as string maps. */
export interface SentinelGroupInfo {
  /** The master's `SENTINEL MASTERS` entry. */
  master: Record<string, string>;
  /** The replicas' `SENTINEL SLAVES` entries. */
  slaves?: Record<string, string>[];
}

/** Polled state of one redis server or sentinel (Codis's `RedisStats`). */
export interface RedisStats {
  /** `INFO` fields plus `maxmemory` and `master_addr` for servers. */
  stats?: Record<string, string>;
  /** Why the last poll failed. */
  error?: ErrorJson;
  /** For sentinels: `{"{product}-{gid}": {master, slaves}}`. */
  sentinel?: Record<string, SentinelGroupInfo>;
  /** When the poll was answered, unix seconds. */
  unixtime: number;
  /** The last poll timed out. */
  timeout?: boolean;
}

/** Polled state of one proxy (Codis's `ProxyStats`). */
export interface ProxyStats {
  /** The proxy's own `GET /api/proxy/stats` answer. */
  stats?: unknown;
  /** Why the last poll failed. */
  error?: ErrorJson;
  /** When the poll was answered, unix seconds. */
  unixtime: number;
  /** The last poll timed out. */
  timeout?: boolean;
}

/** What the dashboard knows about a proxy's long-poll (our addition). */
export interface ProxyAckStats {
  /** The model revision the proxy reported as applied. */
  revision: number;
  /** When the proxy last polled, unix milliseconds. */
  last_seen: number;
}

/** Progress of one slot action (our addition). */
export interface SlotActionProgress {
  /** The slot action's state. */
  state: string;
  /** Keys still in the slot's database on the source, from the last `INFO keyspace`/scan. */
  keys_left?: number;
  /** Keys moved per second over the last interval. */
  keys_per_sec?: number;
  /** Set when the executor paused the slot, e.g. a key too big to move within migration_timeout. */
  error?: string;
  /** Tokens of the proxies that have not applied the revision carrying the current state. */
  held_by?: string[];
}

/** The dashboard's `GET /api/topom/stats` body: Codis's fields, plus optional ones of ours. */
export interface TopomStats {
  /** The dashboard is shutting down. */
  closed: boolean;
  /** Every slot's mapping. */
  slots: SlotMapping[];
  /** The groups and their servers' polled stats by address. */
  group: { models: Group[]; stats: Record<string, RedisStats> };
  /** The proxies and their polled stats by token. */
  proxy: {
    models: ProxyModel[];
    stats: Record<string, ProxyStats>;
    /** Per proxy token. */
    acks?: Record<string, ProxyAckStats>;
  };
  /** Slot migration settings and progress. */
  slot_action: {
    /** µs between migration steps. */
    interval: number;
    disabled: boolean;
    progress: { status: string };
    /** Running executors. */
    executor: number;
    /** Per slot id with an action. */
    slots?: Record<string, SlotActionProgress>;
  };
  /** Sentinel settings, their polled stats, and the masters they report by group. */
  sentinels: { model: SentinelModel; stats: Record<string, RedisStats>; masters: Record<string, string> };
  /** The model revision the stats were taken at. */
  revision?: number;
}
