/**
 * Reused read buffers (`util/buffer_pool.ts`): the epoll loop's read slabs and big values' own buffers are written
 * again once the requests read into them are done. These tests turn on the poison (a released buffer is filled with
 * 0xEE at once) and push traffic that reuses buffers while requests are held in every place that keeps their bytes:
 * pipelines of mixed sizes spanning reads, a locked slot and a migrating one, a blocked command, backpressure, a
 * transaction, MONITOR and the slow log, clients that close mid-request. Every value is then read back: a view that
 * outlived its buffer would show as poison or another request's bytes. Both client paths (epoll, Deno sockets).
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { slotOf } from "../models/hash.ts";
import { bufferPoolCounts, POISON_BYTE, setPoisonReusedBuffers } from "../util/buffer_pool.ts";
import { monitorLine } from "../proxy/core/monitor_feed.ts";
import { type ProxyFixture, startProxyFixture } from "../testing/proxy.ts";
import { concatBytes, RawPipe, respCommand } from "../testing/raw_pipe.ts";
import { sleep, until } from "../testing/wait.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import type { ProxyConfig } from "../proxy/core/config.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const OK = "+OK\r\n";

/** A value whose bytes depend on its key and position, never all poison: a stale or foreign byte shows. */
function valueOf(key: string, size: number): Uint8Array {
  let seed = 17;
  for (let i = 0; i < key.length; i++) seed = (seed * 31 + key.charCodeAt(i)) & 0xffff;
  const v = new Uint8Array(size);
  for (let i = 0; i < size; i++) v[i] = (i * 131 + seed + (i >> 9)) & 0xff;
  if (size > 0 && v[0] === POISON_BYTE) v[0] = 0;
  return v;
}

