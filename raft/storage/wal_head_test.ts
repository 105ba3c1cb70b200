/**
 * A crash while the WAL rolls over to a new segment leaves that segment empty or with a torn head (the hard
 * state, snapshot and compaction records every segment starts with). Recovery must give it its head back:
 * otherwise, once compaction deletes the older segments, the snapshot marker they held is gone and a restart
 * comes back with a log that starts after the compaction point but no snapshot below it.
 */
import assert from "node:assert/strict";
import { DiskStorage } from "./disk.ts";
import { encodeNums, frame, RecType } from "./record.ts";
import type { Entry, Snapshot } from "../types.ts";

const opts = { clusterId: "c1", nodeId: 1 };
const te = new TextEncoder();

function ents(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push({ term, index: i, type: "normal", data: te.encode(`v${i}`) });
  return out;
}

function snapAt(index: number): Snapshot {
  return {
    meta: { index, term: 1, conf: { voters: [1], learners: [] }, addrs: { "1": "127.0.0.1:1" } },
    data: te.encode(`state@${index}`),
  };
}

async function walNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/wal`)) out.push(e.name);
  return out.sort();
}

/** Writes entries 1..10 and a snapshot at 10 into the first segment, then fakes the crashed rollover. */
async function crashDuringRollover(dir: string, segment2: Uint8Array): Promise<void> {
  const s = await DiskStorage.open(dir, opts);
  await s.save({ term: 1, vote: 1, commit: 10 }, ents(1, 10, 1));
  await s.createSnapshot(snapAt(10));
  s.close();
  assert.deepEqual(await walNames(dir), ["0000000000000001.wal"]);
  await Deno.writeFile(`${dir}/wal/0000000000000002.wal`, segment2);
}

/** Restart, append, compact behind the snapshot (the first segment goes), restart: everything must be there. */
async function appendCompactReopen(dir: string): Promise<DiskStorage> {
  let s = await DiskStorage.open(dir, opts);
  assert.equal(s.snapshot()?.meta.index, 10);
  await s.save({ term: 1, vote: 1, commit: 20 }, ents(11, 20, 1));
  await s.compact(10);
  assert.deepEqual(await walNames(dir), ["0000000000000002.wal"], "the first segment was compacted away");
  s.close();
  s = await DiskStorage.open(dir, opts);
  return s;
}

for (
  const [name, seg2] of [
    ["an empty new segment", new Uint8Array()],
    [
      "a new segment torn after its hard state",
      (() => {
        const hs = frame(RecType.hardState, encodeNums([1, 1, 10]));
        const sn = frame(RecType.snapshot, encodeNums([10, 1, 0]));
        const out = new Uint8Array(hs.length + 7);
        out.set(hs);
        out.set(sn.subarray(0, 7), hs.length);
        return out;
      })(),
    ],
  ] as const
) {
  Deno.test(`raft wal: ${name} gets its head back, so compaction keeps the snapshot`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await crashDuringRollover(dir, seg2);
      const s = await appendCompactReopen(dir);
      try {
        assert.equal(s.snapshot()?.meta.index, 10, "the snapshot below the log survives");
        assert.equal(s.firstIndex(), 11);
        assert.equal(s.lastIndex(), 20);
        assert.equal(s.term(10), 1);
        assert.deepEqual(s.hardState(), { term: 1, vote: 1, commit: 20 });
      } finally {
        s.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
