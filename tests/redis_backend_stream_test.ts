/**
 * Backend connections (redis/conn.ts: the reply framer, direct reads into a big bulk's buffer, gathered writes) and
 * the proxy over them, against a real redis-server whose replies reach them cut at seeded random points by a relay
 * (testing/rechunk_relay.ts): many connections at once, pipelined batches of tiny replies, values around the 64 KiB
 * direct-read mark, 1 MB values, arrays of bulks, INFO, LOLWUT, errors, writes of big values. Every reply must be
 * the one the request asked for, byte for byte, and stay so after later reads.
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Redis } from "ioredis";
import { evenSlotRanges } from "../models/slots.ts";
import { Rng } from "../raft/sim/prng.ts";
import { BackendConn } from "../redis/conn.ts";
import { encodeCommand } from "../redis/encode.ts";
import { ReplyFramer } from "../redis/reply_framer.ts";
import { startProxyFixture } from "../testing/proxy.ts";
import { startRechunkRelay } from "../testing/rechunk_relay.ts";
import { startRedis } from "../testing/redis.ts";
import { concat } from "../util/bytes.ts";

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
/** Value sizes: small, around the 64 KiB marks of direct reads and gathered writes, and 1 MB. */
const SIZES = [0, 1, 7, 300, 4000, 32_768, 65_000, 65_535, 65_536, 65_537, 65_600, 70_000, 131_075, 1_000_000];
const DBS = 4;
const OPTS = { auth: "", maxPipeline: 100_000, minBackoffMs: 10, maxBackoffMs: 100, connectTimeoutMs: 10_000 };

/** `n` seeded bytes, with the bytes RESP gives meaning to (CR, LF, `$`, `*`, `H`) more often than chance. */
function valueBytes(rng: Rng, n: number): Uint8Array {
  const v = new Uint8Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.chance(0.05) ? rng.pick([13, 10, 36, 42, 72]) : rng.int(0, 255);
  return v;
}

const bulk = (v: Uint8Array) => concat([enc.encode(`$${v.length}\r\n`), v, enc.encode("\r\n")]);
const array = (items: Uint8Array[]) => concat([enc.encode(`*${items.length}\r\n`), ...items]);
const line = (s: string) => enc.encode(`${s}\r\n`);

/** A bulk reply whose text contains `marker`, as INFO's or LOLWUT's (their content changes from call to call). */
function bulkWith(marker: string): (got: Uint8Array) => string | null {
  return (got) => {
    const text = latin1.decode(got);
    const m = /^\$(\d+)\r\n/.exec(text);
    if (!m) return `not a bulk: ${JSON.stringify(text.slice(0, 40))}`;
    if (text.length !== m[0].length + Number(m[1]) + 2 || !text.endsWith("\r\n")) return "bulk of the wrong length";
    return text.includes(marker) ? null : `no ${JSON.stringify(marker)} in ${JSON.stringify(text.slice(0, 60))}`;
  };
}

/** One request and what its reply must be: exact bytes, or a check. */
interface Probe {
  db: number;
  args: (string | Uint8Array)[];
  want: Uint8Array | ((got: Uint8Array) => string | null);
}

/** The data every connection reads: per database, a key of each size and three lists. */
interface Dataset {
  keys: Map<string, Uint8Array>[];
  lists: Map<string, Uint8Array[]>[];
}

function makeDataset(rng: Rng): Dataset {
  const keys: Map<string, Uint8Array>[] = [];
  const lists: Map<string, Uint8Array[]>[] = [];
  for (let db = 0; db < DBS; db++) {
    keys.push(new Map(SIZES.map((n, i) => [`k:${i}`, valueBytes(rng, n)])));
    lists.push(
      new Map([
        ["l:small", Array.from({ length: 50 }, (_, i) => valueBytes(rng, i % 9))],
        ["l:mixed", [70_000, 5, 65_536, 0, 300, 65_537].map((n) => valueBytes(rng, n))],
        ["l:big", [200_000, 200_001, 199_999].map((n) => valueBytes(rng, n))],
      ]),
    );
  }
  return { keys, lists };
}

