/**
 * Commands of the replicated namespace and their wire form. A command is one Raft log entry; its encoding is
 * JSON (UTF-8) with node data in base64, so a log dump stays readable.
 * @module
 */
import { Buffer } from "node:buffer";
import type { ErrorInfo } from "./errors.ts";

/** Fields every command may carry. */
export interface CommandBase {
  /** Request id for exactly-once application (see WriteOptions.requestId). */
  rid?: string;
}

/** A namespace command. Node data is base64. */
export type Command =
  & CommandBase
  & (
    | { op: "create"; path: string; data: string; session?: string; inOrder?: boolean }
    | { op: "update"; path: string; data: string }
    | { op: "delete"; path: string }
    | { op: "cas"; path: string; data: string | null; expected: number }
    | { op: "sessionOpen"; session: string; ttlMs: number }
    | { op: "keepAlive"; session: string }
    | { op: "sessionExpire"; session: string; reason: "expired" | "closed" }
    | { op: "compact"; revision: number }
    | { op: "batch"; ops: BatchCommandOp[] }
  );

/** One op of a batch command (data in base64). */
export type BatchCommandOp =
  | { op: "create" | "update"; path: string; data: string }
  | { op: "delete"; path: string }
  | { op: "check"; path: string; expected: number };

/** The result of applying one command; identical on every member. */
export type ApplyResult =
  | { ok: true; revision: number; path?: string }
  | { ok: false; error: ErrorInfo };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a command as log entry data. */
export function encodeCommand(cmd: Command): Uint8Array {
  return enc.encode(JSON.stringify(cmd));
}

/** Decodes log entry data; throws on malformed input. */
export function decodeCommand(data: Uint8Array): Command {
  const cmd = JSON.parse(dec.decode(data));
  if (!cmd || typeof cmd !== "object" || typeof cmd.op !== "string") throw new Error("malformed namespace command");
  return cmd as Command;
}

/** Bytes → base64. */
export function b64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

/** base64 → bytes (a fresh copy). */
export function unb64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}
