import { equal, match, ok } from "node:assert/strict";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Sends raw bytes on a new connection and returns everything read until the proxy closes it (or 3 s). */
async function rawExchange(port: number, bytes: Uint8Array, until?: (s: string) => boolean): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(bytes);
    return await readUntil(conn, until ?? (() => false), 3000);
  } finally {
    conn.close();
  }
}

Deno.test("proxy: malformed input gets an error, closes only that session", async () => {
  const f = await startProxyFixture(2, { session_max_bulk_len: 1024 * 1024 });
  try {
    const bystander = f.client();
    equal(await bystander.set("safe", "1"), "OK");
    const cases: [string, Uint8Array, RegExp][] = [
      ["garbage after a header", enc("*1\r\n!!!!\r\n"), /-ERR Protocol error: expected '\$'/],
      ["negative bulk length", enc("*1\r\n$-5\r\nabc\r\n"), /-ERR Protocol error: invalid bulk length/],
      ["huge bulk length", enc("*1\r\n$99999999999\r\n"), /-ERR Protocol error: (invalid bulk length|bulk length)/],
      ["bulk over the limit", enc("*1\r\n$2000000\r\n"), /-ERR Protocol error: invalid bulk length/],
      ["non-numeric count", enc("*x\r\n"), /-ERR Protocol error: invalid multibulk length/],
      ["missing CRLF after bulk", enc("*1\r\n$3\r\nGETXX"), /not terminated by CRLF/],
      ["unbalanced quotes inline", enc('SET "a b\r\n'), /unbalanced quotes/],
      ["unterminated inline line", new Uint8Array(70 * 1024).fill(65), /too big inline request/],
    ];
    for (const [what, bytes, want] of cases) {
      const got = await rawExchange(f.port, bytes);
      match(got, want, `${what}: got ${JSON.stringify(got.slice(0, 200))}`);
    }
    // A truncated frame is just waited for; the rest of it completes the request.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    await conn.write(enc("*2\r\n$3\r\nGET\r\n$4\r\nsa"));
    await new Promise((r) => setTimeout(r, 50));
    await conn.write(enc("fe\r\n"));
    equal(await readUntil(conn, (s) => s.endsWith("\r\n") && s.length >= 7), "$1\r\n1\r\n");
    conn.close();
    equal(await bystander.get("safe"), "1");
    equal(f.proxy.sessionCount(), 1);
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: limits on arguments and clients close only the offender", async () => {
  const f = await startProxyFixture(1, { session_max_args: 10, proxy_max_clients: 3 });
  try {
    const a = f.client();
    equal(await a.ping(), "PONG");
    const tooMany = enc("*11\r\n" + "$4\r\nPING\r\n".repeat(11));
    match(await rawExchange(f.port, tooMany), /-ERR Protocol error: invalid multibulk length/);
    const held: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
        held.push(c);
        await c.write(enc("PING\r\n"));
        equal(await readUntil(c, (s) => s.endsWith("\r\n")), "+PONG\r\n");
      }
      match(await rawExchange(f.port, enc("PING\r\n")), /-ERR max number of clients reached/);
      equal(await a.ping(), "PONG");
    } finally {
      for (const c of held) c.close();
    }
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: an idle session is closed after session_recv_timeout", async () => {
  const f = await startProxyFixture(1, { session_recv_timeout: 300 });
  try {
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    const t0 = Date.now();
    const text = await readUntil(idle, () => false, 3000);
    idle.close();
    match(text, /idle timeout/);
    ok(Date.now() - t0 < 2500, "closed by the proxy, not by the test's own time bound");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: a backend killed and restarted: clear errors, then full recovery, no misdelivered replies", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    // Keys on both backends: slot < 512 → backend 0, otherwise backend 1.
    const keys = Array.from({ length: 40 }, (_, i) => `kr:${i}`);
    for (const k of keys) await c.set(k, `v-${k}`);
    await f.backends[1].kill();
    const during = await Promise.allSettled(keys.map((k) => c.get(k)));
    let errs = 0;
    for (let i = 0; i < keys.length; i++) {
      const r = during[i];
      if (r.status === "fulfilled") equal(r.value, `v-${keys[i]}`);
      else {
        errs++;
        match(String(r.reason), /backend 127\.0\.0\.1:\d+ (is unavailable|connection lost)/);
      }
    }
    ok(errs > 0, "requests to the dead backend fail");
    ok(errs < keys.length, "requests to the live backend succeed");
    await f.backends[1].restart();
    // The data is gone with the killed (non-persistent) server; what matters is routing recovers fully.
    const deadline = Date.now() + 10_000;
    let recovered = false;
    while (Date.now() < deadline && !recovered) {
      await new Promise((r) => setTimeout(r, 100));
      const rs = await Promise.allSettled(keys.map((k) => c.set(k, `w-${k}`)));
      recovered = rs.every((r) => r.status === "fulfilled");
    }
    ok(recovered, "all writes succeed after the restart");
    const p = c.pipeline();
    for (const k of keys) p.get(k);
    const res = await p.exec();
    for (let i = 0; i < keys.length; i++) equal(res![i][1], `w-${keys[i]}`);
  } finally {
    await f.stop();
  }
});
