/**
 * Requests of very many arguments through the proxy to real redis-server backends, on both client paths (Deno sockets,
 * and the epoll set of `session_epoll`), written in 16 KiB pieces as a client streams them: an RPUSH of 400k
 * arguments arrives whole (its list's length and every element), and an MSET and a DEL of 30k keys across slots are
 * still split by slot, every key written and deleted. Repeated 400k-argument RPUSHes, with a split MSET among them
 * and other clients' big and small values meanwhile, reuse the big request's buffer and keep every byte with released
 * buffers poisoned (`CODIS_POISON_REUSED_BUFFERS`). The bound on each exchange only catches a request that is
 * never answered; speed is measured in bench/ (the `args400k` row).
 * @module
 */
import assert from "node:assert/strict";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";
import { concat } from "../util/bytes.ts";
import { setPoisonReusedBuffers } from "../util/buffer_pool.ts";
import { bigRequestBufferCounts } from "../proxy/resp/big_request_buffers.ts";

const enc = new TextEncoder();
/** Long enough for 5 MB through the proxy on a loaded 2-core machine; a request never answered fails here. */
const HANG_MS = 60_000;
const PIECE = 16 * 1024;

/** Writes all of `bytes` in writes of at most {@link PIECE} bytes. */
async function writeInPieces(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length; off += PIECE) {
    const part = bytes.subarray(off, Math.min(bytes.length, off + PIECE));
    for (let k = 0; k < part.length;) k += await conn.write(part.subarray(k));
  }
}

