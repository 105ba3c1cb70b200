import assert from "node:assert/strict";
import { CorruptionError, DiskStorage } from "../raft/storage/disk.ts";
import type { Entry, Snapshot } from "../raft/types.ts";

const opts = { clusterId: "c1", nodeId: 1 };
const te = new TextEncoder();

function ents(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push({ term, index: i, type: "normal", data: te.encode(`v${i}-${term}`) });
  return out;
}

async function walFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/wal`)) out.push(`${dir}/wal/${e.name}`);
  return out.sort();
}

Deno.test("raft storage: round-trip and restart keeps everything", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let s = await DiskStorage.open(dir, opts);
    assert.ok(s.isEmpty());
    await s.save({ term: 1, vote: 1, commit: 0 }, ents(1, 5, 1));
    await s.save({ term: 2, vote: 2, commit: 4 }, ents(4, 6, 2)); // conflict: 4..5 overwritten
    s.close();
    s = await DiskStorage.open(dir, opts);
    assert.deepEqual(s.hardState(), { term: 2, vote: 2, commit: 4 });
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 6);
    assert.equal(s.term(3), 1);
    assert.equal(s.term(4), 2);
    assert.equal(new TextDecoder().decode(s.entries(5, 6)[0].data), "v5-2");
    assert.equal(s.entries(1, 7, 1).length, 1);
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft storage: snapshots, compaction and segment rollover survive restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let s = await DiskStorage.open(dir, { ...opts, segmentBytes: 600 });
    for (let i = 1; i <= 60; i += 5) await s.save({ term: 1, vote: 1, commit: i + 4 }, ents(i, i + 4, 1));
    assert.ok((await walFiles(dir)).length > 3);
    const snap: Snapshot = {
      meta: { index: 50, term: 1, conf: { voters: [1, 2, 3], learners: [] }, addrs: { "1": "127.0.0.1:1" } },
      data: te.encode("state@50"),
    };
    await s.createSnapshot(snap);
    const before = (await walFiles(dir)).length;
    await s.compact(40);
    assert.ok((await walFiles(dir)).length < before);
    s.close();
    s = await DiskStorage.open(dir, { ...opts, segmentBytes: 600 });
    assert.equal(s.firstIndex(), 41);
    assert.equal(s.lastIndex(), 60);
    assert.equal(s.term(40), 1);
    assert.equal(s.snapshot()?.meta.index, 50);
    assert.deepEqual(s.initialState().conf, { voters: [1, 2, 3], learners: [] });
    assert.equal(new TextDecoder().decode(s.snapshot()!.data), "state@50");
    // A snapshot received from a leader replaces the log.
    const snap2: Snapshot = { meta: { ...snap.meta, index: 100, term: 3 }, data: te.encode("state@100") };
    await s.save({ term: 3, vote: 0, commit: 100 }, [], snap2);
    await s.save({ term: 3, vote: 0, commit: 101 }, ents(101, 101, 3));
    s.close();
    s = await DiskStorage.open(dir, { ...opts, segmentBytes: 600 });
    assert.equal(s.firstIndex(), 101);
    assert.equal(s.lastIndex(), 101);
    assert.equal(s.term(100), 3);
    assert.equal(s.snapshot()?.meta.index, 100);
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft storage: a torn tail is truncated", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let s = await DiskStorage.open(dir, opts);
    await s.save({ term: 1, vote: 1, commit: 3 }, ents(1, 3, 1));
    await s.save({ term: 1, vote: 1, commit: 3 }, ents(4, 4, 1));
    s.close();
    const [wal] = await walFiles(dir);
    const size = (await Deno.stat(wal)).size;
    await Deno.truncate(wal, size - 7); // partial last record (the hard state)
    s = await DiskStorage.open(dir, opts);
    assert.equal(s.lastIndex(), 4);
    s.close();
    // CRC damage on the last record with nothing valid after it is also a torn tail.
    const buf = await Deno.readFile(wal);
    buf[buf.length - 2] ^= 0xff;
    await Deno.writeFile(wal, buf);
    s = await DiskStorage.open(dir, opts);
    assert.equal(s.lastIndex(), 3);
    await s.save(undefined, ents(4, 5, 1));
    s.close();
    s = await DiskStorage.open(dir, opts);
    assert.equal(s.lastIndex(), 5);
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft storage: corruption in the middle is refused with file and offset", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await DiskStorage.open(dir, opts);
    for (let i = 1; i <= 20; i++) await s.save({ term: 1, vote: 1, commit: i }, ents(i, i, 1));
    s.close();
    const [wal] = await walFiles(dir);
    const buf = await Deno.readFile(wal);
    const off = Math.floor(buf.length / 2);
    buf[off] ^= 0x55;
    await Deno.writeFile(wal, buf);
    await assert.rejects(() => DiskStorage.open(dir, opts), (e: Error) => {
      assert.ok(e instanceof CorruptionError);
      assert.match(e.message, /corrupt WAL record in .*\.wal at offset \d+/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("raft storage: a data dir of another cluster or node id is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ term: 1, vote: 1, commit: 0 }, ents(1, 1, 1));
    s.close();
    await assert.rejects(() => DiskStorage.open(dir, { clusterId: "c2", nodeId: 1 }), /belongs to cluster "c1"/);
    await assert.rejects(() => DiskStorage.open(dir, { clusterId: "c1", nodeId: 2 }), /belongs to node id 1/);
    await Deno.remove(`${dir}/meta`);
    await assert.rejects(() => DiskStorage.open(dir, opts), /no meta file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const SEEDS = Number(Deno.env.get("RAFT_STORAGE_SEEDS") ?? "4");

Deno.test("raft storage: random appends, conflicts, snapshots, compactions and reopens match a model", async () => {
  for (let s0 = 1; s0 <= SEEDS; s0++) await modelRun(s0);
});

async function modelRun(s0: number): Promise<void> {
  const dir = await Deno.makeTempDir();
  let seed = s0;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const o = { ...opts, segmentBytes: 2048 };
  try {
    let s = await DiskStorage.open(dir, o);
    let model: Entry[] = []; // model[i] has index first + i
    let first = 1;
    let term = 1;
    let commit = 0;
    let snapIndex = 0;
    await s.save({ term, vote: 1, commit }, []);
    for (let step = 0; step < 400; step++) {
      const last = first + model.length - 1;
      const r = rnd(10);
      if (r < 6) {
        // Append, sometimes overwriting an uncommitted suffix with a new term.
        let from = last + 1;
        if (r === 0 && last > commit) {
          from = commit + 1 + rnd(last - commit);
          term++;
        }
        const add = ents(from, from + rnd(4), term);
        model = model.slice(0, from - first).concat(add);
        commit = Math.max(commit, Math.min(first + model.length - 1, commit + rnd(3)));
        await s.save({ term, vote: 1, commit }, add);
      } else if (r < 8 && commit > snapIndex) {
        snapIndex = commit;
        const t = model[snapIndex - first].term;
        await s.createSnapshot({
          meta: { index: snapIndex, term: t, conf: { voters: [1], learners: [] }, addrs: {} },
          data: te.encode(`s${snapIndex}`),
        });
        const upTo = snapIndex - rnd(3);
        if (upTo >= first) {
          await s.compact(upTo);
          model = model.slice(upTo + 1 - first);
          first = upTo + 1;
        }
      } else {
        s.close();
        s = await DiskStorage.open(dir, o);
      }
      assert.equal(s.firstIndex(), first, `seed ${s0} step ${step}`);
      assert.equal(s.lastIndex(), first + model.length - 1, `step ${step}`);
      if (model.length > 0) assert.deepEqual(s.entries(first, first + model.length), model, `step ${step}`);
      assert.deepEqual(s.hardState(), { term, vote: 1, commit });
      assert.equal(s.snapshot()?.meta.index ?? 0, snapIndex);
    }
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