/** A random request of connection `who`, whose own keys (`own`, by database) it alone writes. */
function randomProbe(rng: Rng, data: Dataset, who: number, own: Map<string, Uint8Array | number>[]): Probe {
  const db = rng.int(0, DBS - 1);
  const mine = `own:${who}:${rng.int(0, 3)}`;
  switch (rng.int(0, 13)) {
    case 0:
    case 1:
    case 2: {
      const k = `k:${rng.int(0, SIZES.length - 1)}`;
      return { db, args: ["GET", k], want: bulk(data.keys[db].get(k)!) };
    }
    case 3: {
      const ks = Array.from({ length: rng.int(1, 5) }, () => `k:${rng.int(0, SIZES.length - 2)}`);
      return { db, args: ["MGET", ...ks], want: array(ks.map((k) => bulk(data.keys[db].get(k)!))) };
    }
    case 4: {
      const l = rng.pick(["l:small", "l:mixed", "l:big"]);
      return { db, args: ["LRANGE", l, "0", "-1"], want: array(data.lists[db].get(l)!.map(bulk)) };
    }
    case 5: {
      const v = valueBytes(rng, rng.pick(SIZES.slice(0, -1)));
      return { db, args: ["ECHO", v], want: bulk(v) };
    }
    case 6: {
      const v = valueBytes(rng, rng.pick(SIZES));
      own[db].set(mine, v);
      return { db, args: ["SET", mine, v], want: line("+OK") };
    }
    case 7: {
      const v = own[db].get(mine);
      return { db, args: ["GET", mine], want: v instanceof Uint8Array ? bulk(v) : line("$-1") };
    }
    case 8: {
      const n = typeof own[db].get(`${mine}:n`) === "number" ? own[db].get(`${mine}:n`) as number + 1 : 1;
      own[db].set(`${mine}:n`, n);
      return { db, args: ["INCR", `${mine}:n`], want: line(`:${n}`) };
    }
    case 9:
      return { db, args: ["INFO"], want: bulkWith("# Server\r\nredis_version:") };
    case 10:
      return { db, args: ["LOLWUT"], want: bulkWith("Redis ver.") };
    case 11:
      return {
        db,
        args: ["GET", "l:small"],
        want: line("-WRONGTYPE Operation against a key holding the wrong kind of value"),
      };
    case 12:
      return { db, args: ["GET", `missing:${rng.int(0, 9)}`], want: line("$-1") };
    default:
      return { db, args: ["PING"], want: line("+PONG") };
  }
}

/** Counts the reads that went straight into a big bulk's buffer while `run` runs, in every framer. */
async function countingDirectReads(run: () => Promise<void>): Promise<number> {
  const readTarget = ReplyFramer.prototype.readTarget;
  let direct = 0;
  ReplyFramer.prototype.readTarget = function (this: ReplyFramer) {
    const room = readTarget.call(this);
    if (room !== null) direct++;
    return room;
  };
  try {
    await run();
  } finally {
    ReplyFramer.prototype.readTarget = readTarget;
  }
  return direct;
}

/** Why `got` is not the reply `probe` wants, or null. */
function mismatch(probe: Probe, got: Uint8Array): string | null {
  if (typeof probe.want === "function") return probe.want(got);
  const want = probe.want;
  if (Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.length), Buffer.from(want)) === 0) return null;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const show = (b: Uint8Array) => JSON.stringify(latin1.decode(b.subarray(Math.max(0, i - 8), i + 24)));
  return `${got.length} bytes, want ${want.length}; first difference at ${i}: ${show(got)}, want ${show(want)}`;
}

const describe = (p: Probe) =>
  `db ${p.db} ${p.args.map((a) => typeof a === "string" ? a : `<${a.length} bytes>`).join(" ")}`;

async function load(addr: string, data: Dataset): Promise<void> {
  const conn = new BackendConn(addr, OPTS);
  try {
    await conn.connect();
    for (let db = 0; db < DBS; db++) {
      await conn.call(db, ["FLUSHDB"]);
      for (const [k, v] of data.keys[db]) assert.equal(latin1.decode(await conn.call(db, ["SET", k, v])), "+OK\r\n");
      for (const [l, items] of data.lists[db]) await conn.call(db, ["RPUSH", l, ...items]);
    }
  } finally {
    conn.close();
  }
}

/** Pipelined rounds of random requests on one connection, each reply checked; returns the replies checked. */
async function exercise(conn: BackendConn, data: Dataset, who: number): Promise<number> {
  const rng = new Rng(100 + who);
  await conn.connect();
  const own = Array.from({ length: DBS }, () => new Map<string, Uint8Array | number>());
  // Small replies are kept and checked again at the end: a view handed out must not change under later reads.
  const keep: [Probe, Uint8Array][] = [];
  let checked = 0;
  for (let round = 0; round < 8; round++) {
    const probes = Array.from({ length: rng.int(1, 40) }, () => randomProbe(rng, data, who, own));
    const replies = await Promise.all(probes.map((p) => conn.callEncoded(p.db, encodeCommand(p.args))));
    probes.forEach((p, i) => {
      const why = mismatch(p, replies[i]);
      assert.equal(why, null, `connection ${who}, round ${round}, reply ${i} to ${describe(p)}: ${why}`);
      if (replies[i].length < 100_000 && typeof p.want !== "function") keep.push([p, replies[i]]);
    });
    checked += probes.length;
  }
  for (const [p, got] of keep) assert.equal(mismatch(p, got), null, `kept reply to ${describe(p)} changed`);
  return checked;
}