/** RESP encoding of one request. */
function multibulk(args: (string | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [enc.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? enc.encode(a) : a;
    parts.push(enc.encode(`$${b.length}\r\n`), b, enc.encode("\r\n"));
  }
  return concat(parts);
}

/**
 * Sends `request` then `after` (a PING by default) in pieces, and returns what came back once the reply to `after`
 * (ending with `afterReply`) did.
 */
async function exchange(
  conn: Deno.Conn,
  request: Uint8Array,
  after: string[] = ["PING"],
  afterReply = "+PONG\r\n",
): Promise<string> {
  const writing = writeInPieces(conn, concat([request, multibulk(after)]));
  const text = await readUntil(conn, (s) => s.endsWith(afterReply), HANG_MS);
  await writing;
  return text;
}

/** The list's elements: mostly short, some empty, some with CR, LF, `$` and `*` inside, one of 100 KB. */
function element(i: number): string {
  if (i % 1000 === 999) return "";
  if (i % 777 === 0) return `e${i}\r\n$3\r\n*1\r\n`;
  if (i === 250_000) return "x".repeat(100_000);
  return `e${i}`;
}

for (const epoll of [true, false]) {
  const path = epoll ? "epoll" : "Deno sockets";
  Deno.test(`proxy (${path}): an RPUSH of 400k arguments sent in pieces arrives whole`, async () => {
    const f = await startProxyFixture(2, { session_epoll: epoll });
    let conn: Deno.Conn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
      const count = 400_000 - 2;
      const elements = Array.from({ length: count }, (_, i) => element(i));
      const reply = await exchange(conn, multibulk(["RPUSH", "many:list", ...elements]));
      assert.equal(reply, `:${count}\r\n+PONG\r\n`);
      const c = f.client();
      assert.equal(await c.llen("many:list"), count);
      for (const i of [0, 1, 5, 6, 7, 4095, 4096, 250_000, count - 1]) {
        assert.equal(await c.lindex("many:list", i), elements[i], `element ${i}`);
      }
      const all = await c.lrange("many:list", 0, -1);
      assert.equal(all.length, count);
      const firstWrong = all.findIndex((e, i) => e !== elements[i]);
      assert.equal(firstWrong, -1, `element ${firstWrong} differs`);
    } finally {
      conn?.close();
      await f.stop();
    }
  });

  Deno.test(`proxy (${path}): an MSET and a DEL of 30k keys across slots sent in pieces are split, every key written and deleted`, async () => {
    const f = await startProxyFixture(2, { session_epoll: epoll });
    let conn: Deno.Conn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
      const n = 30_000;
      const keys = Array.from({ length: n }, (_, i) => `many:k${i}`);
      const mset = ["MSET", ...keys.flatMap((k, i) => [k, `v${i}\r\n${"y".repeat(i % 50)}`])];
      assert.equal(await exchange(conn, multibulk(mset)), "+OK\r\n+PONG\r\n");
      const c = f.client();
      // Both backends hold some of the keys: the request was split by slot, not sent whole to one of them.
      const held = await Promise.all([0, 1].map((b) => f.direct(b).info("keyspace")));
      for (const info of held) assert.match(info, /db\d+:keys=/);
      const sample = Array.from({ length: 300 }, (_, j) => j * 100 + (j % 7));
      const values = await c.mget(...sample.map((i) => keys[i]));
      assert.deepEqual(values, sample.map((i) => `v${i}\r\n${"y".repeat(i % 50)}`));
      assert.equal(await exchange(conn, multibulk(["DEL", ...keys])), `:${n}\r\n+PONG\r\n`);
      assert.equal(await c.exists(...sample.map((i) => keys[i])), 0);
    } finally {
      conn?.close();
      await f.stop();
    }
  });
  Deno.test(`proxy (${path}): repeated RPUSHes of 400k arguments among other clients' traffic reuse their buffer and arrive whole`, async () => {
    setPoisonReusedBuffers(true);
    const f = await startProxyFixture(2, { session_epoll: epoll });
    let conn: Deno.Conn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
      const c = f.client();
      const reusedBefore = bigRequestBufferCounts.reused;
      const rounds = 3;
      let bigDone = false;
      // Other clients meanwhile: 100 KB values (big bulks, the same pool) and small ones, each read back.
      const others = [0, 1].map(async (k) => {
        const o = f.client();
        for (let i = 0; i < 100_000 && !bigDone; i++) {
          const key = `other:${k}:${i % 8}`;
          const value = i % 2 === 0 ? `${key}:${i}:`.repeat(8000) : `${key}:${i}`;
          assert.equal(await o.set(key, value), "OK");
          assert.equal(await o.get(key), value, `${key} at ${i}`);
        }
      });
      // The requests one after the other (a pool idle for a second is emptied), the lists checked afterwards.
      const sent: { key: string; elements: string[] }[] = [];
      const big = (async () => {
        try {
          for (let r = 0; r < rounds; r++) {
            const key = `many:round${r}`;
            const count = 400_000 - 2;
            const elements = Array.from({ length: count }, (_, i) => `${r}${element(i)}`);
            // A SET right behind it, in its last read (a view of its buffer, forwarded: counted as well).
            const rpush = multibulk(["RPUSH", key, ...elements]);
            const reply = await exchange(conn!, rpush, ["SET", `${key}:after`, `after ${r}`], "+OK\r\n");
            assert.equal(reply, `:${count}\r\n+OK\r\n`);
            sent.push({ key, elements });
            if (r === 1) {
              // A split request pins its buffer: its parts' views are not counted.
              const keys = Array.from({ length: 30_000 }, (_, i) => `many:split${i}`);
              const mset = ["MSET", ...keys.flatMap((k, i) => [k, `s${i}`])];
              assert.equal(await exchange(conn!, multibulk(mset)), "+OK\r\n+PONG\r\n");
              const sample = [0, 1, 4095, 4096, 17_777, 29_999];
              assert.deepEqual(await c.mget(...sample.map((i) => keys[i])), sample.map((i) => `s${i}`));
            }
          }
        } finally {
          bigDone = true;
        }
      })();
      await Promise.all([big, ...others]);
      for (const { key, elements } of sent) {
        assert.equal(await c.get(`${key}:after`), `after ${key.slice(-1)}`);
        const all = await c.lrange(key, 0, -1);
        assert.equal(all.length, elements.length, key);
        const firstWrong = all.findIndex((e, i) => e !== elements[i]);
        assert.equal(firstWrong, -1, `${key}: element ${firstWrong} differs`);
      }
      // Every round after the first found the buffers of the one before it (at least its final one).
      assert.ok(
        bigRequestBufferCounts.reused - reusedBefore >= rounds - 1,
        `big request buffers reused ${bigRequestBufferCounts.reused - reusedBefore} times`,
      );
    } finally {
      conn?.close();
      await f.stop();
      setPoisonReusedBuffers(false);
    }
  });
}
