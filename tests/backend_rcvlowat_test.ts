/**
 * A backend connection with `lowatWakeups` (redis/rcvlowat.ts), against a real redis-server: while a WAIT is owed the
 * socket's SO_RCVLOWAT is a lower bound of the bytes still to come through its reply, and it is back to 1 once
 * nothing is owed. Batches whose replies are as short as replies get (RESP3 nulls, 3 bytes; small integers) still
 * complete: the bound never exceeds what the server sends.
 * @module
 */
import assert from "node:assert/strict";
import { BackendConn } from "../redis/conn.ts";
import { startRedis } from "../testing/redis.ts";
import { sleep } from "../testing/wait.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** `p`, or a rejection naming `what` after 5 s: a reply held back by a low mark set too high would never come. */
function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what}: no reply`)), 5000));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function answeredLate(conn: BackendConn, db: number, args: string[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const raw = new TextEncoder().encode(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`);
    conn.sendAnsweredLate(db, raw, { onReply: resolve, onError: (m) => reject(new Error(m)) });
  });
}

Deno.test("backend SO_RCVLOWAT: set while a WAIT is owed, reset after; minimal replies still complete", async () => {
  const redis = await startRedis();
  const conn = new BackendConn(redis.addr, {
    auth: "",
    maxPipeline: 64,
    minBackoffMs: 50,
    maxBackoffMs: 200,
    connectTimeoutMs: 2000,
    lowatWakeups: true,
  });
  try {
    await conn.connect();
    assert.equal(conn.rcvLowat, 1, "the socket was found and starts at 1");

    // RESP2: a write, an increment, then a WAIT that blocks 300 ms (no replica): the mark stays up meanwhile.
    const set = conn.call(3, ["SET", "k", "v"]);
    const incr = conn.call(3, ["INCR", "n"]);
    const wait = answeredLate(conn, 3, ["WAIT", "1", "300"]);
    await sleep(100);
    // SELECT +OK (5) + two replies (3 each) + the WAIT's integer (4), none read yet.
    assert.equal(conn.rcvLowat, 15);
    assert.equal(text(await within("WAIT", wait)), ":0\r\n");
    assert.equal(text(await set), "+OK\r\n");
    assert.equal(text(await incr), ":1\r\n");
    assert.equal(conn.rcvLowat, 1, "nothing owed: back to 1");

    // RESP3 nulls are the shortest replies there are (3 bytes): a batch of them and a WAIT's :0 is exactly the bound.
    assert.match(text(await conn.call(3, ["HELLO", "3"])), /^%/);
    const nulls = Array.from({ length: 5 }, (_, i) => conn.call(3, ["GET", `missing-${i}`]));
    const wait0 = answeredLate(conn, 3, ["WAIT", "0", "0"]);
    assert.equal(text(await within("WAIT 0", wait0)), ":0\r\n");
    for (const n of nulls) assert.equal(text(await n), "_\r\n");

    // Two WAITs in flight: the mark covers the first only, so its reply is read as soon as it comes.
    const first = answeredLate(conn, 3, ["WAIT", "1", "200"]);
    const after = conn.call(3, ["INCR", "n"]);
    const second = answeredLate(conn, 3, ["WAIT", "1", "200"]);
    assert.equal(text(await within("first WAIT", first)), ":0\r\n");
    assert.equal(text(await after), ":2\r\n");
    assert.equal(text(await within("second WAIT", second)), ":0\r\n");
    assert.equal(conn.rcvLowat, 1);
  } finally {
    conn.close();
    await redis.stop();
  }
});
