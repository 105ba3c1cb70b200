/**
 * The bounded drain of an old route (proxy/forward/drain.ts) with a real redis-server behind a relay the test can turn
 * into a silent partition: a connection that answers is waited for and kept; one whose server answers nothing is
 * dropped after the bound, its request in flight failing, instead of holding the routing change (and the proxy's
 * dashboard lease) for backend_recv_timeout.
 * @module
 */
import assert from "node:assert/strict";
import { BackendConn } from "../redis/conn.ts";
import { abandonConn, drainConn, drainCounters } from "../proxy/forward/drain.ts";
import { startRedis } from "../testing/redis.ts";
import { startTcpRelay } from "../testing/tcp_relay.ts";
import { until } from "../testing/wait.ts";

const CONN_OPTIONS = { auth: "", maxPipeline: 64, minBackoffMs: 50, maxBackoffMs: 200, connectTimeoutMs: 2000 };

Deno.test("proxy drain: an answering connection is waited for and kept; a silent one is dropped after the bound", async () => {
  const redis = await startRedis();
  const relay = startTcpRelay(redis.port);
  const conn = new BackendConn(relay.addr, CONN_OPTIONS);
  try {
    await conn.connect();
    const generation = conn.generation;
    // A request in flight that takes a while: the drain waits for it, and the connection stays.
    const blpop = conn.call(0, ["BLPOP", "drain-k", "0.3"]);
    const t0 = performance.now();
    await drainConn(conn, 5000);
    assert.ok(performance.now() - t0 >= 250, "the drain waited for the request in flight");
    assert.equal(new TextDecoder().decode(await blpop), "*-1\r\n");
    assert.equal(conn.generation, generation, "an answering connection is not dropped");

    // The server goes silent (a pause, a partition without reset): the drain gives up after its bound.
    relay.mode("blackhole");
    const stuck = conn.call(0, ["GET", "drain-k"]).then(() => "answered", (e: Error) => e.message);
    const t1 = performance.now();
    await drainConn(conn, 300);
    const took = performance.now() - t1;
    assert.ok(took >= 250 && took < 3000, `drain took ${took} ms`);
    assert.match(await stuck, /connection lost \(no answer within 300 ms while its slots moved/);
    assert.notEqual(conn.generation, generation, "the silent connection was dropped");
    // It reconnects on its own once the server answers again.
    relay.mode("pass");
    await until("the connection is back", 10_000, () => Promise.resolve(conn.state === "connected" || undefined), 50);
    assert.equal(new TextDecoder().decode(await conn.call(0, ["PING"])), "+PONG\r\n");
  } finally {
    conn.close();
    await relay.close();
    await redis.stop();
  }
});

Deno.test("proxy drain: a master being switched is sent nothing; what it owes is abandoned after the grace", async () => {
  const redis = await startRedis();
  const relay = startTcpRelay(redis.port);
  const conn = new BackendConn(relay.addr, CONN_OPTIONS);
  const monitor = new BackendConn(redis.addr, CONN_OPTIONS);
  try {
    await conn.connect();
    await monitor.connect();
    const generation = conn.generation;
    const before = Number(
      /total_commands_processed:(\d+)/.exec(new TextDecoder().decode(await monitor.call(0, ["INFO", "stats"])))![1],
    );
    // Idle: nothing to wait for, nothing sent.
    await abandonConn(conn, 300);
    assert.equal(conn.generation, generation, "an idle connection is kept");
    // A request answered within the grace is waited for.
    const quick = conn.call(0, ["BLPOP", "switch-k", "0.05"]);
    await abandonConn(conn, 2000);
    assert.equal(new TextDecoder().decode(await quick), "*-1\r\n");
    assert.equal(conn.generation, generation, "a connection that answers within the grace is kept");
    const after = Number(
      /total_commands_processed:(\d+)/.exec(new TextDecoder().decode(await monitor.call(0, ["INFO", "stats"])))![1],
    );
    // The server ran the BLPOP and the monitor's own INFO: nothing from the drain.
    assert.equal(after - before, 2, "the drain sent the server nothing");

    // The server goes silent: what the connection owes fails after the grace (outcome unknown).
    relay.mode("blackhole");
    const dropped = drainCounters.abandoned;
    const stuck = conn.call(0, ["SET", "switch-k", "v"]).then(() => "answered", (e: Error) => e.message);
    await abandonConn(conn, 200);
    assert.match(await stuck, /connection lost \(requests in flight abandoned: .*outcome unknown/);
    assert.notEqual(conn.generation, generation, "the silent connection was dropped");
    assert.equal(drainCounters.abandoned, dropped + 1);
  } finally {
    conn.close();
    monitor.close();
    await relay.close();
    await redis.stop();
  }
});
