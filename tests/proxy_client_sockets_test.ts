/**
 * Client connections on the proxy's own epoll set (session_epoll, the default on Linux) and on Deno.Conn: many
 * sessions at once, a burst of connections, big values that fill the socket buffers, half-close, and the file
 * descriptors given back when clients leave.
 */
import { equal, ok } from "node:assert/strict";
import { openFilesLimit } from "../util/ulimit.ts";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";
import { sleep, until } from "../testing/wait.ts";
import { CLIENT_SOCKET_MODES } from "../testing/client_socket_modes.ts";

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

for (const mode of CLIENT_SOCKET_MODES.filter((m) => m.config.session_epoll)) {
  Deno.test(`proxy (${mode.name}): big values fill the socket buffers and still arrive whole, to a client that reads slowly`, async () => {
    const f = await startProxyFixture(1, { session_send_timeout: 0, ...mode.config });
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

  Deno.test(`proxy (${mode.name}): a client that half-closes after its requests gets every reply, then the end`, async () => {
    const f = await startProxyFixture(1, mode.config);
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
}

Deno.test("proxy (epoll, direct): clients beyond session_epoll_direct share the epoll set; a closed direct client's place is taken again", async () => {
  const f = await startProxyFixture(2, { session_epoll_direct: 2 });
  const conns: Deno.Conn[] = [];
  const open = async () => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    conns.push(c);
    return c;
  };
  const roundTrip = async (c: Deno.Conn, i: number, round: number) => {
    const value = `v${i}-${round}`;
    await c.write(enc(command("SET", `k${i}`, value) + command("GET", `k${i}`)));
    return await readUntil(c, (s) => s.length >= 5 + bulk(value).length, 5000) === "+OK\r\n" + bulk(value);
  };
  try {
    const before = openFds();
    // The first two go to the runtime's reactor, the other three to the epoll set: all take turns in every round.
    const first = await Promise.all([0, 1, 2, 3, 4].map(() => open()));
    for (let round = 0; round < 5; round++) {
      const ok5 = await Promise.all(first.map((c, i) => roundTrip(c, i, round)));
      equal(ok5.filter(Boolean).length, 5, `round ${round}: every client got its own reply`);
    }
    // QUIT on one direct client, EOF on the other: both close, and two new clients take their places.
    await first[0].write(enc(command("QUIT")));
    equal(await readUntil(first[0], () => false, 3000), "+OK\r\n");
    await first[1].closeWrite();
    equal(await readUntil(first[1], () => false, 3000), "");
    await until("two sessions closed", 5000, () => Promise.resolve(f.proxy.sessionCount() === 3 ? true : undefined));
    const next = [first[2], first[3], first[4], await open(), await open()];
    for (let round = 0; round < 5; round++) {
      const ok5 = await Promise.all(next.map((c, i) => roundTrip(c, 10 + i, round)));
      equal(ok5.filter(Boolean).length, 5, `after the swap, round ${round}: every client got its own reply`);
    }
    for (const c of conns) c.close();
    conns.length = 0;
    await until("sessions closed", 5000, () => Promise.resolve(f.proxy.sessionCount() === 0 ? true : undefined));
    await until(
      `fds back to ${before} (${openFds()} now)`,
      5000,
      () => Promise.resolve(openFds() <= before ? true : undefined),
    );
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed above */ }
    }
    await f.stop();
  }
});

Deno.test("proxy (epoll, direct): CLIENT KILL closes a direct client at once; the others carry on", async () => {
  const f = await startProxyFixture(1, { session_epoll_direct: 8 });
  const victim = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  const other = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    await victim.write(enc(command("CLIENT", "SETNAME", "victim")));
    equal(await readUntil(victim, (s) => s.includes("\r\n"), 3000), "+OK\r\n");
    await other.write(enc(command("CLIENT", "KILL", "USER", "default", "SKIPME", "yes")));
    equal(await readUntil(other, (s) => s.includes("\r\n"), 3000), ":1\r\n");
    equal(await readUntil(victim, () => false, 3000), "", "the killed client sees its connection end");
    await other.write(enc(command("PING")));
    equal(await readUntil(other, (s) => s.includes("\r\n"), 3000), "+PONG\r\n");
  } finally {
    victim.close();
    other.close();
    await f.stop();
  }
});