Deno.test("backend connections: replies cut at random points by a relay arrive whole, in order, byte for byte", async () => {
  const redis = await startRedis({ databases: DBS });
  const relay = startRechunkRelay(redis.port, 7);
  // One connection straight to the server; the rest through the relay.
  const conns = Array.from({ length: 6 }, (_, i) => new BackendConn(i === 0 ? redis.addr : relay.addr, OPTS));
  try {
    const data = makeDataset(new Rng(1));
    await load(redis.addr, data);
    let checked = 0;
    const direct = await countingDirectReads(async () => {
      const counts = await Promise.all(conns.map((conn, who) => exercise(conn, data, who)));
      checked = counts.reduce((a, b) => a + b, 0);
    });
    assert.ok(checked > 500, `only ${checked} replies checked`);
    assert.ok(relay.pieces > 1000, `the relay cut the stream into only ${relay.pieces} pieces`);
    assert.ok(direct > 50, `only ${direct} reads went straight into a value's buffer`);
  } finally {
    for (const c of conns) c.close();
    await relay.close();
    await redis.stop();
  }
});

/** What a proxy client reads: a value of each size under `k:<i>`, and a list of mixed sizes under `l`. */
interface ProxyData {
  values: Buffer[];
  list: Buffer[];
}

/** Pipelined rounds of random requests from one client of the proxy, each reply checked; returns how many. */
async function exerciseClient(c: Redis, data: ProxyData, who: number): Promise<number> {
  const r = new Rng(200 + who);
  const same = (want: Buffer) => (got: unknown) =>
    Buffer.isBuffer(got) && got.equals(want) ? null : `got ${(got as Buffer)?.length} bytes, want ${want.length}`;
  const sameList = (got: unknown) =>
    Array.isArray(got) && got.length === data.list.length && got.every((g, i) => data.list[i].equals(g))
      ? null
      : "LRANGE differs";
  let checked = 0;
  for (let round = 0; round < 6; round++) {
    const p = c.pipeline();
    const wants: ((got: unknown) => string | null)[] = [];
    for (let n = r.int(1, 30); n > 0; n--) {
      const kind = r.int(0, 6);
      if (kind <= 2) {
        const i = r.int(0, SIZES.length - 1);
        p.getBuffer(`k:${i}`);
        wants.push(same(data.values[i]));
      } else if (kind === 3) {
        const k = `own:${who}:${r.int(0, 2)}`;
        const v = Buffer.from(valueBytes(r, r.pick(SIZES)));
        p.set(k, v);
        wants.push((got) => got === "OK" ? null : `SET answered ${got}`);
        p.getBuffer(k);
        wants.push(same(v));
      } else if (kind === 4) {
        p.lrangeBuffer("l", 0, -1);
        wants.push(sameList);
      } else if (kind === 5) {
        p.info();
        wants.push((got) => String(got).includes("# Server") ? null : "INFO without # Server");
      } else {
        p.call("LOLWUT");
        wants.push((got) => String(got).includes("Redis ver.") ? null : "LOLWUT without its version line");
      }
    }
    const res = await p.exec();
    assert.ok(res !== null);
    res.forEach(([err, got], i) => {
      assert.equal(err, null, `client ${who}, round ${round}, reply ${i}: ${err}`);
      const why = wants[i](got);
      assert.equal(why, null, `client ${who}, round ${round}, reply ${i}: ${why}`);
    });
    checked += res.length;
  }
  return checked;
}

Deno.test("proxy: replies from a backend whose stream is cut at random points reach many clients whole", async () => {
  const f = await startProxyFixture(1);
  const relay = startRechunkRelay(f.backends[0].port, 11);
  try {
    await f.proxy.fillSlots(evenSlotRanges([relay.addr]));
    const rng = new Rng(5);
    const data = {
      values: SIZES.map((n) => Buffer.from(valueBytes(rng, n))),
      list: [70_000, 3, 65_536, 0, 200_000].map((n) => Buffer.from(valueBytes(rng, n))),
    };
    const setup = f.client();
    for (const [i, v] of data.values.entries()) assert.equal(await setup.set(`k:${i}`, v), "OK");
    await setup.rpush("l", ...data.list);
    let checked = 0;
    const direct = await countingDirectReads(async () => {
      const counts = await Promise.all(Array.from({ length: 12 }, (_, who) => exerciseClient(f.client(), data, who)));
      checked = counts.reduce((a, b) => a + b, 0);
    });
    assert.ok(checked > 300, `only ${checked} replies checked`);
    assert.ok(relay.pieces > 300, `the relay cut the stream into only ${relay.pieces} pieces`);
    assert.ok(direct > 20, `only ${direct} reads went straight into a value's buffer`);
  } finally {
    await f.stop();
    await relay.close();
  }
});
