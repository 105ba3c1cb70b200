/**
 * The reuse of backend read slabs and big reply buffers (redis/reply_buffers.ts), with real redis-servers through the
 * proxy, on every kind of client socket (testing/client_socket_modes.ts). Buffers are poisoned as they go back to the pool
 * (CODIS_POISON_REUSED_BUFFERS=1, set here before the proxy takes its first one), so a reply view read after its
 * buffer was reused comes back as garbage: each test checks every byte its clients get while other clients' big
 * replies keep buffers cycling, and that buffers were in fact reused meanwhile.
 * @module
 */
const POISON_ENV = "CODIS_POISON_REUSED_BUFFERS";
const poisonWasSet = Deno.env.get(POISON_ENV) !== undefined;
Deno.env.set(POISON_ENV, "1");

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Redis } from "ioredis";
import { encodeCommand } from "../redis/encode.ts";
import { ReplyFramer } from "../redis/reply_framer.ts";
import { poisonReusedBuffers, pooledReplyBuffers, replyBufferCounts } from "../redis/reply_buffers.ts";
import { type ProxyFixture, startProxyFixture } from "../testing/proxy.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep, until } from "../testing/wait.ts";
import { CLIENT_SOCKET_MODES } from "../testing/client_socket_modes.ts";

// Read once here, then the variable is taken back (unless it was set for the whole run): other test files in this
// process are not poisoned by this one.
assert.equal(poisonReusedBuffers(), true);
if (!poisonWasSet) Deno.env.delete(POISON_ENV);

/** Value sizes: empty, small, around a slab, bigger than a slab, 1 MB. */
const SIZES = [0, 10, 3000, 16384, 70_000, 1 << 20];
const KEYS_PER_SIZE = 4;

/** The value of key `i` (of length `size`): bytes from a seeded xorshift, so that any mix-up shows. */
function valueOf(i: number, size: number): Uint8Array {
  const v = new Uint8Array(size);
  let x = (i + 1) * 2654435761 >>> 0 || 1;
  for (let k = 0; k < size; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v[k] = x & 0xff;
  }
  return v;
}

interface Key {
  name: string;
  value: Uint8Array;
}

/** Writes KEYS_PER_SIZE keys of each size (spread over slots and both backends) and returns them. */
async function writeKeys(f: ProxyFixture, prefix: string): Promise<Key[]> {
  const c = f.client();
  const keys: Key[] = [];
  for (const size of SIZES) {
    for (let j = 0; j < KEYS_PER_SIZE; j++) {
      const i = keys.length;
      keys.push({ name: `${prefix}:${size}:${j}`, value: valueOf(i, size) });
    }
  }
  const p = c.pipeline();
  for (const k of keys) p.set(k.name, Buffer.from(k.value));
  for (const [err, r] of (await p.exec())!) assert.equal(err ?? r, "OK");
  c.disconnect();
  return keys;
}

function sameBytes(got: Uint8Array | null, want: Uint8Array, what: string): void {
  assert.ok(got !== null, `${what}: a value`);
  assert.equal(got.length, want.length, `${what}: length`);
  assert.ok(Buffer.from(got.buffer, got.byteOffset, got.length).equals(want), `${what}: the same bytes`);
}

/** A tiny seeded generator for the order of commands. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Pipelines of GETs and MGETs (keys across slots and backends) from `c`, every reply checked. */
async function mixedPipelines(c: Redis, keys: Key[], seed: number, rounds: number, depth: number): Promise<void> {
  const r = rng(seed);
  const pick = () => keys[Math.floor(r() * keys.length)];
  for (let round = 0; round < rounds; round++) {
    const p = c.pipeline();
    const want: Key[][] = [];
    for (let i = 0; i < depth; i++) {
      if (r() < 0.25) {
        const ks = [pick(), pick(), pick()];
        p.mgetBuffer(...ks.map((k) => k.name));
        want.push(ks);
      } else {
        const k = pick();
        p.getBuffer(k.name);
        want.push([k]);
      }
    }
    const res = (await p.exec())!;
    for (let i = 0; i < res.length; i++) {
      const [err, got] = res[i];
      assert.equal(err, null);
      if (want[i].length === 1 && !Array.isArray(got)) sameBytes(got as Buffer, want[i][0].value, want[i][0].name);
      else {
        const arr = got as Buffer[];
        assert.equal(arr.length, want[i].length);
        for (let k = 0; k < arr.length; k++) sameBytes(arr[k], want[i][k].value, `MGET ${want[i][k].name}`);
      }
    }
  }
}

