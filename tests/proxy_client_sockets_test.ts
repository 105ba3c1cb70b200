/**
 * Client connections on the proxy's own epoll set (session_epoll, the default on Linux) and on Deno.Conn: many
 * sessions at once, a burst of connections, big values that fill the socket buffers, half-close, and the file
 * descriptors given back when clients leave.
 */
import { equal, ok } from "node:assert/strict";
import { openFilesLimit } from "../util/ulimit.ts";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";
import { sleep, until } from "../testing/wait.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function bulk(s: string): string {
  return `$${s.length}\r\n${s}\r\n`;
}

function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map(bulk).join("")}`;
}

/** Open file descriptors of this process (the test's clients and the in-process proxy's sessions). */
function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** Sends a pipeline of SET and GET on its own key over `n` connections at once; every one must read its own value. */
async function manyClients(port: number, n: number): Promise<void> {
  const conns = await Promise.all(Array.from({ length: n }, () => Deno.connect({ hostname: "127.0.0.1", port })));
  try {
    const replies = await Promise.all(conns.map(async (c, i) => {
      const key = `client-${i}`;
      const value = `value-of-${i}-`.repeat(1 + (i % 7));
      await c.write(enc(command("SET", key, value) + command("GET", key) + command("PING")));
      const want = `+OK\r\n${bulk(value)}+PONG\r\n`;
      return { want, got: await readUntil(c, (s) => s.length >= want.length, 20_000) };
    }));
    let wrong = 0;
    for (const r of replies) if (r.got !== r.want) wrong++;
    equal(wrong, 0, `${wrong} of ${n} clients got a wrong or missing reply`);
  } finally {
    for (const c of conns) c.close();
  }
}

for (const epoll of [true, false]) {
  const mode = epoll ? "epoll" : "Deno.Conn";
  Deno.test(`proxy (${mode}): 300 clients at once each get their own replies, in order`, async () => {
    const f = await startProxyFixture(2, { session_epoll: epoll });
    try {
      await manyClients(f.port, 300);
    } finally {
      await f.stop();
    }
  });
}

Deno.test("proxy (epoll): a burst of connections is accepted and every one answered; their fds are given back", async () => {
  // Each connection costs two fds in this process: the client's end and the proxy's.
  const n = Math.max(100, Math.min(2000, Math.floor(((openFilesLimit() ?? 1024) - 300) / 2)));
  const f = await startProxyFixture(1, { proxy_max_clients: 0 }); // 0: no limit
  try {
    const before = openFds();
    await manyClients(f.port, n);
    await until("sessions closed", 10_000, () => Promise.resolve(f.proxy.sessionCount() === 0 ? true : undefined));
    // Closed sessions close their fds (a leak would keep up to n of them), a moment after the end is sent.
    await until(
      `fds back to ${before} (${openFds()} now)`,
      10_000,
      () => Promise.resolve(openFds() <= before + 5 ? true : undefined),
    );
  } finally {
    await f.stop();
  }
});

Deno.test("proxy (epoll): big values fill the socket buffers and still arrive whole, to a client that reads slowly", async () => {
  const f = await startProxyFixture(1, { session_send_timeout: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const value = "0123456789abcdef".repeat(64 << 10); // 1 MB
    await conn.write(enc(command("SET", "big", value)));
    equal(await readUntil(conn, (s) => s.includes("\r\n"), 10_000), "+OK\r\n");
    // Twelve copies (12 MB) requested at once, then read in small slow steps: the proxy's sends hit a full socket
    // buffer and the rest waits in its queue until the client reads.
    await conn.write(enc(command("GET", "big").repeat(12) + command("PING")));
    const want = bulk(value).repeat(12) + "+PONG\r\n";
    const got = new Uint8Array(want.length);
    let off = 0;
    const buf = new Uint8Array(256 << 10);
    const deadline = Date.now() + 30_000;
    for (let i = 0; off < want.length && Date.now() < deadline; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      got.set(buf.subarray(0, Math.min(n, want.length - off)), off);
      off += n;
      if (i < 20) await sleep(20);
    }
    equal(off, want.length);
    ok(new TextDecoder().decode(got) === want, "the replies arrive whole and in order");
  } finally {
    conn.close();
    await f.stop();
  }
});

Deno.test("proxy (epoll): a client that half-closes after its requests gets every reply, then the end", async () => {
  const f = await startProxyFixture(1);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    await conn.write(enc(command("SET", "half", "closed") + command("GET", "half")));
    await conn.closeWrite();
    const text = await readUntil(conn, () => false, 3000);
    equal(text, "+OK\r\n" + bulk("closed"));
    await until("session closed", 5000, () => Promise.resolve(f.proxy.sessionCount() === 0 ? true : undefined));
  } finally {
    conn.close();
    await f.stop();
  }
});
