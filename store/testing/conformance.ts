/**
 * The one conformance suite every CoordClient implementation runs (tests/store_*_test.ts call it).
 * Each case works under its own random prefix, so cases never see each other's data.
 * @module
 */
import assert from "node:assert/strict";
import {
  CompactedError,
  type CoordClient,
  ExistsError,
  InvalidArgumentError,
  NotFoundError,
  RevisionConflictError,
  sleep,
  UnsupportedError,
  type WatchEvent,
} from "../client.ts";

/** How the suite drives one implementation. */
export interface StoreFixture {
  /** A new client of the same store (two clients must see each other's writes). */
  open(): Promise<CoordClient>;
  /** False for the filesystem store: sessions must be refused with UnsupportedError. */
  sessions: boolean;
  /** Session TTL to use (backends round up: etcd's minimum is about 2 s). */
  ttlMs: number;
  /** Whether a write retried with the same requestId is applied once. */
  exactlyOnce: boolean;
}

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (s: string) => te.encode(s);
const text = (b: Uint8Array | undefined) => b ? td.decode(b) : undefined;

/** Registers the suite as steps of the current test. */
export async function runConformance(t: Deno.TestContext, f: StoreFixture): Promise<void> {
  const base = `/conf-${crypto.randomUUID().slice(0, 8)}`;
  const c1 = await f.open();
  const c2 = await f.open();
  try {
    await t.step("create/read/update/list/delete", async () => {
      const p = `${base}/crud/a`;
      const r1 = await c1.create(p, bytes("v1"));
      assert.ok(r1 > 0);
      await assert.rejects(c1.create(p, bytes("again")), ExistsError);
      const n = await c2.read(p, true);
      assert.equal(text(n.data), "v1");
      assert.equal(n.stat.modRevision, r1);
      assert.equal(n.stat.createRevision, r1);
      assert.equal(n.stat.version, 1);
      const r2 = await c2.update(p, bytes("v2"));
      assert.ok(r2 > r1);
      const n2 = await c1.read(p, true);
      assert.equal(text(n2.data), "v2");
      assert.equal(n2.stat.modRevision, r2);
      assert.equal(n2.stat.version, 2);
      await c1.update(`${base}/crud/b`, bytes("b"));
      await c1.update(`${base}/crud/c/deep`, bytes("d"));
      assert.deepEqual(await c2.list(`${base}/crud`), [`${base}/crud/a`, `${base}/crud/b`, `${base}/crud/c`]);
      assert.deepEqual(await c2.list(`${base}/nothing`), []);
      await assert.rejects(c2.list(`${base}/nothing`, true), NotFoundError);
      assert.ok((await c1.delete(p)) > r2);
      assert.equal(await c1.delete(p), 0);
      assert.equal(await c2.read(p), undefined);
      await assert.rejects(c2.read(p, true), NotFoundError);
      assert.ok((await c2.revision()) >= r2);
    });

    await t.step("concurrent creates of one path: exactly one wins", async () => {
      const p = `${base}/race/lock`;
      const tries = Array.from({ length: 16 }, (_, i) => (i % 2 ? c1 : c2).create(p, bytes(`owner-${i}`)));
      const res = await Promise.allSettled(tries);
      const won = res.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1);
      for (const r of res) if (r.status === "rejected") assert.ok(r.reason instanceof ExistsError, String(r.reason));
      const winner = res.findIndex((r) => r.status === "fulfilled");
      assert.equal(text((await c1.read(p, true)).data), `owner-${winner}`);
    });

    await t.step("compare-and-set conflicts", async () => {
      const p = `${base}/cas/x`;
      const r0 = await c1.cas(p, bytes("0"), 0);
      await assert.rejects(c2.cas(p, bytes("dup"), 0), RevisionConflictError);
      const r1 = await c2.cas(p, bytes("1"), r0);
      const err = await c1.cas(p, bytes("stale"), r0).catch((e) => e);
      assert.ok(err instanceof RevisionConflictError);
      assert.equal(err.actual, r1);
      // Two racers on the same revision: exactly one wins.
      const race = await Promise.allSettled([c1.cas(p, bytes("a"), r1), c2.cas(p, bytes("b"), r1)]);
      assert.equal(race.filter((r) => r.status === "fulfilled").length, 1);
      const cur = await c1.read(p, true);
      await assert.rejects(c1.cas(p, null, r1), RevisionConflictError);
      await c1.cas(p, null, cur.stat.modRevision);
      assert.equal(await c1.read(p), undefined);
    });

    await t.step("atomic batches: all or nothing, one revision", async () => {
      const a = `${base}/batch/a`, b = `${base}/batch/b`, c = `${base}/batch/c`;
      const r1 = await c1.batch([{ op: "create", path: a, data: bytes("a1") }, {
        op: "create",
        path: b,
        data: bytes("b1"),
      }]);
      const [na, nb] = [await c2.read(a, true), await c2.read(b, true)];
      assert.deepEqual([na.stat.modRevision, nb.stat.modRevision], [r1, r1]);
      // A failing create aborts the whole batch.
      await assert.rejects(
        c1.batch([{ op: "update", path: a, data: bytes("lost") }, { op: "create", path: b, data: bytes("dup") }]),
        ExistsError,
      );
      assert.equal(text((await c2.read(a, true)).data), "a1");
      // Compare-and-set over several nodes.
      const r2 = await c2.batch([
        { op: "check", path: a, expected: r1 },
        { op: "update", path: a, data: bytes("a2") },
        { op: "delete", path: b },
        { op: "check", path: c, expected: 0 },
        { op: "create", path: c, data: bytes("c") },
      ]);
      assert.ok(r2 > r1);
      assert.equal(await c1.read(b), undefined);
      assert.equal((await c1.read(a, true)).stat.modRevision, r2);
      const err = await c1.batch([{ op: "check", path: a, expected: r1 }, { op: "delete", path: c }]).catch((e) => e);
      assert.ok(err instanceof RevisionConflictError, String(err));
      assert.equal(err.actual, r2);
      assert.ok(await c1.read(c), "nothing applied");
      await assert.rejects(c1.batch([{ op: "check", path: c, expected: 0 }]), RevisionConflictError);
      await assert.rejects(
        c1.batch([{ op: "delete", path: a }, { op: "update", path: a, data: bytes("x") }]),
        InvalidArgumentError,
      );
    });

    await t.step("watch resume after N writes: ordered, no gaps, no duplicates", async () => {
      const prefix = `${base}/watch/`;
      const start = await c1.revision();
      // ZooKeeper's history starts with a client's first watch of a prefix: arm both clients.
      await c1.waitForChanges(prefix, start, 0);
      await c2.waitForChanges(prefix, start, 0);
      const N = 12;
      const seen: WatchEvent[] = [];
      let after = start;
      const drain = async (want: number) => {
        for (let i = 0; i < 50 && seen.length < want; i++) {
          const b = await c2.waitForChanges(prefix, after, 2000);
          seen.push(...b.events);
          assert.ok(b.revision >= after);
          after = b.revision;
        }
      };
      for (let i = 0; i < N; i++) await c1.create(`${prefix}k${String(i).padStart(2, "0")}`, bytes(`v${i}`));
      await drain(N);
      for (let i = N; i < 2 * N; i++) await c1.create(`${prefix}k${String(i).padStart(2, "0")}`, bytes(`v${i}`));
      await c1.delete(`${prefix}k00`);
      await drain(2 * N + 1);
      assert.equal(seen.length, 2 * N + 1, JSON.stringify(seen.map((e) => [e.type, e.path])));
      for (let i = 0; i < 2 * N; i++) {
        assert.equal(seen[i].type, "put");
        assert.equal(seen[i].path, `${prefix}k${String(i).padStart(2, "0")}`);
        assert.equal(text(seen[i].data), `v${i}`);
      }
      assert.deepEqual([seen[2 * N].type, seen[2 * N].path], ["delete", `${prefix}k00`]);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i].revision > seen[i - 1].revision, "revisions increase");
      // An empty long-poll still answers with a revision that covers everything seen.
      const empty = await c2.waitForChanges(prefix, after, 150);
      assert.deepEqual(empty.events, []);
      assert.ok(empty.revision >= seen[seen.length - 1].revision);
      // A waiting long-poll wakes up on a write.
      const t0 = performance.now();
      const waiting = c2.waitForChanges(prefix, empty.revision, 5000);
      await sleep(50);
      await c1.update(`${prefix}late`, bytes("late"));
      const woke = await waiting;
      assert.ok(performance.now() - t0 < 3000, "long-poll woke on the write");
      assert.deepEqual(woke.events.map((e) => e.path), [`${prefix}late`]);
      // The streaming form sees the same sequence.
      const ac = new AbortController();
      const streamed: string[] = [];
      for await (const ev of c1.watch(prefix, start, ac.signal)) {
        streamed.push(`${ev.type}:${ev.path}`);
        if (streamed.length === 2 * N + 2) ac.abort();
      }
      assert.equal(streamed.length, 2 * N + 2);
      assert.equal(streamed[2 * N], `delete:${prefix}k00`);
    });

    await t.step("watch from a compacted revision throws CompactedError", async () => {
      const prefix = `${base}/compact/`;
      const r0 = await c1.revision();
      await c1.waitForChanges(prefix, r0, 0);
      for (let i = 0; i < 3; i++) await c1.update(`${prefix}n`, bytes(String(i)));
      const r = await c1.revision();
      await c1.compact(r);
      const err = await c2.waitForChanges(prefix, r0, 100).catch((e) => e);
      assert.ok(err instanceof CompactedError, String(err));
      assert.ok(err.compactRevision >= r0);
      // Resuming from the compaction point works.
      await c1.update(`${prefix}n`, bytes("after"));
      const b = await c2.waitForChanges(prefix, r, 2000);
      assert.deepEqual(b.events.map((e) => text(e.data)), ["after"]);
    });

    if (!f.sessions) {
      await t.step("sessions are refused with a clear error", async () => {
        const err = await c1.openSession({ ttlMs: f.ttlMs }).catch((e) => e);
        assert.ok(err instanceof UnsupportedError, String(err));
        assert.match(err.message, /ephemeral/);
      });
    } else {
      await t.step("ephemeral nodes expire when the session stops renewing", async () => {
        const s = await c1.openSession({ ttlMs: f.ttlMs });
        const p = `${base}/eph/node`;
        await s.createEphemeral(p, bytes("e"));
        await assert.rejects(s.createEphemeral(p, bytes("e2")), ExistsError);
        const a = await s.createEphemeralInOrder(`${base}/eph/seq-`, bytes("1"));
        const b = await s.createEphemeralInOrder(`${base}/eph/seq-`, bytes("2"));
        assert.match(a, /seq-\d{10}$/);
        assert.ok(b > a, `${b} after ${a}`);
        assert.ok((await c2.read(p)) !== undefined);
        const before = await c2.revision();
        await c2.waitForChanges(`${base}/eph/`, before, 0); // ZooKeeper starts its watcher here
        s.stopRenewing();
        const deadline = performance.now() + s.ttlMs * 4 + 3000;
        while (performance.now() < deadline && (await c2.read(p)) !== undefined) await sleep(100);
        assert.equal(await c2.read(p), undefined, "ephemeral node gone after TTL");
        assert.equal(await c2.read(a), undefined);
        assert.deepEqual(await c2.list(`${base}/eph`), []);
        await s.lost;
        const ch = await c2.waitForChanges(`${base}/eph/`, before, 1000);
        assert.ok(ch.events.some((e) => e.type === "delete" && e.path === p), "watchers see the expiry");
        await s.close();
      });

      await t.step("a session that keeps renewing keeps its nodes", async () => {
        const s = await c1.openSession({ ttlMs: f.ttlMs });
        const p = `${base}/keep/node`;
        await s.createEphemeral(p, bytes("k"));
        await sleep(s.ttlMs * 1.6);
        assert.ok((await c2.read(p)) !== undefined, "still there after 1.6 TTLs");
        await s.close();
        await s.lost;
        assert.equal(await c2.read(p), undefined, "closing the session removes its nodes");
      });
    }

    await t.step("a retried non-idempotent write is applied once", async () => {
      const p = `${base}/once/x`;
      const rid = `conf-${crypto.randomUUID()}`;
      const r1 = await c1.create(p, bytes("first"), { requestId: rid });
      if (f.exactlyOnce) {
        const r2 = await c1.create(p, bytes("first"), { requestId: rid });
        assert.equal(r2, r1, "the retry gets the first answer");
        await c1.create(p, bytes("first"), { requestId: rid });
        const n = await c2.read(p, true);
        assert.deepEqual([n.stat.modRevision, n.stat.version], [r1, 1], "the retries wrote nothing");
        if (f.sessions) {
          const s = await c1.openSession({ ttlMs: Math.max(f.ttlMs, 2000) });
          const rid2 = `conf-${crypto.randomUUID()}`;
          const a = await s.createEphemeralInOrder(`${base}/once/q-`, bytes("q"), { requestId: rid2 });
          const b = await s.createEphemeralInOrder(`${base}/once/q-`, bytes("q"), { requestId: rid2 });
          assert.equal(b, a);
          assert.deepEqual(await c2.list(`${base}/once`), [a, p].sort());
          await s.close();
        }
      } else {
        await assert.rejects(c1.create(p, bytes("first"), { requestId: rid }), ExistsError);
      }
    });
  } finally {
    await c1.close();
    await c2.close();
  }
}