/** Background clients (see {@link churn}). */
interface Churn {
  /** Stops them; throws what one of them found wrong. Safe to call again. */
  stop(): Promise<void>;
}

/** Background clients that GET big values in pipelines (checking them) until stopped: buffers keep cycling. */
function churn(f: ProxyFixture, keys: Key[], n: number): Churn {
  let stopped = false;
  let failure: unknown = null;
  const big = keys.filter((k) => k.value.length >= 16384);
  const runs = Array.from({ length: n }, async (_, i) => {
    const c = f.client();
    try {
      for (let round = 0; !stopped && round < 10_000; round++) {
        await mixedPipelines(c, big, 1000 + 31 * i + round, 1, 8);
      }
    } catch (e) {
      if (!stopped) failure ??= e;
    } finally {
      c.disconnect();
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(runs);
      if (failure !== null) throw failure;
    },
  };
}

/** Reads `count` replies from a raw connection, `chunk` bytes at a time with `pauseMs` between reads. */
async function readReplies(conn: Deno.Conn, count: number, chunk: number, pauseMs: number): Promise<Uint8Array[]> {
  const replies: Uint8Array[] = [];
  const framer = new ReplyFramer((raw) => replies.push(raw.slice()));
  const buf = new Uint8Array(chunk);
  const deadline = Date.now() + 60_000;
  while (replies.length < count && Date.now() < deadline) {
    const n = await conn.read(buf);
    if (n === null) break;
    framer.feed(buf.slice(0, n));
    if (pauseMs > 0) await sleep(pauseMs);
  }
  return replies;
}

/** `$len\r\n` + value + `\r\n`. */
function bulk(v: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`$${v.length}\r\n`);
  const out = new Uint8Array(head.length + v.length + 2);
  out.set(head);
  out.set(v, head.length);
  out.set([13, 10], head.length + v.length);
  return out;
}

