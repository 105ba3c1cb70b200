/**
 * Real-process Raft tests: three kvtest processes over loopback with real fsync.
 */
import assert from "node:assert/strict";
import { findLeader, KvProc, stopAll, waitLeader } from "../raft/kvtest/harness.ts";

const EXTRA = ["--tick-ms", "50", "--snapshot-interval", "200", "--snapshot-trailing", "50"];

/** Writes keys `${prefix}${n}` to whichever process leads until stopped; records acknowledged writes. */
class Writer {
  acked = new Map<string, string>();
  failures = 0;
  private stopped = false;
  private n = 0;
  done: Promise<void>;
  constructor(private procs: () => KvProc[], prefix: string, concurrency = 4) {
    this.done = Promise.all(Array.from({ length: concurrency }, () => this.run(prefix))).then(() => {});
  }
  private async run(prefix: string): Promise<void> {
    let leader: KvProc | undefined;
    while (!this.stopped) {
      if (!leader) {
        leader = await findLeader(this.procs());
        if (!leader) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
      }
      const k = `${prefix}${this.n++}`;
      try {
        const { status } = await leader.call(`/put?k=${k}&v=${k}`, "POST", 3000);
        if (status === 200) this.acked.set(k, k);
        else {
          this.failures++;
          leader = undefined;
        }
      } catch {
        this.failures++;
        leader = undefined;
      }
    }
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function waitUntil(f: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(f).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function dump(p: KvProc): Promise<Record<string, string>> {
  const { status, body } = await p.call("/dump", "GET", 10_000);
  assert.equal(status, 200, JSON.stringify(body));
  return body.data as Record<string, string>;
}

Deno.test({
  name: "raft process: kill -9 leader, catch-up from snapshot, membership change under load, corrupt WAL refused",
  sanitizeResources: true,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "raft-proc-" });
    const procs = [1, 2, 3].map((id) => new KvProc(id, `${root}/n${id}`, EXTRA));
    const all = [...procs];
    const running = () => all.filter((p) => p.child);
    try {
      await Promise.all(procs.map((p) => p.start(procs)));
      const first = await waitLeader(procs);

      // 1. kill -9 the leader under a write load: writes continue on the new leader.
      const w = new Writer(running, "a");
      await waitUntil(() => w.acked.size >= 100, 15_000, "initial writes");
      await first.kill();
      const ackedAtKill = w.acked.size;
      const second = await waitLeader(running(), 10_000);
      assert.notEqual(second.id, first.id);
      await waitUntil(() => w.acked.size >= ackedAtKill + 600, 30_000, "writes on the new leader");

      // 2. Restart the old leader: it is far behind (several snapshots) and catches up from a snapshot.
      await first.start(procs);
      await waitUntil(
        async () => {
          const l = await findLeader(running());
          const [a, b] = await Promise.all([first.call("/status"), l!.call("/status")]);
          return (a.body.applied as number) >= (b.body.commit as number) - 50;
        },
        20_000,
        "old leader catch-up",
      );
      assert.match(first.stderr, /installed snapshot at \d+/);

      // 3. Add node 4 as a learner, promote it, then remove a follower, all while writes go on.
      const n4 = new KvProc(4, `${root}/n4`, EXTRA);
      all.push(n4);
      await n4.start(procs, { join: true });
      let l = (await waitLeader(running()))!;
      const add = await l.call(`/add-learner?id=4&addr=${n4.raftAddr}`, "POST", 10_000);
      assert.equal(add.status, 200, JSON.stringify(add.body));
      const prom = await l.call("/promote?id=4", "POST", 15_000);
      assert.equal(prom.status, 200, JSON.stringify(prom.body));
      l = (await waitLeader(running()))!;
      const victim = running().find((p) => p !== l && p !== n4)!;
      const rem = await l.call(`/remove?id=${victim.id}`, "POST", 10_000);
      assert.equal(rem.status, 200, JSON.stringify(rem.body));
      const before = w.acked.size;
      await waitUntil(() => w.acked.size >= before + 200, 20_000, "writes after the membership change");
      await w.stop();
      await victim.stop();

      // Every acknowledged write is on the leader and on the new member.
      l = (await waitLeader(running()))!;
      const st = await l.call("/status");
      const voters = (st.body.members as { id: number; voter: boolean }[]).filter((m) => m.voter).map((m) => m.id);
      assert.deepEqual(voters.sort(), [1, 2, 3, 4].filter((id) => id !== victim.id).sort());
      for (const p of [l, n4]) {
        const data = await dump(p);
        for (const [k, v] of w.acked) assert.equal(data[k], v, `acknowledged ${k} missing on node ${p.id}`);
      }

      // 4. Corrupt a WAL record in the middle: the node refuses to start with a clear message.
      const walDir = `${victim.dataDir}/wal`;
      const segs: string[] = [];
      for await (const e of Deno.readDir(walDir)) segs.push(`${walDir}/${e.name}`);
      segs.sort();
      const seg = segs[segs.length - 1];
      const buf = await Deno.readFile(seg);
      buf[Math.floor(buf.length / 2)] ^= 0x5a;
      await Deno.writeFile(seg, buf);
      await victim.start(procs, { waitReady: false });
      assert.equal(await victim.exitCode(), 1);
      assert.match(victim.stderr, /corrupt WAL record in .*\.wal at offset \d+/);
    } finally {
      await stopAll(all);
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
