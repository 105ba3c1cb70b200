/**
 * Durable file helpers: atomic replacement (temp file, fsync, rename, fsync directory), snapshot files with a
 * CRC, and the `meta` file that binds a data directory to one cluster and node id.
 *
 * @module
 */

import { crc } from "./record.ts";
import { checkSnapshotMeta } from "../codec.ts";
import type { Snapshot } from "../types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const SNAP_MAGIC = 0x524e5331; // "RNS1"

/** Fsyncs a directory so that a rename or a new file in it is durable (works on Linux with Deno). */
export async function syncDir(dir: string): Promise<void> {
  const f = await Deno.open(dir, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

/** Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeAtomic(dir: string, name: string, data: Uint8Array): Promise<void> {
  const tmp = `${dir}/${name}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    let off = 0;
    while (off < data.length) off += await f.write(data.subarray(off));
    await f.syncData();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, `${dir}/${name}`);
  await syncDir(dir);
}

/** File name of the snapshot at `index`. */
export function snapName(index: number): string {
  return `${index.toString(16).padStart(16, "0")}.snap`;
}

/** Serialises a snapshot: magic u32 | metaLen u32 | meta JSON | data | crc u32 of everything before. */
export function encodeSnapshotFile(s: Snapshot): Uint8Array {
  const meta = enc.encode(JSON.stringify(s.meta));
  const out = new Uint8Array(8 + meta.length + s.data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SNAP_MAGIC, true);
  dv.setUint32(4, meta.length, true);
  out.set(meta, 8);
  out.set(s.data, 8 + meta.length);
  dv.setUint32(out.length - 4, crc(out.subarray(0, out.length - 4)), true);
  return out;
}

/** Parses and verifies a snapshot file; throws naming the file on any damage. */
export function decodeSnapshotFile(path: string, buf: Uint8Array): Snapshot {
  const bad = (why: string) => new Error(`snapshot file ${path} is corrupt: ${why}`);
  if (buf.length < 12) throw bad("too short");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== SNAP_MAGIC) throw bad("bad magic");
  if (dv.getUint32(buf.length - 4, true) !== crc(buf.subarray(0, buf.length - 4))) throw bad("CRC mismatch");
  const metaLen = dv.getUint32(4, true);
  if (8 + metaLen + 4 > buf.length) throw bad("bad meta length");
  const meta = checkSnapshotMeta(JSON.parse(dec.decode(buf.subarray(8, 8 + metaLen))));
  return { meta, data: buf.slice(8 + metaLen, buf.length - 4) };
}

/** Identity of a data directory. */
export interface DirMeta {
  clusterId: string;
  nodeId: number;
}

/**
 * Checks (or, for a fresh directory, writes) the `meta` file. Throws when the directory belongs to another
 * cluster or node id, or when it holds Raft data but no meta file.
 */
export async function checkMeta(dir: string, want: DirMeta, hasData: boolean): Promise<void> {
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(`${dir}/meta`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (text === undefined) {
    if (hasData) throw new Error(`data dir ${dir} holds Raft data but no meta file; refusing to start`);
    const body = JSON.stringify({ format: 1, clusterId: want.clusterId, nodeId: want.nodeId });
    await writeAtomic(dir, "meta", enc.encode(body + "\n"));
    return;
  }
  let got: DirMeta;
  try {
    got = JSON.parse(text);
  } catch {
    throw new Error(`meta file ${dir}/meta is corrupt; refusing to start`);
  }
  if (got.clusterId !== want.clusterId) {
    throw new Error(
      `data dir ${dir} belongs to cluster "${got.clusterId}", not "${want.clusterId}"; refusing to start`,
    );
  }
  if (got.nodeId !== want.nodeId) {
    throw new Error(`data dir ${dir} belongs to node id ${got.nodeId}, not ${want.nodeId}; refusing to start`);
  }
}
