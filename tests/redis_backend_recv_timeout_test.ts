/**
 * backend_recv_timeout on a backend connection (redis/conn.ts) against a real redis-server, when the proxy's own
 * process does not run for longer than the timeout (a starved or stopped process, a paused machine): the JavaScript
 * thread is held busy here, which stops timers and reads alike, as those do.
 * @module
 */
import assert from "node:assert/strict";
import { BackendConn } from "../redis/conn.ts";
import { startRedis } from "../testing/redis.ts";
import { holdThread } from "../testing/hold_thread.ts";

const dec = new TextDecoder();
/** recvTimeoutMs 400: the health check runs every 100 ms. */
const OPTS = { auth: "", maxPipeline: 1000, minBackoffMs: 10, maxBackoffMs: 100, connectTimeoutMs: 5000 };

/** Lets the connection's turn-end flush hand the request to the kernel. */
const sentOut = () => new Promise((r) => setTimeout(r, 20));

Deno.test("backend recv timeout: a reply that arrived while the process did not run is read, not taken for a hung server", async () => {
  const redis = await startRedis();
  const conn = new BackendConn(redis.addr, { ...OPTS, recvTimeoutMs: 400 });
  try {
    await conn.connect();
    for (let round = 0; round < 3; round++) {
      // Redis answers after 100 ms, while the thread is held for 1200: the reply waits in the socket meanwhile.
      const reply = conn.call(0, ["BLPOP", "no-such-list", "0.1"]).then((r) => dec.decode(r), (e: Error) => e.message);
      await sentOut();
      holdThread(1200);
      assert.equal(await reply, "*-1\r\n", `round ${round}`);
      assert.equal(conn.state, "connected");
    }
  } finally {
    conn.close();
    await redis.stop();
  }
});

Deno.test("backend recv timeout: a server that stopped answering is still dropped after the process did not run, with why", async () => {
  const redis = await startRedis();
  const admin = new BackendConn(redis.addr, OPTS);
  const conn = new BackendConn(redis.addr, { ...OPTS, recvTimeoutMs: 400 });
  try {
    await admin.connect();
    await conn.connect();
    assert.equal(dec.decode(await admin.call(0, ["CLIENT", "PAUSE", "3000", "ALL"])), "+OK\r\n");
    const sent = Date.now();
    const reply = conn.call(0, ["GET", "k"]).then((r) => dec.decode(r), (e: Error) => e.message);
    await sentOut();
    holdThread(1000);
    const got = await reply;
    const tookMs = Date.now() - sent;
    assert.match(
      got,
      /^ERR backend \S+ connection lost \(no reply for \d+ ms \(backend_recv_timeout\): 1 request waiting, a read waiting on the server, 0 bytes not yet sent, last write \d+ ms ago, health checks up to (\d+) ms apart\)$/,
    );
    const gap = Number(/up to (\d+) ms apart/.exec(got)![1]);
    assert.ok(gap >= 900, `the held thread shows as a gap between health checks: ${got}`);
    assert.ok(tookMs < 2500, `dropped by the check after the late one, not when the pause ended: ${tookMs} ms`);
  } finally {
    conn.close();
    admin.close();
    await redis.stop();
  }
});
