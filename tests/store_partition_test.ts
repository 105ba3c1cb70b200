/**
 * Store adapters under partitions, with a TCP forwarder between the client and a real etcd or ZooKeeper server that
 * can cut every connection and heal: a cut-off owner gives its session up once its TTL has surely passed, a shorter
 * hiccup keeps it, and watches see what changed meanwhile. Split from store_failures_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { CompactedError, type CoordClient, sleep, type WatchEvent } from "../store/client.ts";
import { EtcdClient } from "../store/etcd.ts";
import { ZooKeeperClient } from "../store/zookeeper.ts";
import { startEtcd } from "../testing/etcd.ts";
import { type Forwarder, forwarder } from "../testing/forwarder.ts";
import { lostWithin } from "../testing/wait.ts";
import { startZooKeeper } from "../testing/zookeeper.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => b ? new TextDecoder().decode(b) : undefined;
const base = () => `/review-${crypto.randomUUID().slice(0, 8)}`;

/** Polls `client` every 100 ms, for at most `ms`, until `path` is gone. */
async function untilGone(client: CoordClient, path: string, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline && (await client.read(path)) !== undefined) await sleep(100);
}

/**
 * Runs `fn` with `c`, a client that reaches the server at `addr` only through `fwd` (which `fn` may partition),
 * and `other`, one that reaches it directly; closes all three after, the forwarder first.
 */
async function withCutOffClient<C extends { close(): Promise<void> }>(
  addr: string,
  open: (addr: string, direct: boolean) => C | Promise<C>,
  fn: (fwd: Forwarder, c: C, other: C) => Promise<void>,
): Promise<void> {
  const [host, port] = addr.split(":");
  const fwd = forwarder({ hostname: host, port: Number(port) });
  let c: C | undefined, other: C | undefined;
  try {
    c = await open(fwd.addr, false);
    other = await open(addr, true);
    await fn(fwd, c, other);
  } finally {
    await fwd.close();
    await c?.close().catch(() => {});
    await other?.close();
  }
}

/** {@link withCutOffClient} on a fresh etcd server, stopped after. */
async function withEtcdCutOff(fn: (fwd: Forwarder, c: EtcdClient, other: EtcdClient) => Promise<void>) {
  const etcd = await startEtcd();
  try {
    await withCutOffClient(
      etcd.endpoint,
      (addr, direct) => new EtcdClient(direct ? { endpoints: [addr] } : { endpoints: [addr], dialTimeoutMs: 500 }),
      fn,
    );
  } finally {
    await etcd.stop();
  }
}

/** {@link withCutOffClient} on a fresh ZooKeeper server, stopped after; `opts` apply to the cut-off client. */
async function withZooKeeperCutOff(
  opts: { sessionTimeoutMs?: number },
  fn: (fwd: Forwarder, c: ZooKeeperClient, other: ZooKeeperClient) => Promise<void>,
) {
  const zk = await startZooKeeper();
  try {
    await withCutOffClient(
      zk.connect,
      (addr, direct) =>
        ZooKeeperClient.connect(direct ? { connect: addr } : { connect: addr, ...opts, connectTimeoutMs: 3000 }),
      fn,
    );
  } finally {
    await zk.stop();
  }
}

Deno.test("store partition: etcd session of an owner cut off from etcd is lost once its TTL has surely passed", async () => {
  // The active dashboard holds its lock through this session; if the partition outlasts the TTL, etcd deletes
  // the lock and a standby takes over, so the cut-off owner must learn it is no longer the holder by then.
  await withEtcdCutOff(async (fwd, c, other) => {
    const s = await c.openSession({ ttlMs: 2000 });
    const p = `${base()}/lock`;
    await s.createEphemeral(p, bytes("owner"));
    fwd.partition();
    await untilGone(other, p, s.ttlMs * 4 + 4000);
    assert.equal(await other.read(p), undefined, "etcd expired the lease");
    const lost = await lostWithin(s, s.ttlMs + 1000);
    assert.ok(lost, "the owner knows its session is gone while still cut off");
  });
});

Deno.test("store partition: etcd session survives a network hiccup shorter than its TTL", async () => {
  await withEtcdCutOff(async (fwd, c, other) => {
    const s = await c.openSession({ ttlMs: 4000 });
    const p = `${base()}/jodis`;
    await s.createEphemeral(p, bytes("alive"));
    fwd.partition();
    await sleep(s.ttlMs / 4);
    fwd.heal();
    const lost = await lostWithin(s, s.ttlMs * 1.5);
    assert.equal(lost, false, "the session survived the hiccup");
    assert.ok((await other.read(p)) !== undefined, "its node is still there");
  });
});

