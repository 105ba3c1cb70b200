/**
 * The store adapters under failures: cases the shared conformance suite does not cover, run against
 * real etcd and ZooKeeper servers (and the memory store as the reference behaviour).
 * @module
 */
import assert from "node:assert/strict";
import { CompactedError, type CoordClient, InvalidArgumentError, sleep, type WatchEvent } from "../store/client.ts";
import { MemoryStore } from "../store/memory.ts";
import { EtcdClient } from "../store/etcd.ts";
import { ZooKeeperClient } from "../store/zookeeper.ts";
import { startEtcd } from "../testing/etcd.ts";
import { lostWithin } from "../testing/wait.ts";
import { startZooKeeper } from "../testing/zookeeper.ts";
import { DashboardClient } from "../proxy/dashboard_client.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => b ? new TextDecoder().decode(b) : undefined;
const base = () => `/review-${crypto.randomUUID().slice(0, 8)}`;

/**
 * Updating an ephemeral node's value (update, cas, batch update) keeps it bound to its session, as in the memory
 * store and ZooKeeper: closing the session still removes it. On etcd a plain put detaches the key from its lease,
 * which would leave the node behind forever once its owner is gone.
 */
async function ephemeralStaysEphemeralAfterWrites(open: () => Promise<CoordClient>, ttlMs: number): Promise<void> {
  const c = await open();
  try {
    const b = base();
    const s = await c.openSession({ ttlMs });
    const [pu, pc, pb] = [`${b}/eph/update`, `${b}/eph/cas`, `${b}/eph/batch`];
    for (const p of [pu, pc, pb]) await s.createEphemeral(p, bytes("v1"));
    const rid = `review-${crypto.randomUUID()}`;
    const r1 = await c.update(pu, bytes("v2"), { requestId: rid });
    assert.equal(await c.update(pu, bytes("v2"), { requestId: rid }), r1, "a retried update gets the first answer");
    assert.equal((await c.read(pu, true)).stat.version, 2, "the retry wrote nothing");
    await c.cas(pc, bytes("v2"), (await c.read(pc, true)).stat.modRevision);
    await c.batch([{ op: "update", path: pb, data: bytes("v2") }]);
    for (const p of [pu, pc, pb]) {
      const n = await c.read(p, true);
      assert.equal(text(n.data), "v2");
      assert.ok(n.stat.session, `${p} still owned by a session after the write`);
    }
    await s.close();
    for (const p of [pu, pc, pb]) assert.equal(await c.read(p), undefined, `${p} removed with its session`);
    // A plain (non-ephemeral) node written the same ways stays persistent.
    await c.update(`${b}/plain`, bytes("p"));
    await c.update(`${b}/plain`, bytes("p2"));
    assert.equal((await c.read(`${b}/plain`, true)).stat.session, undefined);
  } finally {
    await c.close();
  }
}

/** Unicode path segments and binary values round-trip through every operation, watches included. */
async function unicodeAndBinary(open: () => Promise<CoordClient>): Promise<void> {
  const c = await open();
  try {
    const dir = `${base()}/ünï-☃`;
    const value = new Uint8Array([0, 255, 1, 0xc3, 0x28, 0, 10]);
    const start = await c.revision();
    await c.waitForChanges(`${dir}/`, start, 0);
    await c.create(`${dir}/k-é`, value);
    await c.update(`${dir}/k-ß`, new Uint8Array());
    assert.deepEqual(await c.list(dir), [`${dir}/k-ß`, `${dir}/k-é`].sort());
    assert.deepEqual((await c.read(`${dir}/k-é`, true)).data, value);
    assert.equal((await c.read(`${dir}/k-ß`, true)).data.length, 0);
    const seen: [string, number[]][] = [];
    let after = start;
    for (let i = 0; i < 10 && seen.length < 2; i++) {
      const b = await c.waitForChanges(`${dir}/`, after, 1000);
      for (const e of b.events) seen.push([e.path, [...(e.data ?? [])]]);
      after = b.revision;
    }
    assert.deepEqual(seen, [[`${dir}/k-é`, [...value]], [`${dir}/k-ß`, []]]);
    assert.ok((await c.delete(`${dir}/k-é`)) > 0);
  } finally {
    await c.close();
  }
}

