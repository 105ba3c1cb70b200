/**
 * backend_connect_timeout on a backend connection (redis/conn.ts) and a subscriber one (redis/subscriber.ts), when
 * the proxy's own process does not run for longer than the timeout (a starved or stopped process, a paused machine):
 * a connect that completed meanwhile is kept, and a server that never answers still times out. The JavaScript thread
 * is held busy here, which stops timers and reads alike, as those do.
 * @module
 */
import assert from "node:assert/strict";
import { BackendConn } from "../redis/conn.ts";
import { SubConn } from "../redis/subscriber.ts";
import { startRedis } from "../testing/redis.ts";
import { freePort } from "../testing/ports.ts";
import { holdThread } from "../testing/hold_thread.ts";

const CONNECT_TIMEOUT_MS = 300;
const OPTS = { auth: "", maxPipeline: 1000, minBackoffMs: 10, maxBackoffMs: 100, connectTimeoutMs: CONNECT_TIMEOUT_MS };

/** A server that accepts connections and never answers: the TCP connect succeeds, the PING is never answered. */
function startSilentServer(): { addr: string; stop(): void } {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const accepted: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) accepted.push(c);
    } catch {
      // the listener was closed
    }
  })();
  return {
    addr: `127.0.0.1:${port}`,
    stop() {
      listener.close();
      for (const c of accepted) c.close();
    },
  };
}

/** How `connect()` ended: "connected", or the error's message. */
const outcome = (p: Promise<void>) => p.then(() => "connected", (e: Error) => e.message);

Deno.test("backend connect timeout: a connect that completed while the process did not run is kept", async () => {
  const redis = await startRedis();
  const conn = new BackendConn(redis.addr, OPTS);
  try {
    for (let round = 0; round < 3; round++) {
      const connected = outcome(conn.connect());
      // The connect, the PING and its reply all happen while the thread is held for over three timeouts.
      holdThread(1000);
      assert.equal(await connected, "connected", `round ${round}`);
      assert.equal(conn.state, "connected");
      assert.equal(new TextDecoder().decode(await conn.call(0, ["PING"])), "+PONG\r\n");
      conn.fatal("next round");
    }
  } finally {
    conn.close();
    await redis.stop();
  }
});

Deno.test("backend connect timeout: a server that never answers times out after about the configured time", async () => {
  const server = startSilentServer();
  const conn = new BackendConn(server.addr, OPTS);
  try {
    const started = Date.now();
    const got = await outcome(conn.connect());
    const tookMs = Date.now() - started;
    assert.match(got, new RegExp(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`));
    assert.ok(tookMs >= CONNECT_TIMEOUT_MS - 20, `not before the timeout: ${tookMs} ms`);
    // A timer that fires late under load is confirmed once more: at most one more period.
    assert.ok(tookMs < 2 * CONNECT_TIMEOUT_MS + 400, `about the configured time: ${tookMs} ms`);
  } finally {
    conn.close();
    server.stop();
  }
});

Deno.test("backend connect timeout: a server that never answers still times out after the process did not run", async () => {
  const server = startSilentServer();
  const conn = new BackendConn(server.addr, OPTS);
  try {
    const connected = outcome(conn.connect());
    holdThread(1000);
    const resumed = Date.now();
    const got = await connected;
    const tookMs = Date.now() - resumed;
    assert.match(got, new RegExp(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`));
    // The late expiry judged nothing; the one a period later did.
    assert.ok(tookMs >= CONNECT_TIMEOUT_MS - 20, `confirmed a period after the process ran again: ${tookMs} ms`);
    assert.ok(tookMs < 2 * CONNECT_TIMEOUT_MS + 400, `not much later: ${tookMs} ms`);
  } finally {
    conn.close();
    server.stop();
  }
});

Deno.test("subscriber connect timeout: a connect that completed while the process did not run is kept", async () => {
  const redis = await startRedis();
  let lost = "";
  const sub = new SubConn(redis.addr, { auth: "", connectTimeoutMs: CONNECT_TIMEOUT_MS }, () => {}, (r) => lost = r);
  try {
    holdThread(1000);
    const frames = await sub.command(["SUBSCRIBE", "news"], 1);
    assert.equal(new TextDecoder().decode(frames[0]), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    assert.equal(lost, "");
  } finally {
    sub.close();
    await redis.stop();
  }
});