for (const { name: mode, config: socketConfig } of CLIENT_SOCKET_MODES) {
  Deno.test(`reply buffers: pipelined GETs of small and big values mixed with MGETs across slots come back intact (${mode})`, async () => {
    const f = await startProxyFixture(2, socketConfig);
    try {
      const keys = await writeKeys(f, "mix");
      const reusedBefore = replyBufferCounts.reused;
      await Promise.all([0, 1, 2, 3].map((i) => mixedPipelines(f.client(), keys, 7 + i, 12, 40)));
      assert.ok(replyBufferCounts.reused > reusedBefore, "buffers were reused meanwhile");
      assert.ok(pooledReplyBuffers().buffers > 0);
      // Idle: the proxy's once-a-second trim empties the pool.
      await until("the pool to empty", 10_000, () => Promise.resolve(pooledReplyBuffers().buffers === 0));
    } finally {
      await f.stop();
    }
  });

  Deno.test(`reply buffers: a client that reads its big replies slowly gets every byte while others' replies reuse buffers (${mode})`, async () => {
    const f = await startProxyFixture(2, socketConfig);
    let others: Churn | null = null;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    try {
      const keys = await writeKeys(f, "slow");
      const asked = keys.filter((k) => k.value.length >= 3000);
      const order = Array.from({ length: 48 }, (_, i) => asked[(i * 7) % asked.length]);
      const reusedBefore = replyBufferCounts.reused;
      others = churn(f, keys, 3);
      // All asked at once and nothing read for a while: the proxy holds what the kernel does not take.
      const req = new Uint8Array(order.reduce((n, k) => n + encodeCommand(["GET", k.name]).length, 0));
      let off = 0;
      for (const k of order) {
        const c = encodeCommand(["GET", k.name]);
        req.set(c, off);
        off += c.length;
      }
      for (let w = 0; w < req.length;) w += await conn.write(req.subarray(w));
      await sleep(300);
      const replies = await readReplies(conn, order.length, 32 << 10, 2);
      await others.stop();
      assert.equal(replies.length, order.length);
      for (let i = 0; i < order.length; i++) {
        sameBytes(replies[i], bulk(order[i].value), `reply ${i} (${order[i].name})`);
      }
      assert.ok(replyBufferCounts.reused > reusedBefore, "buffers were reused meanwhile");
    } finally {
      await others?.stop().catch(() => {}); // (when the test failed first)
      conn.close();
      await f.stop();
    }
  });

  Deno.test(`reply buffers: clients that close in the middle of big replies leave the others' replies intact (${mode})`, async () => {
    const f = await startProxyFixture(2, socketConfig);
    let others: Churn | null = null;
    try {
      const keys = await writeKeys(f, "close");
      const big = keys.filter((k) => k.value.length >= 70_000);
      others = churn(f, keys, 2);
      for (let round = 0; round < 6; round++) {
        await Promise.all(Array.from({ length: 4 }, async (_, i) => {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
          try {
            const cmds = big.map((k) => encodeCommand(["GET", k.name]));
            for (const c of cmds) await conn.write(c);
            // Some close at once, some after part of the first reply.
            if ((round + i) % 2 === 1) await conn.read(new Uint8Array(20_000));
          } finally {
            conn.close();
          }
        }));
      }
      await others.stop();
      await until("the closed sessions to be gone", 10_000, () => Promise.resolve(f.proxy.sessionCount() === 0));
      await mixedPipelines(f.client(), keys, 99, 4, 40);
    } finally {
      await others?.stop().catch(() => {}); // (when the test failed first)
      await f.stop();
    }
  });

  Deno.test(`reply buffers: MONITOR and pub/sub alongside big replies (${mode})`, async () => {
    const f = await startProxyFixture(2, socketConfig);
    let others: Churn | null = null;
    let monitor: Redis | null = null;
    try {
      const keys = await writeKeys(f, "mon");
      monitor = await f.client().monitor();
      monitor.on("error", () => {});
      const seen: string[] = [];
      monitor.on("monitor", (_time: string, args: string[]) => seen.push(args.join(" ")));
      const sub = f.client();
      const pub = f.client();
      const messages: Buffer[] = [];
      sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => messages.push(message));
      await sub.subscribe("rb-channel");
      others = churn(f, keys, 2);
      const sent = keys.filter((k) => k.value.length > 0);
      for (const k of sent) assert.equal(await pub.publish("rb-channel", Buffer.from(k.value)), 1);
      await mixedPipelines(f.client(), keys, 5, 6, 30);
      await others.stop();
      await until("every message", 10_000, () => Promise.resolve(messages.length === sent.length));
      for (let i = 0; i < sent.length; i++) sameBytes(messages[i], sent[i].value, `message ${i}`);
      await until(
        "MONITOR to show the GETs",
        10_000,
        () => Promise.resolve(seen.some((l) => l.startsWith("get mon:"))),
      );
    } finally {
      monitor?.disconnect();
      await others?.stop().catch(() => {}); // (when the test failed first)
      await f.stop();
    }
  });
}

Deno.test("reply buffers: replies held for write acknowledgements (a replica) are not reused under them", async () => {
  const f = await startProxyFixture(1, { backend_write_acks: 1, backend_write_acks_timeout: 5000 });
  let others: Churn | null = null;
  let replica: RedisProcess | null = null;
  try {
    // Redis 7 waits 5 s for more replicas before a diskless full sync.
    await f.direct(0).config("SET", "repl-diskless-sync-delay", "0");
    replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(f.backends[0].port)] });
    const master = f.direct(0);
    await until("the replica to be online", 20_000, async () => {
      return /slave0:.*state=online/.test(String(await master.info("replication"))) || undefined;
    });
    const keys = await writeKeys(f, "ack");
    others = churn(f, await writeKeys(f, "ack-churn"), 2);
    const reusedBefore = replyBufferCounts.reused;
    // GETSET answers with the old value (a view of a backend read), held until the replica has the write.
    const c = f.client();
    const current = keys.map((k) => k.value);
    for (let round = 1; round <= 4; round++) {
      const p = c.pipeline();
      const next = keys.map((k, i) => valueOf(1000 * round + i, k.value.length));
      for (let i = 0; i < keys.length; i++) p.getsetBuffer(keys[i].name, Buffer.from(next[i]));
      const res = (await p.exec())!;
      for (let i = 0; i < keys.length; i++) {
        assert.equal(res[i][0], null);
        sameBytes(res[i][1] as Buffer, current[i], `GETSET ${keys[i].name} round ${round}`);
      }
      current.splice(0, current.length, ...next);
    }
    await others.stop();
    assert.ok(replyBufferCounts.reused > reusedBefore, "buffers were reused meanwhile");
  } finally {
    await others?.stop().catch(() => {}); // (when the test failed first)
    await f.stop();
    await replica?.stop();
  }
});