function bulk(v: Uint8Array): Uint8Array {
  return concatBytes([enc.encode(`$${v.length}\r\n`), v, enc.encode("\r\n")]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Says where two replies first differ (a short excerpt, not megabytes). */
function replyMismatch(what: string, got: Uint8Array, want: Uint8Array): string {
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const at = (b: Uint8Array) => JSON.stringify(dec.decode(b.subarray(i, i + 24)));
  return `${what}: ${got.length} bytes, expected ${want.length}; first difference at ${i}: ${at(got)} vs ${at(want)}`;
}

/** A key with hash tag `tag` (so that a test can put keys in one slot). */
const tagged = (tag: string, i: number) => `{${tag}}:${i}`;

const SIZES = [3, 100, 16 * 1024, 16 * 1024 + 7, 100 * 1024, 1 << 20];

/**
 * Another client's traffic meanwhile: pipelined SETs of 16 KB and 100 KB values on `conns` connections, read back;
 * with released buffers poisoned at once, a held view of a reused buffer is overwritten by the time this returns.
 */
async function churn(f: ProxyFixture, tag: string, rounds = 4, conns = 3): Promise<void> {
  await Promise.all(Array.from({ length: conns }, async (_, c) => {
    const p = await RawPipe.connect(f.port);
    try {
      for (let r = 0; r < rounds; r++) {
        const cmds: Uint8Array[] = [];
        for (let i = 0; i < 24; i++) {
          const key = `churn:${tag}:${c}:${i}`;
          cmds.push(respCommand("SET", key, valueOf(`${key}:${r}`, i % 6 === 5 ? 100 * 1024 : 16 * 1024)));
        }
        await p.write(concatBytes(cmds), (i) => 4096 + ((i * 7919) % 60000));
        const got = await p.replies(cmds.length);
        ok(got.every((g) => dec.decode(g) === OK), "churn SETs are answered +OK");
      }
    } finally {
      p.close();
    }
  }));
}

/** Reads `keys` back through the proxy and checks each value against what was set. */
async function checkValues(f: ProxyFixture, want: Map<string, Uint8Array>): Promise<void> {
  const p = await RawPipe.connect(f.port);
  try {
    const keys = [...want.keys()];
    await p.write(concatBytes(keys.map((k) => respCommand("GET", k))));
    const got = await p.replies(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const expect = bulk(want.get(keys[i])!);
      ok(sameBytes(got[i], expect), replyMismatch(`GET ${keys[i]}`, got[i], expect));
    }
  } finally {
    p.close();
  }
}

async function withProxy(
  epoll: boolean,
  overrides: Partial<ProxyConfig>,
  body: (f: ProxyFixture) => Promise<void>,
): Promise<void> {
  setPoisonReusedBuffers(true);
  const f = await startProxyFixture(2, { session_epoll: epoll, ...overrides });
  try {
    await body(f);
  } finally {
    await f.stop();
    setPoisonReusedBuffers(false);
  }
}

for (const epoll of [true, false]) {
  const path = epoll ? "epoll" : "Deno sockets";

  Deno.test(`buffer reuse (${path}): pipelined SETs, GETs and MSETs of mixed sizes from several clients keep their bytes`, async () => {
    await withProxy(epoll, {}, async (f) => {
      const reusedBefore = bufferPoolCounts.reused;
      const want = new Map<string, Uint8Array>();
      await Promise.all(Array.from({ length: 5 }, async (_, c) => {
        const p = await RawPipe.connect(f.port);
        try {
          const cmds: Uint8Array[] = [];
          const expect: (Uint8Array | string)[] = [];
          const mine = new Map<string, Uint8Array>();
          for (let i = 0; i < 40; i++) {
            const key = `mix:${c}:${i}`;
            const v = valueOf(key, SIZES[(i * 7 + c) % (c === 0 ? SIZES.length : SIZES.length - 1)]);
            cmds.push(respCommand("SET", key, v));
            expect.push(OK);
            mine.set(key, v);
            if (i % 5 === 4) {
              const earlier = `mix:${c}:${i - 3}`;
              cmds.push(respCommand("GET", earlier));
              expect.push(bulk(mine.get(earlier)!));
            }
            if (i % 8 === 7) {
              // MSET across slots: split by the proxy (its views are pinned, not counted).
              const args: (string | Uint8Array)[] = ["MSET"];
              for (let k = 0; k < 3; k++) {
                const mk = `mset:${c}:${i}:${k}`;
                const mv = valueOf(mk, k === 1 ? 16 * 1024 : 50);
                args.push(mk, mv);
                mine.set(mk, mv);
              }
              cmds.push(respCommand(...args));
              expect.push(OK);
            }
          }
          // Pieces of 1 byte to 64 KB: requests span reads at every stage.
          const writing = p.write(concatBytes(cmds), (i) => i % 5 === 0 ? 1 + (i % 13) : 512 + ((i * 104729) % 65536));
          const got = await p.replies(cmds.length, 60_000);
          await writing;
          for (let i = 0; i < got.length; i++) {
            const e = typeof expect[i] === "string" ? enc.encode(expect[i] as string) : expect[i] as Uint8Array;
            ok(sameBytes(got[i], e), replyMismatch(`client ${c} reply ${i}`, got[i], e));
          }
          for (const [k, v] of mine) want.set(k, v);
        } finally {
          p.close();
        }
      }));
      await checkValues(f, want);
      ok(bufferPoolCounts.reused > reusedBefore, "buffers were reused during the test");
    });
  });

  Deno.test(`buffer reuse (${path}): requests held by a locked slot, then queued behind its migration, keep their bytes`, async () => {
    await withProxy(epoll, {}, async (f) => {
      const slot = slotOf(enc.encode(tagged("held", 0)));
      const [a, b] = f.backends.map((x) => x.addr);
      const from = slot < 512 ? a : b;
      const to = slot < 512 ? b : a;
      await f.proxy.fillSlots([{ id: slot, backend_addr: to, migrate_from: from, locked: true }]);
      const p = await RawPipe.connect(f.port);
      try {
        const want = new Map<string, Uint8Array>();
        const cmds: Uint8Array[] = [];
        for (let i = 0; i < 12; i++) {
          const key = tagged("held", i);
          const v = valueOf(key, SIZES[i % SIZES.length]);
          want.set(key, v);
          cmds.push(respCommand("SET", key, v));
        }
        await p.write(concatBytes(cmds), (i) => 3000 + i * 1000);
        const reusedBefore = bufferPoolCounts.reused;
        await churn(f, "held");
        ok(bufferPoolCounts.reused > reusedBefore, "other traffic reused buffers while the slot held the requests");
        // Unlocked but migrating: each request first moves its key, the later ones queue behind.
        await f.proxy.fillSlots([{ id: slot, backend_addr: to, migrate_from: from }]);
        const got = await p.replies(cmds.length);
        deepEqual(got.map((g) => dec.decode(g)), cmds.map(() => OK));
        await f.proxy.fillSlots([{ id: slot, backend_addr: to }]);
        await checkValues(f, want);
      } finally {
        p.close();
      }
    });
  });

  Deno.test(`buffer reuse (${path}): requests read behind a blocked command and under backpressure keep their bytes`, async () => {
    await withProxy(epoll, { session_max_pipeline: 4 }, async (f) => {
      // Behind one blocked command, 3 requests (held as they are) and 10 (past the pipeline limit of 4: the session
      // stops parsing and keeps what it reads as it is).
      const blocked = await Promise.all([3, 10].map(() => RawPipe.connect(f.port)));
      const piped = await RawPipe.connect(f.port);
      const pusher = await RawPipe.connect(f.port);
      try {
        const want = new Map<string, Uint8Array>();
        const behind: Uint8Array[][] = [];
        for (const [b, count] of [3, 10].entries()) {
          const cmds = [respCommand("BLPOP", `reuse:list:${b}`, "0")];
          for (let i = 0; i < count; i++) {
            const key = `behind:${b}:${i}`;
            const v = valueOf(key, SIZES[(i + 2) % (SIZES.length - 1)]);
            want.set(key, v);
            cmds.push(respCommand("SET", key, v));
          }
          behind.push(cmds);
          // The blocking command in a read of its own: what comes behind it is protected by nothing else.
          await blocked[b].write(cmds[0]);
          await sleep(100);
          await blocked[b].write(concatBytes(cmds.slice(1)), (i) => 7000 + i * 3);
        }
        // Many more requests than the session's pipeline limit: the parser keeps the rest of each read meanwhile.
        const many: Uint8Array[] = [];
        for (let i = 0; i < 60; i++) {
          const key = `pressed:${i}`;
          const v = valueOf(key, i % 3 === 0 ? 16 * 1024 : 200);
          want.set(key, v);
          many.push(respCommand("SET", key, v));
        }
        const writing = piped.write(concatBytes(many));
        await churn(f, "blocked", 2);
        const pressed = await piped.replies(many.length);
        await writing;
        deepEqual(pressed.map((g) => dec.decode(g)), many.map(() => OK));
        await churn(f, "blocked2", 2);
        for (const b of [0, 1]) {
          await pusher.write(respCommand("RPUSH", `reuse:list:${b}`, "x"));
          deepEqual((await pusher.replies(1)).map((g) => dec.decode(g)), [":1\r\n"]);
          const got = await blocked[b].replies(behind[b].length);
          equal(dec.decode(got[0]), `*2\r\n$12\r\nreuse:list:${b}\r\n$1\r\nx\r\n`);
          deepEqual(got.slice(1).map((g) => dec.decode(g)), behind[b].slice(1).map(() => OK));
        }
        await checkValues(f, want);
      } finally {
        for (const c of blocked) c.close();
        piped.close();
        pusher.close();
      }
    });
  });

  Deno.test(`buffer reuse (${path}): writes waiting for their replica's acknowledgement keep their bytes`, async () => {
    setPoisonReusedBuffers(true);
    const f = await startProxyFixture(1, { session_epoll: epoll, backend_write_acks: 1 });
    let replica: RedisProcess | null = null;
    try {
      await f.direct(0).config("SET", "repl-diskless-sync-delay", "0");
      replica = await startRedis({ extraArgs: ["--replicaof", "127.0.0.1", String(f.backends[0].port)] });
      const master = f.direct(0);
      await until("the replica to be online", 10_000, async () => {
        const info = String(await master.info("replication"));
        return /slave0:.*state=online/.test(info) ? true : undefined;
      });
      const warm = f.client();
      await until(
        "a first acknowledged write",
        10_000,
        async () => (await warm.set("warm-up", "1")) === "OK" || undefined,
      );
      const reusedBefore = bufferPoolCounts.reused;
      const want = new Map<string, Uint8Array>();
      await Promise.all([
        churn(f, "acks", 3),
        ...[0, 1].map(async (c) => {
          const p = await RawPipe.connect(f.port);
          try {
            const cmds: Uint8Array[] = [];
            for (let i = 0; i < 30; i++) {
              const key = `acked:${c}:${i}`;
              const v = valueOf(key, SIZES[(i + c) % SIZES.length]);
              want.set(key, v);
              cmds.push(respCommand("SET", key, v));
            }
            await p.write(concatBytes(cmds), (i) => 2000 + i * 4099);
            deepEqual((await p.replies(cmds.length, 60_000)).map((g) => dec.decode(g)), cmds.map(() => OK));
          } finally {
            p.close();
          }
        }),
      ]);
      // (Acknowledged writes pin their buffers; on the epoll path the slabs that held only parts of big values, copied
      // out, are still reused.)
      if (epoll) ok(bufferPoolCounts.reused > reusedBefore, "buffers were reused during the test");
      await checkValues(f, want);
    } finally {
      await f.stop();
      await replica?.stop();
      setPoisonReusedBuffers(false);
    }
  });

  Deno.test(`buffer reuse (${path}): a transaction's queued commands keep their bytes until EXEC`, async () => {
    await withProxy(epoll, {}, async (f) => {
      const p = await RawPipe.connect(f.port);
      try {
        const want = new Map<string, Uint8Array>();
        const cmds: Uint8Array[] = [respCommand("MULTI")];
        for (let i = 0; i < 6; i++) {
          const key = tagged("txn", i);
          const v = valueOf(key, SIZES[(i + 2) % SIZES.length]);
          want.set(key, v);
          cmds.push(respCommand("SET", key, v));
        }
        await p.write(concatBytes(cmds), (i) => 5000 + i * 11);
        const queued = await p.replies(cmds.length);
        deepEqual(queued.map((g) => dec.decode(g)), [OK, ...cmds.slice(1).map(() => "+QUEUED\r\n")]);
        await churn(f, "txn");
        await p.write(respCommand("EXEC"));
        equal(dec.decode((await p.replies(1))[0]), `*${want.size}\r\n${"+OK\r\n".repeat(want.size)}`);
        await checkValues(f, want);
      } finally {
        p.close();
      }
    });
  });

  Deno.test(`buffer reuse (${path}): MONITOR and the slow log show big arguments as they were sent`, async () => {
    await withProxy(epoll, { slowlog_log_slower_than: 0, slowlog_max_len: 1000 }, async (f) => {
      const mon = await RawPipe.connect(f.port);
      const p = await RawPipe.connect(f.port);
      try {
        await mon.write(respCommand("MONITOR"));
        equal(dec.decode((await mon.replies(1))[0]), OK);
        const sent: [string, Uint8Array][] = [];
        const cmds: Uint8Array[] = [];
        for (let i = 0; i < 8; i++) {
          const key = `shown:${i}`;
          const v = valueOf(key, SIZES[(i + 1) % SIZES.length]);
          sent.push([key, v]);
          cmds.push(respCommand("SET", key, v));
        }
        await p.write(concatBytes(cmds), (i) => 9000 + i);
        deepEqual((await p.replies(cmds.length)).map((g) => dec.decode(g)), cmds.map(() => OK));
        await churn(f, "shown");
        const lines = await mon.replies(cmds.length, 60_000);
        for (let i = 0; i < sent.length; i++) {
          const [key, v] = sent[i];
          const line = dec.decode(lines[i]);
          const args = dec.decode(monitorLine(0, "x", [enc.encode("SET"), enc.encode(key), v]));
          const expected = args.slice(args.indexOf("] ") + 2);
          ok(line.endsWith(expected), `MONITOR line of ${key} shows its arguments as sent`);
        }
        await p.write(respCommand("SLOWLOG", "GET", "-1"));
        const log = (await p.replies(1))[0];
        for (const [key, v] of sent) {
          // An argument of more than 128 bytes is cut there, with a note, as in Redis.
          const shown = v.length > 128
            ? concatBytes([v.subarray(0, 128), enc.encode(`... (${v.length - 128} more bytes)`)])
            : v;
          ok(indexOf(log, concatBytes([bulk(enc.encode(key)), bulk(shown)])) >= 0, `the slow log shows ${key} as sent`);
        }
      } finally {
        mon.close();
        p.close();
      }
    });
  });

  Deno.test(`buffer reuse (${path}): clients that close mid-request or with requests in flight corrupt nothing`, async () => {
    await withProxy(epoll, {}, async (f) => {
      const want = new Map<string, Uint8Array>();
      // Half a 1 MB SET and half a 16 KB one, then gone.
      for (const size of [1 << 20, 16 * 1024]) {
        const quitter = await RawPipe.connect(f.port);
        const req = respCommand("SET", `quit:${size}`, valueOf("quit", size));
        await quitter.write(req.subarray(0, req.length >> 1), () => 8192);
        quitter.close();
      }
      // A pipeline sent whole, and the connection closed before any reply: the requests may run, but only whole.
      const gone = await RawPipe.connect(f.port);
      const sentThenGone: [string, Uint8Array][] = [];
      const cmds: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) {
        const key = `gone:${i}`;
        const v = valueOf(key, SIZES[i % SIZES.length]);
        sentThenGone.push([key, v]);
        cmds.push(respCommand("SET", key, v));
      }
      await gone.write(concatBytes(cmds));
      gone.close();
      const p = await RawPipe.connect(f.port);
      try {
        const mine: Uint8Array[] = [];
        for (let i = 0; i < 20; i++) {
          const key = `stay:${i}`;
          const v = valueOf(key, SIZES[(i + 3) % SIZES.length]);
          want.set(key, v);
          mine.push(respCommand("SET", key, v));
        }
        await Promise.all([churn(f, "quit"), p.write(concatBytes(mine), (i) => 1000 + i * 997)]);
        deepEqual((await p.replies(mine.length)).map((g) => dec.decode(g)), mine.map(() => OK));
        await checkValues(f, want);
        // What the closed pipeline's requests stored, if they ran at all, is whole.
        await p.write(concatBytes(sentThenGone.map(([k]) => respCommand("GET", k))));
        const got = await p.replies(sentThenGone.length);
        for (let i = 0; i < got.length; i++) {
          const [key, v] = sentThenGone[i];
          if (dec.decode(got[i]) === "$-1\r\n") continue;
          ok(sameBytes(got[i], bulk(v)), replyMismatch(`GET ${key}`, got[i], bulk(v)));
        }
        await p.write(respCommand("EXISTS", `quit:${1 << 20}`, `quit:${16 * 1024}`));
        equal(dec.decode((await p.replies(1))[0]), ":0\r\n", "half-sent requests never ran");
      } finally {
        p.close();
      }
    });
  });
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}
