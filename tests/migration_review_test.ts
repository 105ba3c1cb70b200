/**
 * Review tests of data safety while a slot migrates: a session's own writes must keep their order and stay readable
 * across the proxy's model changes.
 * @module
 */
import { equal } from "node:assert/strict";
import { slotOf } from "../proxy/hash.ts";
import { readUntil, startProxyFixture } from "./support/proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A key in a slot that backend 0 owns (slots 0..511). */
function keyOnFirstBackend(prefix: string): { key: string; slot: number } {
  for (let i = 0;; i++) {
    const key = `${prefix}${i}`;
    const slot = slotOf(enc(key));
    if (slot < 512) return { key, slot };
  }
}

function resp(...args: string[]): Uint8Array {
  return enc(`*${args.length}\r\n${args.map((a) => `$${enc(a).length}\r\n${a}\r\n`).join("")}`);
}

Deno.test("migration review: a pipelined write sent after the slot finished does not overtake one still moving its key", async () => {
  const f = await startProxyFixture(2);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const { key, slot } = keyOnFirstBackend("order:");
    const [a, b] = f.backends.map((x) => x.addr);
    const c = f.client();
    equal(await c.set(key, "v0"), "OK");
    await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a }]);
    // The source answers its MIGRATE late (a busy source, a big value on the wire).
    const src = f.direct(0);
    equal(await src.call("CLIENT", "PAUSE", "400", "ALL"), "OK");
    await conn.write(resp("SET", key, "v1"));
    await new Promise((r) => setTimeout(r, 50));
    // The executor emptied the source meanwhile; the dashboard stores `finished`: only the target now.
    const filled = f.proxy.fillSlots([{ id: slot, backend_addr: b }]);
    // The same session then overwrites the key: its last write must win.
    await conn.write(resp("SET", key, "v2"));
    await conn.write(resp("GET", key));
    const text = await readUntil(conn, (s) => s.split("\r\n").length >= 5, 5000);
    await filled;
    equal(text, "+OK\r\n+OK\r\n$2\r\nv2\r\n", "the session reads its own last write");
    equal(await f.direct(1, slot).get(key), "v2");
  } finally {
    conn.close();
    await f.stop();
  }
});
