/**
 * Encoding of Raft messages for the wire, with strict validation of everything decoded.
 *
 * Messages travel as UTF-8 JSON in which every `Uint8Array` is a base64 string. The decoder trusts nothing: it
 * rebuilds a fresh {@link Message} field by field and throws {@link CodecError} on any unexpected type, range or
 * size, so that a peer holding the cluster secret but running buggy code still cannot crash this node.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  type ConfState,
  type Entry,
  type Message,
  MESSAGE_TYPES,
  type MessageType,
  type SnapshotMeta,
} from "./types.ts";

/** Thrown when bytes do not decode to a well-formed message. */
export class CodecError extends Error {
  override name = "CodecError";
}

const KNOWN_TYPES: ReadonlySet<string> = new Set<string>(MESSAGE_TYPES);

/** Local-only message types that must never arrive from the network. */
const LOCAL_ONLY: ReadonlySet<string> = new Set(["hup", "beat"]);

/** Upper bound for any index, term or id: the largest integer a double holds exactly. */
const MAX_INT = Number.MAX_SAFE_INTEGER;
/** Upper bound on entries in one message, to bound decoding work. */
const MAX_ENTRIES = 100_000;
/** Upper bound on peers in snapshot metadata. */
const MAX_MEMBERS = 1000;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function b64(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("base64");
}

function unb64(s: unknown, what: string): Uint8Array {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new CodecError(`${what}: not base64`);
  }
  const b = Buffer.from(s, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function int(v: unknown, what: string, min = 0): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > MAX_INT) {
    throw new CodecError(`${what}: not an integer in range`);
  }
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CodecError(`${what}: not an object`);
  return v as Record<string, unknown>;
}

function ids(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length > MAX_MEMBERS) throw new CodecError(`${what}: not a list of ids`);
  return v.map((x, i) => int(x, `${what}[${i}]`, 1));
}

/** Validates a decoded ConfState. */
export function checkConfState(v: unknown): ConfState {
  const o = obj(v, "conf");
  return { voters: ids(o.voters, "conf.voters"), learners: ids(o.learners, "conf.learners") };
}

/** Validates decoded snapshot metadata. */
export function checkSnapshotMeta(v: unknown): SnapshotMeta {
  const o = obj(v, "meta");
  const addrsIn = obj(o.addrs, "meta.addrs");
  const keys = Object.keys(addrsIn);
  if (keys.length > MAX_MEMBERS) throw new CodecError("meta.addrs: too many");
  const addrs: Record<string, string> = {};
  for (const k of keys) {
    const a = addrsIn[k];
    if (!/^[1-9][0-9]{0,15}$/.test(k) || typeof a !== "string" || a.length > 255) {
      throw new CodecError("meta.addrs: bad entry");
    }
    addrs[k] = a;
  }
  return { index: int(o.index, "meta.index"), term: int(o.term, "meta.term"), conf: checkConfState(o.conf), addrs };
}

function entryToJson(e: Entry): unknown {
  return [e.term, e.index, e.type === "conf" ? 1 : 0, b64(e.data)];
}

function entryFromJson(v: unknown, i: number): Entry {
  if (!Array.isArray(v) || v.length !== 4) throw new CodecError(`entries[${i}]: malformed`);
  const t = v[2];
  if (t !== 0 && t !== 1) throw new CodecError(`entries[${i}]: bad type`);
  return {
    term: int(v[0], `entries[${i}].term`),
    index: int(v[1], `entries[${i}].index`, 1),
    type: t === 1 ? "conf" : "normal",
    data: unb64(v[3], `entries[${i}].data`),
  };
}

/** Encodes a message to bytes. */
export function encodeMessage(m: Message): Uint8Array {
  const o: Record<string, unknown> = { type: m.type, from: m.from, to: m.to, term: m.term };
  if (m.index !== undefined) o.index = m.index;
  if (m.logTerm !== undefined) o.logTerm = m.logTerm;
  if (m.commit !== undefined) o.commit = m.commit;
  if (m.reject !== undefined) o.reject = m.reject;
  if (m.rejectHint !== undefined) o.rejectHint = m.rejectHint;
  if (m.entries !== undefined) o.entries = m.entries.map(entryToJson);
  if (m.context !== undefined) o.context = b64(m.context);
  if (m.snapshot !== undefined) {
    const s = m.snapshot;
    o.snapshot = { meta: s.meta, offset: s.offset, data: b64(s.data), done: s.done };
  }
  return enc.encode(JSON.stringify(o));
}

/** Decodes and validates a message; throws {@link CodecError} on anything malformed. */
export function decodeMessage(bytes: Uint8Array): Message {
  let raw: unknown;
  try {
    raw = JSON.parse(dec.decode(bytes));
  } catch {
    throw new CodecError("message: not JSON");
  }
  const o = obj(raw, "message");
  if (typeof o.type !== "string" || !KNOWN_TYPES.has(o.type) || LOCAL_ONLY.has(o.type)) {
    throw new CodecError("message: bad type");
  }
  const m: Message = {
    type: o.type as MessageType,
    from: int(o.from, "from", 1),
    to: int(o.to, "to", 1),
    term: int(o.term, "term"),
  };
  if (o.index !== undefined) m.index = int(o.index, "index");
  if (o.logTerm !== undefined) m.logTerm = int(o.logTerm, "logTerm");
  if (o.commit !== undefined) m.commit = int(o.commit, "commit");
  if (o.rejectHint !== undefined) m.rejectHint = int(o.rejectHint, "rejectHint");
  if (o.reject !== undefined) {
    if (typeof o.reject !== "boolean") throw new CodecError("reject: not a boolean");
    m.reject = o.reject;
  }
  if (o.entries !== undefined) {
    if (!Array.isArray(o.entries) || o.entries.length > MAX_ENTRIES) throw new CodecError("entries: malformed");
    m.entries = o.entries.map(entryFromJson);
    for (let i = 1; i < m.entries.length; i++) {
      if (m.entries[i].index !== m.entries[i - 1].index + 1) throw new CodecError("entries: not contiguous");
    }
  }
  if (o.context !== undefined) m.context = unb64(o.context, "context");
  if (o.snapshot !== undefined) {
    const s = obj(o.snapshot, "snapshot");
    if (typeof s.done !== "boolean") throw new CodecError("snapshot.done: not a boolean");
    m.snapshot = {
      meta: checkSnapshotMeta(s.meta),
      offset: int(s.offset, "snapshot.offset"),
      data: unb64(s.data, "snapshot.data"),
      done: s.done,
    };
  }
  return m;
}

/** Encodes a ConfChange as the data of a conf entry (UTF-8 JSON, as the core expects). */
export function encodeConfChange(cc: { type: string; id: number; addr?: string }): Uint8Array {
  return enc.encode(JSON.stringify(cc));
}
