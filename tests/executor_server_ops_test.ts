/**
 * Group server operations against real redis-server processes: the add-server check and its distinct failures,
 * REPLICAOF with masterauth and the replication state, promotion, and per-slot key counts and flushes.
 */
import assert from "node:assert/strict";
import { BackendConn } from "../redis/conn.ts";
import { decodeReply, textOf } from "../redis/decode.ts";
import {
  checkServer,
  flushSlot,
  promoteToMaster,
  replicaOf,
  ServerCheckError,
  slotKeyCounts,
  syncState,
} from "../topom/executor/mod.ts";
import { freePort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";

const CONN_OPTIONS = { maxPipeline: 64, minBackoffMs: 100, maxBackoffMs: 500, connectTimeoutMs: 3000 };

async function withServers(
  opts: Parameters<typeof startRedis>[0][],
  fn: (rs: RedisProcess[]) => Promise<void>,
): Promise<void> {
  const rs: RedisProcess[] = [];
  try {
    for (const o of opts) rs.push(await startRedis(o));
    await fn(rs);
  } finally {
    for (const r of rs) await r.stop();
  }
}

async function rejectsKind(p: Promise<unknown>, kind: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ServerCheckError, String(e));
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("server ops: checkServer accepts a good server and tells each failure apart", async () => {
  await withServers([{}, { hz: 10 }, { databases: 16 }, { requirepass: "pw" }], async ([good, slowHz, fewDbs, pw]) => {
    const f = await checkServer(good.addr, "");
    assert.equal(f.databases, 1024);
    assert.equal(f.hz, 100);
    assert.equal(f.role, "master");
    assert.equal(f.master, undefined);
    assert.match(f.version, /^\d+\.\d+/);
    assert.deepEqual(f.warnings, []);

    const w = await checkServer(slowHz.addr, "");
    assert.equal(w.hz, 10);
    assert.equal(w.warnings.length, 1);
    assert.match(w.warnings[0], /hz 10.*hz 100/);

    await rejectsKind(checkServer(fewDbs.addr, ""), "databases", /16 databases.*databases 1024/);
    await rejectsKind(checkServer(`127.0.0.1:${freePort()}`, "", 2000), "unreachable", /unreachable/);
    await rejectsKind(checkServer(pw.addr, ""), "auth_required", /requires a password/);
    await rejectsKind(checkServer(pw.addr, "wrong"), "auth_wrong", /rejected product_auth/);
    await rejectsKind(checkServer(good.addr, "pw"), "auth_not_set", /no password/);
    assert.equal((await checkServer(pw.addr, "pw")).databases, 1024);
  });
});

Deno.test("server ops: replicaOf with masterauth, syncState, promoteToMaster", async () => {
  const auth = "pw";
  // No diskless-sync delay: the replica's first sync starts at once.
  const fast = ["--repl-diskless-sync-delay", "0"];
  await withServers(
    [{ requirepass: auth, extraArgs: fast }, { requirepass: auth, extraArgs: fast }],
    async ([m, r]) => {
      const mc = new BackendConn(m.addr, { ...CONN_OPTIONS, auth });
      const rc = new BackendConn(r.addr, { ...CONN_OPTIONS, auth });
      try {
        await Promise.all([mc.connect(), rc.connect()]);
        await mc.call(5, ["SET", "k", "v"]);
        assert.equal((await syncState(r.addr, auth)).role, "master");
        await replicaOf(r.addr, m.addr, auth);
        let st = await syncState(r.addr, auth);
        assert.equal(st.role, "slave");
        assert.equal(st.master, m.addr);
        const deadline = Date.now() + 15_000;
        while (st.state !== "synced" && Date.now() < deadline) {
          await new Promise((res) => setTimeout(res, 50));
          st = await syncState(r.addr, auth);
        }
        assert.equal(st.state, "synced", JSON.stringify(st));
        assert.equal(st.linkStatus, "up");
        assert.equal(textOf(decodeReply(await rc.call(5, ["GET", "k"]))), "v");
        const facts = await checkServer(r.addr, auth);
        assert.equal(facts.role, "slave");
        assert.equal(facts.master, m.addr);
        const ms = await syncState(m.addr, auth);
        assert.equal(ms.connectedSlaves, 1);

        await promoteToMaster(r.addr, auth);
        st = await syncState(r.addr, auth);
        assert.equal(st.role, "master");
        assert.equal(st.state, "synced");
        assert.equal(textOf(decodeReply(await rc.call(5, ["SET", "k", "w"]))), "OK", "writable after promotion");
        await assert.rejects(replicaOf(r.addr, "nocolon", auth), /host:port/);
      } finally {
        mc.close();
        rc.close();
      }
    },
  );
});

Deno.test("server ops: slotKeyCounts from INFO keyspace and flushSlot of one database", async () => {
  await withServers([{}], async ([s]) => {
    const c = new BackendConn(s.addr, { ...CONN_OPTIONS, auth: "" });
    try {
      await c.connect();
      await c.call(0, ["SET", "a", "1"]);
      await c.call(17, ["MSET", "a", "1", "b", "2"]);
      await c.call(1023, ["SET", "z", "1"]);
      assert.deepEqual([...(await slotKeyCounts(s.addr))].sort((x, y) => x[0] - y[0]), [[0, 1], [17, 2], [1023, 1]]);
      await flushSlot(s.addr, 17);
      assert.deepEqual([...(await slotKeyCounts(s.addr))].sort((x, y) => x[0] - y[0]), [[0, 1], [1023, 1]]);
      await assert.rejects(flushSlot(s.addr, 1024), /bad slot/);
    } finally {
      c.close();
    }
  });
});
