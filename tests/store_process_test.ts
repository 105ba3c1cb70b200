/**
 * Issue 4's tests with real processes: the embedded Raft store as served over HTTP by `cli/codis-dashboard.ts`
 * processes, driven by {@link HttpStoreClient}s and `codis-admin`. One group lives through four scenarios in order:
 * a 3-node start, a leader SIGKILLed during writes (a watcher on a follower must miss nothing), a fourth member
 * added (join, learner, promote) and an old one removed while writes go on, and a restart of every member.
 */
import assert from "node:assert/strict";
import { sleep, type WatchEvent } from "../store/client.ts";
import { HttpStoreClient } from "../store/http_client.ts";
import { must } from "../testing/admin_cli.ts";
import { type DashboardGroup, type DashboardProc, type RaftStatusJson, startDashboards } from "../testing/dashboard.ts";

const PREFIX = "/t/w/";
const te = new TextEncoder();
const td = new TextDecoder();

/** An acknowledged write: the writer's create returned `revision`. */
interface Ack {
  path: string;
  value: string;
  revision: number;
  at: number;
}

/**
 * Creates unique keys one after the other through a client of every member. A failed write is retried under the
 * same request id (so it applies once) until acknowledged or 15 s have passed.
 */
class Writer {
  readonly acked: Ack[] = [];
  readonly failed: string[] = [];
  /** Errors seen before a retry succeeded (for the failure message). */
  readonly errors: string[] = [];
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly runId = crypto.randomUUID().slice(0, 8);

  /** `next`: the first key number (a later writer continues the numbering so that keys stay unique). */
  constructor(private readonly client: HttpStoreClient, private next = 0, private readonly paceMs = 10) {}

  start(): void {
    this.stopping = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  /** Waits (bounded) until `n` writes in all have been acknowledged. */
  async until(n: number, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.acked.length < n && Date.now() < deadline) await sleep(20);
    assert.ok(this.acked.length >= n, `${what}: ${this.acked.length}/${n} writes acknowledged; ${this.summary()}`);
  }

  /** Longest time between two consecutive acknowledgements (the write outage). */
  maxGapMs(): number {
    let gap = 0;
    for (let i = 1; i < this.acked.length; i++) gap = Math.max(gap, this.acked[i].at - this.acked[i - 1].at);
    return gap;
  }

  summary(): string {
    return `failed [${this.failed.join("; ")}], last errors [${this.errors.slice(-5).join("; ")}]`;
  }

  private async run(): Promise<void> {
    while (!this.stopping && this.next < 50_000) {
      const i = this.next++;
      const path = `${PREFIX}k${String(i).padStart(5, "0")}`;
      const value = `${this.runId}:${i}`;
      const deadline = Date.now() + 15_000;
      for (let attempt = 0; attempt < 1000; attempt++) {
        try {
          const revision = await this.client.create(path, te.encode(value), { requestId: value });
          this.acked.push({ path, value, revision, at: Date.now() });
          break;
        } catch (e) {
          this.errors.push(`${path}: ${e}`);
          if (Date.now() > deadline) {
            this.failed.push(`${path}: ${e}`);
            break;
          }
          await sleep(100);
        }
      }
      await sleep(this.paceMs);
    }
  }
}

/** A watcher of PREFIX from revision 0, long-polling one member only. */
function watchOn(set: DashboardGroup, node: DashboardProc) {
  const client = new HttpStoreClient({ endpoints: [node.admin], secret: set.secret });
  const seen: WatchEvent[] = [];
  const ac = new AbortController();
  let failure: unknown;
  const loop = (async () => {
    try {
      for await (const ev of client.watch(PREFIX, 0, ac.signal)) seen.push(ev);
    } catch (e) {
      failure = e;
    }
  })();
  return {
    seen,
    /** Waits (bounded) until the watcher has seen `revision`, then stops it and checks it against `acked`. */
    async finish(acked: Ack[], ms = 10_000): Promise<void> {
      const last = acked[acked.length - 1].revision;
      const deadline = Date.now() + ms;
      while (!failure && Date.now() < deadline && (seen.at(-1)?.revision ?? 0) < last) await sleep(20);
      ac.abort();
      await loop;
      await client.close();
      assert.equal(failure, undefined, `the watch on node ${node.id} ended with an error`);
      checkEvents(seen, acked, `watcher on node ${node.id}`);
    },
  };
}