/** A value too large for the backend is refused with InvalidArgumentError, and the client keeps working. */
async function oversizedValue(open: () => Promise<CoordClient>): Promise<void> {
  const c = await open();
  try {
    const p = `${base()}/big`;
    await assert.rejects(c.update(p, new Uint8Array(2_000_000)), InvalidArgumentError);
    await assert.rejects(c.create(p, new Uint8Array(2_000_000)), InvalidArgumentError);
    // Right after: a small write and read go through (etcd's client used to open its circuit breaker).
    await c.update(p, bytes("small"));
    assert.equal(text((await c.read(p, true)).data), "small");
    await c.update(p, new Uint8Array(200_000));
    assert.equal((await c.read(p, true)).data.length, 200_000);
  } finally {
    await c.close();
  }
}

/** The steps every real server runs: the memory store's, plus the oversized value. */
async function sharedServerSteps(t: Deno.TestContext, open: () => Promise<CoordClient>, ttlMs: number) {
  await t.step(
    "an ephemeral node stays ephemeral after update/cas/batch",
    () => ephemeralStaysEphemeralAfterWrites(open, ttlMs),
  );
  await t.step("unicode paths, binary values", () => unicodeAndBinary(open));
  await t.step("an oversized value is refused with InvalidArgumentError", () => oversizedValue(open));
}

Deno.test("store failures: memory (reference)", async (t) => {
  const store = new MemoryStore();
  try {
    await t.step(
      "an ephemeral node stays ephemeral after update/cas/batch",
      () => ephemeralStaysEphemeralAfterWrites(() => Promise.resolve(store.client()), 1000),
    );
    await t.step("unicode paths, binary values", () => unicodeAndBinary(() => Promise.resolve(store.client())));
  } finally {
    store.close();
  }
});

Deno.test("store failures: etcd (real server)", async (t) => {
  const etcd = await startEtcd();
  const open = () => Promise.resolve(new EtcdClient({ endpoints: [etcd.endpoint] }));
  try {
    await sharedServerSteps(t, open, 1000);

    await t.step("an auto-renewing session whose lease the server dropped reports itself lost", async () => {
      // What a partition longer than the TTL looks like once it heals: etcd expired the lease meanwhile. Owners
      // (the dashboard lock, jodis) wait on `lost` to step down and register again.
      const c = new EtcdClient({ endpoints: [etcd.endpoint] });
      const admin = new EtcdClient({ endpoints: [etcd.endpoint] });
      try {
        const s = await c.openSession({ ttlMs: 1000 });
        const p = `${base()}/lock`;
        await s.createEphemeral(p, bytes("me"));
        await admin.etcd.leaseClient.leaseRevoke({ ID: s.id });
        assert.equal(await admin.read(p), undefined);
        const lost = await lostWithin(s, s.ttlMs * 3 + 2000);
        assert.ok(lost, "session.lost resolved after the server dropped the lease");
        await assert.rejects(s.createEphemeral(p, bytes("again")));
      } finally {
        await c.close();
        await admin.close();
      }
    });
  } finally {
    await etcd.stop();
  }
});

