/**
 * Linearizability checking of client histories (Porcupine-style).
 * @module
 */

export { checkOperations, checkPartition } from "./checker.ts";
export type { CheckResult, Model, Operation } from "./checker.ts";
export { kvModel } from "./kv_model.ts";
export type { KvInput, KvOperation, KvOutput } from "./kv_model.ts";