/** Every acknowledged write once, with its own revision and value, in order; nothing else. */
function checkEvents(seen: WatchEvent[], acked: Ack[], who: string): void {
  const paths = seen.map((e) => e.path);
  assert.equal(new Set(paths).size, paths.length, `${who}: duplicate events`);
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i].revision > seen[i - 1].revision, `${who}: revisions out of order at ${seen[i].path}`);
  }
  const byPath = new Map(seen.map((e) => [e.path, e]));
  for (const a of acked) {
    const e = byPath.get(a.path);
    assert.ok(e, `${who}: missed the acknowledged write ${a.path} (revision ${a.revision})`);
    assert.deepEqual([e.type, e.revision, td.decode(e.data)], ["put", a.revision, a.value], `${who}: ${a.path}`);
  }
  assert.equal(seen.length, acked.length, `${who}: events for writes never acknowledged`);
}

/** Retries `fn` (bounded) while it throws, e.g. while a restarted member has no leader yet. */
async function retry<T>(fn: () => Promise<T>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0;; i++) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline || i > 200) throw e;
      await sleep(100);
    }
  }
}

/**
 * The namespace under PREFIX through one member only (its ReadIndex barrier makes every read linearizable):
 * path → "value|createRevision|modRevision|version".
 */
async function namespaceOf(set: DashboardGroup, node: DashboardProc): Promise<[string, string][]> {
  const c = new HttpStoreClient({ endpoints: [node.admin], secret: set.secret, timeoutMs: 5000 });
  try {
    const kids = await c.list(PREFIX.slice(0, -1));
    const out: [string, string][] = [];
    for (let i = 0; i < kids.length; i += 32) {
      const part = await Promise.all(
        kids.slice(i, i + 32).map(async (p) => {
          const n = await c.read(p, true);
          return [p, `${td.decode(n.data)}|${n.stat.createRevision}|${n.stat.modRevision}|${n.stat.version}`];
        }),
      );
      out.push(...part as [string, string][]);
    }
    return out;
  } finally {
    await c.close();
  }
}

/** Reads through each member: all hold the same namespace, and it holds every acknowledged write. */
async function checkNamespace(set: DashboardGroup, nodes: DashboardProc[], acked: Ack[], when: string) {
  const views = await Promise.all(nodes.map((d) => retry(() => namespaceOf(set, d))));
  const want = acked.map((a) => [a.path, `${a.value}|${a.revision}|${a.revision}|1`]);
  for (let i = 0; i < nodes.length; i++) {
    assert.deepEqual(views[i], views[0], `${when}: node ${nodes[i].id} differs from node ${nodes[0].id}`);
    const have = new Map(views[i]);
    for (const [p, v] of want) assert.equal(have.get(p), v, `${when}: ${p} through node ${nodes[i].id}`);
  }
  assert.equal(views[0].length, acked.length, `${when}: keys that were never acknowledged`);
}

/** Runs codis-admin against `via`; returns stdout, fails with stderr on a non-zero exit. */
function admin(set: DashboardGroup, via: DashboardProc, ...args: string[]): Promise<string> {
  return must(`--dashboard=${via.admin}`, `--auth=${set.auth}`, ...args);
}

const STEP = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false };