Deno.test("store failures: zookeeper (real server)", async (t) => {
  const zk = await startZooKeeper();
  const open = () => ZooKeeperClient.connect({ connect: zk.connect });
  try {
    await sharedServerSteps(t, open, 3000);

    await t.step("a path ZooKeeper cannot hold is refused with InvalidArgumentError", async () => {
      const c = await open();
      try {
        for (const p of [`${base()}/clef-𝄞`, `${base()}/bell-\u0007`]) {
          await assert.rejects(c.update(p, bytes("x")), InvalidArgumentError, p);
          await assert.rejects(c.create(p, bytes("x")), InvalidArgumentError, p);
        }
      } finally {
        await c.close();
      }
    });

    await t.step("the client works again after its own ZooKeeper session expired", async () => {
      // A partition longer than the client's session timeout: the server expires the session. The dashboard and
      // proxies keep one client for their whole life, so it must reconnect with a new session, as Codis's does.
      const c = await ZooKeeperClient.connect({ connect: zk.connect, sessionTimeoutMs: 800 });
      try {
        const prefix = `${base()}/`;
        const p = `${prefix}x`;
        await c.update(p, bytes("before"));
        const armedAt = await c.revision();
        await c.waitForChanges(prefix, armedAt, 0);
        const old = c.zk;
        old.stopPinging();
        const expired = await Promise.race([old.gone.then(() => true), sleep(8000).then(() => false)]);
        assert.ok(expired, "the server expired the idle session");
        let got: string | undefined, err: unknown;
        for (let i = 0; i < 30 && got === undefined; i++) {
          try {
            got = await Promise.race([
              c.read(p).then((n) => text(n?.data) ?? "absent"),
              sleep(1000).then(() => Promise.reject(new Error("read hung"))),
            ]);
          } catch (e) {
            err = e;
            await sleep(200);
          }
        }
        assert.equal(got, "before", `read after expiry: ${err}`);
        await c.update(p, bytes("after"));
        assert.equal(text((await c.read(p, true)).data), "after");
        // A watch resumed from before the expiry is either served or told to re-read; a fresh one sees writes.
        const resumed = await c.waitForChanges(prefix, armedAt, 500).catch((e) => e);
        assert.ok(
          resumed instanceof CompactedError || resumed.events.some((e: WatchEvent) => text(e.data) === "after"),
          String(resumed),
        );
        const now = await c.revision();
        await c.waitForChanges(prefix, now, 0);
        const waiting = c.waitForChanges(prefix, now, 5000);
        await sleep(50);
        await c.update(`${prefix}y`, bytes("new"));
        assert.deepEqual((await waiting).events.map((e) => text(e.data)), ["new"]);
      } finally {
        await c.close();
      }
    });
  } finally {
    await zk.stop();
  }
});

/** Dashboards that are all standbys (an election, or a lock not yet taken over): each answers 421. */
function standbyDashboards(n: number, leaderOf: (i: number, addrs: string[]) => string) {
  let requests = 0;
  const addrs: string[] = [];
  const servers = Array.from(
    { length: n },
    (_, i) =>
      Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
        requests++;
        return Response.json({ Cause: "not leader", Stack: [], leader: leaderOf(i, addrs) }, { status: 421 });
      }),
  );
  for (const s of servers) addrs.push(`127.0.0.1:${s.addr.port}`);
  return {
    addrs,
    requests: () => requests,
    close: () => Promise.all(servers.map((s) => s.shutdown())),
  };
}

for (
  const [name, leaderOf] of [
    ["no leader known", () => ""],
    ["each names the other", (i: number, addrs: string[]) => addrs[(i + 1) % addrs.length]],
  ] as const
) {
  Deno.test(`dashboard client: standbys answering 421 (${name}) are retried with a backoff, not in a busy loop`, async () => {
    const d = standbyDashboards(2, leaderOf);
    const proxy = {
      fillSlots() {},
      start() {},
      isOnline: () => false,
      isClosed: () => false,
      model: () => ({ token: "t0" }),
    };
    const client = new DashboardClient(proxy, {
      addrs: d.addrs,
      productName: "review",
      productAuth: "",
      adminAddr: "127.0.0.1:1",
      pollTimeoutMs: 1000,
    });
    try {
      await client.start(1500).catch(() => {});
      // With a backoff (50 ms doubling to 500 ms) that is a handful of requests; a busy loop makes thousands.
      assert.ok(d.requests() < 100, `${d.requests()} requests in 1.5 s`);
      assert.match(client.status().last_error, /421|not leader/);
    } finally {
      await client.stop();
      await d.close();
    }
  });
}
