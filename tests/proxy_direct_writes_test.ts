/**
 * Writes on direct client connections (`session_epoll_direct`, proxy/net/uv_socket.ts) that wait in the runtime
 * handle's queue: the handle keeps no reply alive by itself, so a garbage collection while they wait must not free
 * (and let other allocations overwrite) any reply still to be sent.
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import v8 from "node:v8";
import vm from "node:vm";
import { encodeCommand } from "../redis/encode.ts";
import { startProxyFixture } from "../testing/proxy.ts";
import { sleep } from "../testing/wait.ts";

/** V8's collector, reachable once --expose-gc is set (a new context then has `gc`). */
function collector(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

function bulk(v: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from("\r\n")]);
}

Deno.test("proxy (epoll, direct): replies queued behind a full socket survive a garbage collection", async () => {
  const gc = collector();
  const f = await startProxyFixture(1, { session_epoll_direct: 8 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const c = f.client();
    const big = new Uint8Array(8 << 20).map((_, i) => (i * 7) & 0xff);
    await c.set("dw:big", Buffer.from(big));
    const small = Array.from({ length: 16 }, (_, i) => Buffer.from(`value-${i}-`.repeat(1 + i)));
    for (let i = 0; i < small.length; i++) await c.set(`dw:${i}`, small[i]);

    // 32 MB of replies that the client does not read yet: the proxy's writes wait in the handle's queue.
    const want: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      await conn.write(encodeCommand(["GET", "dw:big"]));
      want.push(bulk(big));
    }
    await sleep(300);
    // Then MGETs across slots, in one write: their joined replies (made fresh, referenced by nothing else) leave in
    // flushes of many replies each, which go to the queue as one gathered write.
    const mgets: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const ks = [i % 16, (i * 5 + 3) % 16, (i * 11 + 7) % 16];
      mgets.push(encodeCommand(["MGET", ...ks.map((k) => `dw:${k}`)]));
      want.push(Buffer.concat([Buffer.from("*3\r\n"), ...ks.map((k) => bulk(small[k]))]));
    }
    await conn.write(Buffer.concat(mgets));
    await sleep(300);
    // Collect, then fill freed memory with other bytes: a reply the queue's write no longer kept alive shows them.
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(100); // (backing stores are freed off the main thread)
    }
    const junk = Array.from({ length: 20_000 }, (_, i) => new Uint8Array(64 + (i % 8) * 32).fill(0x5a));

    const expected = Buffer.concat(want);
    const got = new Uint8Array(expected.length);
    let n = 0;
    const deadline = Date.now() + 30_000;
    while (n < got.length && Date.now() < deadline) {
      const r = await conn.read(got.subarray(n));
      if (r === null) break;
      n += r;
    }
    equal(n, expected.length, "every reply's bytes");
    const first = expected.findIndex((b, i) => got[i] !== b);
    equal(first, -1, `the replies as sent (first difference at byte ${first}: ${got.subarray(first, first + 16)})`);
    ok(junk.length > 0);
  } finally {
    conn.close();
    await f.stop();
  }
});