Deno.test("raft store, real dashboard processes: leader kill under writes, add/remove a member, full restart", async (t) => {
  const set = await startDashboards({
    n: 3,
    product: "store-proc",
    auth: "pw",
    secret: crypto.randomUUID(),
    logLevel: "INFO",
    logFiles: true,
    awaitModel: false,
  });
  const writerClient = () =>
    new HttpStoreClient({
      endpoints: [...set.nodes.values()].filter((d) => d.alive).map((d) => d.admin),
      secret: set.secret,
      timeoutMs: 3000,
      attempts: 4,
    });
  let ok = false;
  try {
    const all = [...set.nodes.values()];
    let leader!: DashboardProc;
    let follower!: DashboardProc; // the watcher's member: never killed nor removed before the full restart
    let other!: DashboardProc;
    const acked: Ack[] = [];

    ok = await t.step({
      ...STEP,
      name: "a 3-node group started from the command line elects one leader",
      fn: async () => {
        leader = await set.agreedLeader(30_000, all);
        [follower, other] = all.filter((d) => d !== leader);
        const st = await set.until(leader, (s) => s.members.filter((m) => m.voter).length === 3, "3 voters");
        assert.deepEqual(st.members.map((m) => m.id).sort(), [1, 2, 3]);
      },
    });

    ok &&= await t.step({
      ...STEP,
      name: "leader SIGKILLed during writes: members agree, a follower's watcher misses nothing",
      fn: async () => {
        const watcher = watchOn(set, follower);
        const c = writerClient();
        const w = new Writer(c);
        w.start();
        try {
          await w.until(30, "before the kill");
          const before = w.acked.length;
          const killedAt = Date.now();
          await leader.kill("SIGKILL");
          await w.until(before + 40, "after the kill");
          const firstAfter = w.acked.find((a) => a.at > killedAt)!;
          console.log(
            `leader ${leader.id} killed after ${before} acks; first ack after the kill in ${
              firstAfter.at - killedAt
            } ms; longest gap between acks ${w.maxGapMs()} ms`,
          );
        } finally {
          await w.stop();
          await c.close();
        }
        assert.deepEqual(w.failed, [], w.summary());
        acked.push(...w.acked);
        for (let i = 1; i < acked.length; i++) assert.ok(acked[i].revision > acked[i - 1].revision);
        // Read right after the last acknowledgement: linearizable reads must already show every acked write.
        await checkNamespace(set, [follower, other], acked, "after the leader kill");
        await watcher.finish(acked);
        // The killed member comes back with its data dir and catches up.
        leader.start();
        await checkNamespace(set, [follower, other, leader], acked, "after the old leader restarted");
      },
    });

    const fourth: { d?: DashboardProc } = {};
    ok &&= await t.step({
      ...STEP,
      name: "a fourth member joins, is promoted, an old one is removed; writes go on and succeed",
      fn: async () => {
        const watcher = watchOn(set, follower);
        const c = writerClient();
        const w = new Writer(c, acked.length);
        w.start();
        try {
          const progress = async (what: string) => await w.until(w.acked.length + 10, what);
          await progress("before the join");
          const d = fourth.d = await set.join();
          await admin(set, follower, "--raft-add", `--id=${d.id}`, `--addr=${d.raft}`, "--learner");
          const l = await set.agreedLeader(10_000, [follower, other, leader]);
          const learner = (s: RaftStatusJson) =>
            s.members.some((m) => m.id === d.id && !m.voter && (m.lag ?? 1e9) <= 20);
          await set.until(l, learner, "the learner to catch up");
          await progress("with the learner");
          await admin(set, follower, "--raft-promote", `--id=${d.id}`);
          await set.until(follower, (s) => s.members.some((m) => m.id === d.id && m.voter), "the promotion");
          await progress("after the promotion");
          // The old leader (restarted in the previous step) is made leader again, then removed: the member that
          // goes is the one serving the writes, so the dashboard must hand leadership over before it leaves.
          await admin(set, follower, "--raft-transfer", `--id=${leader.id}`);
          await set.agreedLeader(10_000, [follower, other, leader, d]).then((l) => assert.equal(l.id, leader.id));
          await progress("after the transfer");
          await admin(set, follower, "--raft-remove", `--id=${leader.id}`);
          await set.until(follower, (s) => !s.members.some((m) => m.id === leader.id), `member ${leader.id} removed`);
          await leader.kill("SIGKILL");
          await progress("after the removal");
          const st = await set.until(follower, (s) => s.leader > 0, "a leader");
          const members = st.members.map((m) => `${m.id}:${m.voter}`).sort();
          assert.deepEqual(members, [follower.id, other.id, d.id].map((id) => `${id}:true`).sort());
        } finally {
          await w.stop();
          await c.close();
        }
        assert.deepEqual(w.failed, [], w.summary());
        console.log(`membership changes under writes: ${w.acked.length} acks, longest gap ${w.maxGapMs()} ms`);
        acked.push(...w.acked);
        await checkNamespace(set, [follower, other, fourth.d!], acked, "after the membership changes");
        await watcher.finish(acked);
      },
    });

    ok &&= await t.step({
      ...STEP,
      name: "every member killed and restarted with its data dir: every acknowledged write is still there",
      fn: async () => {
        const members = [follower, other, fourth.d!];
        await Promise.all(members.map((d) => d.kill("SIGKILL")));
        const t0 = Date.now();
        for (const d of members) d.start();
        const l = await set.agreedLeader(30_000, members);
        console.log(`full restart: leader ${l.id} agreed after ${Date.now() - t0} ms`);
        await checkNamespace(set, members, acked, "after the full restart");
        const st = await set.until(l, (s) => s.members.length === 3, "3 members");
        assert.ok(!st.members.some((m) => m.id === leader.id), "the removed member stays removed");
      },
    });
  } finally {
    if (!ok) console.error(`store process test failed; logs kept in ${set.root}\n${set.logs(15)}`);
    // KEEP_DASHBOARD_LOGS=1 keeps the members' logs of a passing run too.
    await set.stop(!ok || Deno.env.get("KEEP_DASHBOARD_LOGS") === "1");
  }
});
