import { equal, match } from "node:assert/strict";
import { slotOf } from "../proxy/hash.ts";
import { readUntil, startProxyFixture } from "./support/proxy.ts";

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
