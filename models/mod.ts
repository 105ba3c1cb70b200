/**
 * Shared cluster model types: slots, groups, proxies and sentinels, with Codis's JSON field names, and the Raft
 * store's status as the dashboard serves it.
 * @module
 */
export * from "./slots.ts";
export * from "./group.ts";
export * from "./proxy.ts";
export * from "./topom.ts";
export * from "./stats.ts";
export * from "./raft.ts";
export * from "./load_stats.ts";