Deno.test("store partition: zookeeper session of an owner cut off from ZooKeeper is lost after its timeout; a hiccup keeps it", async () => {
  await withZooKeeperCutOff({}, async (fwd, c, other) => {
    const b = base();
    // A hiccup shorter than the timeout: the session and its node stay.
    const keep = await c.openSession({ ttlMs: 3000 });
    await keep.createEphemeral(`${b}/keep`, bytes("alive"));
    fwd.partition();
    await sleep(keep.ttlMs / 4);
    fwd.heal();
    const early = await lostWithin(keep, keep.ttlMs * 1.5);
    assert.equal(early, false, "the session survived the hiccup");
    assert.ok((await other.read(`${b}/keep`)) !== undefined, "its node is still there");
    // A partition longer than the timeout: ZooKeeper expires the session; its owner must learn it while cut off.
    const s = await c.openSession({ ttlMs: 1500 });
    await s.createEphemeral(`${b}/lock`, bytes("owner"));
    fwd.partition();
    await untilGone(other, `${b}/lock`, s.ttlMs * 4 + 4000);
    assert.equal(await other.read(`${b}/lock`), undefined, "ZooKeeper expired the session");
    const lost = await lostWithin(s, s.ttlMs + 1000);
    assert.ok(lost, "the owner knows its session is gone while still cut off");
  });
});

Deno.test("store partition: a zookeeper watch sees the changes made while its connection was briefly down", async () => {
  await withZooKeeperCutOff({ sessionTimeoutMs: 6000 }, async (fwd, c, other) => {
    const prefix = `${base()}/`;
    await other.update(`${prefix}a`, bytes("a1"));
    const armedAt = await c.revision();
    await c.waitForChanges(prefix, armedAt, 0);
    fwd.partition();
    await other.update(`${prefix}a`, bytes("a2"));
    await other.update(`${prefix}b`, bytes("b1"));
    await sleep(300);
    fwd.heal();
    const seen = new Map<string, string | undefined>();
    let after = armedAt;
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const got = await c.waitForChanges(prefix, after, 500).catch(() => undefined);
      for (const e of got?.events ?? []) seen.set(e.path, text(e.data));
      after = got?.revision ?? after;
    }
    assert.deepEqual(Object.fromEntries(seen), { [`${prefix}a`]: "a2", [`${prefix}b`]: "b1" });
  });
});

// The ZooKeeper watcher numbers events itself (max(zxid, last + 1)), so after a batch of deletes its resume point
// runs ahead of the server's zxids. A watch resumed on a new session (after the old one expired) used to filter out
// the next real write, whose zxid was below that numbering; the new watcher now continues the old one's numbering and
// compacts up to it when anything changed meanwhile (store/zookeeper_watch.ts).
Deno.test({
  name: "store partition: a zookeeper watch resumed on a new session after a batch of deletes misses nothing",
  fn: async () => {
    const zk = await startZooKeeper();
    const c = await ZooKeeperClient.connect({ connect: zk.connect, sessionTimeoutMs: 800 });
    const other = await ZooKeeperClient.connect({ connect: zk.connect });
    try {
      const prefix = `${base()}/`;
      const names = Array.from({ length: 10 }, (_, i) => `${prefix}n${i}`);
      for (const p of names) await other.update(p, bytes("v"));
      let after = await c.revision();
      await c.waitForChanges(prefix, after, 0);
      // Ten deletes in one transaction: one zxid, ten events.
      await other.batch(names.map((path) => ({ op: "delete" as const, path })));
      for (let i = 0, seen = 0; i < 20 && seen < names.length; i++) {
        const b = await c.waitForChanges(prefix, after, 500);
        seen += b.events.length;
        after = b.revision;
      }
      // The client's session expires; it reconnects with a new one, and a write happens meanwhile.
      const old = c.zk;
      old.stopPinging();
      await Promise.race([old.gone, sleep(8000)]);
      await other.update(`${prefix}x`, bytes("new"));
      let outcome = "nothing";
      for (let i = 0; i < 20 && outcome === "nothing"; i++) {
        const b = await c.waitForChanges(prefix, after, 300).catch((e) => e);
        if (b instanceof CompactedError) outcome = "compacted";
        else if (b instanceof Error) await sleep(200);
        else if (b.events.some((e: WatchEvent) => e.path === `${prefix}x`)) outcome = "event";
        else after = b.revision;
      }
      assert.notEqual(outcome, "nothing", "the write is either reported or the caller is told to re-read");
    } finally {
      await c.close();
      await other.close();
      await zk.stop();
    }
  },
});
