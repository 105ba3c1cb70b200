import { equal, match, ok } from "node:assert/strict";
import { slotOf } from "../models/hash.ts";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";
import { CLIENT_SOCKET_MODES } from "../testing/client_socket_modes.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("proxy: session_break_on_failure closes a session after a request the proxy could not serve", async () => {
  for (const breakOnFailure of [true, false]) {
    const f = await startProxyFixture(1, { session_break_on_failure: breakOnFailure });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    try {
      // Slot of "gone" offline: its requests fail in the proxy (not a Redis error reply).
      await f.proxy.fillSlots([{ id: slotOf(enc("gone")), backend_addr: "" }]);
      await conn.write(enc("*2\r\n$3\r\nGET\r\n$4\r\ngone\r\n"));
      const text = await readUntil(conn, (s) => s.includes("\r\n"), 3000);
      match(text, /^-ERR slot \d+ is not ready/);
      await conn.write(enc("*1\r\n$4\r\nPING\r\n")).catch(() => 0);
      const after = await readUntil(conn, (s) => s.includes("PONG"), 1000);
      equal(after.includes("+PONG"), !breakOnFailure, `break_on_failure=${breakOnFailure}: ${JSON.stringify(after)}`);
    } finally {
      conn.close();
      await f.stop();
    }
  }
});

Deno.test("proxy: session_send_timeout closes a client that stops reading its replies", async () => {
  const f = await startProxyFixture(1, { session_send_timeout: 300, session_recv_timeout: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const c = f.client();
    equal(await c.set("big", "x".repeat(4 << 20)), "OK");
    const others = f.proxy.sessionCount();
    // 16 MB of replies to a client that reads none of them: the proxy's writes wait on the full socket buffers.
    const get = enc("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    for (let i = 0; i < 4; i++) await conn.write(get);
    for (let i = 0; i < 60 && f.proxy.sessionCount() > others - 1; i++) await sleep(50);
    equal(f.proxy.sessionCount(), others - 1, "the non-reading session is closed");
    equal(await c.ping(), "PONG", "other sessions carry on");
  } finally {
    conn.close();
    await f.stop();
  }
});

for (const mode of CLIENT_SOCKET_MODES) {
  Deno.test(`proxy (${mode.name}): a client that pipelines without reading is held back by its unsent replies, and loses nothing`, async () => {
    const f = await startProxyFixture(1, { session_send_timeout: 0, session_recv_timeout: 0, ...mode.config });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    try {
      const value = "v".repeat(256 << 10);
      equal(await f.client().set("big", value), "OK");
      const direct = f.direct(0, slotOf(enc("big")));
      await direct.call("CONFIG", "RESETSTAT");
      // 20 bursts of 20 GETs, 30 ms apart, and no read: 100 MB of replies if the proxy ran them all. (One burst is run
      // whole, as Redis would; what is bounded is how far a client that never reads can get ahead.)
      const n = 400;
      const burst = enc("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(20));
      const writer = (async () => {
        for (let i = 0; i < n / 20; i++) {
          await conn.write(burst);
          await sleep(30);
        }
      })();
      await sleep(1500);
      const stats = String(await direct.call("INFO", "commandstats"));
      const ran = Number(/cmdstat_get:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      ok(ran > 0 && ran < n / 2, `GETs run while the client reads nothing: ${ran} of ${n}`);
      // Now the client reads: every reply arrives, whole and in order.
      const want = n * (value.length + `$${value.length}\r\n\r\n`.length);
      const buf = new Uint8Array(1 << 20);
      let got = 0;
      const deadline = Date.now() + 30_000;
      while (got < want && Date.now() < deadline) {
        const r = await conn.read(buf);
        if (r === null) break;
        got += r;
      }
      equal(got, want);
      await writer;
    } finally {
      conn.close();
      await f.stop();
    }
  });
}
