/**
 * The receive low-water mark of epoll client connections (SO_RCVLOWAT, proxy/net/fd_socket.ts): while a big value
 * arrives, the connection sleeps until a big piece of it is there, and the mark never asks for more than the client
 * is certain to send. A value sent in slow pieces is answered whole and the mark goes back to 1; a client that stops
 * mid-value and then hangs up (half-close, or close) is noticed. The proxy runs in this process, so the test reads
 * the mark on the proxy's own fd (CLIENT LIST's fd).
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { Libc } from "../proxy/net/libc.ts";
import { receiveMark } from "../proxy/net/fd_socket.ts";
import { type ProxyFixture, readUntil, startProxyFixture } from "../testing/proxy.ts";
import { sleep, until } from "../testing/wait.ts";

const enc = new TextEncoder();
const VALUE_LEN = 1 << 20;

/** A value whose bytes differ with their position, so that a shifted or truncated copy shows. */
function patterned(n: number): Uint8Array {
  const v = new Uint8Array(n);
  for (let i = 0; i < n; i++) v[i] = (i * 31 + (i >> 10)) & 0xff;
  return v;
}

/** `SET key value` with the value's bytes and CRLF last, so that offsets past the header are offsets in the value. */
function setRequest(key: string, value: Uint8Array): { bytes: Uint8Array; head: number } {
  const head = enc.encode(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n`);
  const bytes = new Uint8Array(head.length + value.length + 2);
  bytes.set(head);
  bytes.set(value, head.length);
  bytes.set([13, 10], head.length + value.length);
  return { bytes, head: head.length };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let k = 0; k < bytes.length;) k += await conn.write(bytes.subarray(k));
}

/** The proxy's fd for the client connected from `localPort` (CLIENT LIST), or null once its session is gone. */
async function proxyFd(f: ProxyFixture, localPort: number): Promise<number | null> {
  const list = String(await f.client().call("CLIENT", "LIST"));
  const line = list.split("\n").find((l) => l.includes(` addr=127.0.0.1:${localPort} `));
  const m = line === undefined ? null : / fd=(\d+) /.exec(line);
  return m === null ? null : Number(m[1]);
}

/** Bytes queued unread on a socket of this process (ioctl FIONREAD). */
function makeUnread(): { unread(fd: number): number; close(): void } {
  const lib = Deno.dlopen("libc.so.6", { ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" } } as const);
  const out = new Int32Array(1);
  return {
    unread(fd) {
      if (lib.symbols.ioctl(fd, 0x541bn, out) !== 0) throw new Error("ioctl(FIONREAD) failed");
      return out[0];
    },
    close: () => lib.close(),
  };
}

/**
 * Bytes the client socket from `localPort` holds not yet taken by the proxy's side (ss's Send-Q). Run synchronously,
 * so that the proxy on this thread does not read in the meantime.
 */
function unsent(localPort: number): number {
  const out = new Deno.Command("ss", { args: ["-tnH", "state", "established", `( sport = :${localPort} )`] })
    .outputSync();
  const fields = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
  if (!out.success || fields.length < 2) throw new Error(`ss: no socket from port ${localPort}`);
  return Number(fields[1]);
}

function openLibc(): Libc {
  const libc = Libc.open();
  if (typeof libc === "string") throw new Error(`libc: ${libc}`);
  return libc;
}

Deno.test("receiveMark: never above what is due; 1 when nothing is; capped; follows a started mark down", () => {
  equal(receiveMark(0, 1), 1);
  equal(receiveMark(0, 200_000), 1);
  equal(receiveMark(1000, 1), 1, "a small rest starts no mark");
  equal(receiveMark(1000, 70_000), 1000, "a started mark follows the rest down to its end");
  equal(receiveMark(100_000, 1), 100_000);
  equal(receiveMark(10_000_000, 1), 256 * 1024);
  for (const due of [0, 1, 2, 100, 65_535, 65_536, 262_144, 262_145, 5_000_000]) {
    for (const current of [1, 10, 65_536, 262_144]) {
      const m = receiveMark(due, current);
      ok(m >= 1 && (m <= due || m === 1), `receiveMark(${due}, ${current}) = ${m}`);
    }
  }
});

Deno.test("proxy (epoll): a 1 MB value sent in slow pieces sleeps on a mark within its rest, is answered whole, and the mark goes back to 1", async () => {
  const f = await startProxyFixture(1, { session_epoll: true });
  const libc = openLibc();
  const unread = makeUnread();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const value = patterned(VALUE_LEN);
    const { bytes, head } = setRequest("marked", value);
    const fd = await until("the session in CLIENT LIST", 5000, () => proxyFd(f, conn.localAddr.port));
    const checkMark = (fd: number, toSend: number) => {
      const m = libc.receiveLowWater(fd);
      const queued = unread.unread(fd);
      const inFlight = unsent(conn.localAddr.port);
      ok(
        m === 1 || m <= queued + inFlight + toSend,
        `mark ${m} above the ${queued} bytes queued + ${inFlight} in flight + ${toSend} still to send`,
      );
    };
    equal(libc.receiveLowWater(fd), 1, "no mark before a big value");
    // The header and 100 KiB of the value: the session now waits for ~900 KiB more.
    let sent = head + 100 * 1024;
    await writeAll(conn, bytes.subarray(0, sent));
    const first = await until("a mark for the rest of the value", 5000, () => {
      const m = libc.receiveLowWater(fd);
      return Promise.resolve(m > 1 ? m : null);
    });
    ok(first <= bytes.length - sent, `mark ${first} above the ${bytes.length - sent} bytes still to come`);
    // The rest in 7 KiB pieces, slower than the mark fills, down to the last 1000 bytes. The mark never asks for more
    // than is certain to come: the bytes queued unread plus those the client has still to send (the proxy runs on
    // this thread, so both are read at one moment).
    let pieces = 0;
    while (bytes.length - sent > 1000) {
      const next = Math.min(sent + 7 * 1024, bytes.length - 1000);
      await writeAll(conn, bytes.subarray(sent, next));
      sent = next;
      if (++pieces % 8 === 0) await sleep(5);
      checkMark(fd, bytes.length - sent);
    }
    // The last 1000 bytes (the value's end and its CRLF) one small piece at a time.
    while (sent < bytes.length) {
      const next = Math.min(sent + 100, bytes.length);
      await writeAll(conn, bytes.subarray(sent, next));
      sent = next;
      checkMark(fd, bytes.length - sent);
      await sleep(2);
    }
    equal(await readUntil(conn, (s) => s.length >= 5, 20_000), "+OK\r\n");
    equal(libc.receiveLowWater(fd), 1, "the mark is back to 1 once the value is whole");
    // A small request after it is answered at once (a mark left in place would sleep on it).
    await writeAll(conn, enc.encode("*1\r\n$4\r\nPING\r\n"));
    equal(await readUntil(conn, (s) => s.length >= 7, 5000), "+PONG\r\n");
    const stored = await f.client().getBuffer("marked");
    ok(stored !== null && stored.length === value.length, `stored ${stored?.length} bytes`);
    ok(stored.equals(value), "the stored value differs from the one sent");
  } finally {
    conn.close();
    libc.close();
    unread.close();
    await f.stop();
  }
});

for (const hangUp of ["half-close", "close"] as const) {
  Deno.test(`proxy (epoll): a client that stops mid-value and then ${hangUp}s is noticed while the mark is set`, async () => {
    const f = await startProxyFixture(1, { session_epoll: true });
    const libc = openLibc();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    let open = true;
    try {
      const { bytes, head } = setRequest("abandoned", patterned(VALUE_LEN));
      const port = conn.localAddr.port;
      const fd = await until("the session in CLIENT LIST", 5000, () => proxyFd(f, port));
      await writeAll(conn, bytes.subarray(0, head + 300 * 1024));
      await until("a mark for the rest of the value", 5000, () => Promise.resolve(libc.receiveLowWater(fd) > 1));
      // Other clients are served while this one sleeps on its mark.
      equal(await f.client().ping(), "PONG");
      if (hangUp === "half-close") {
        await conn.closeWrite();
        // The proxy sees the end, drops the unfinished request and closes: the client reads the end of the stream.
        equal(await readUntil(conn, () => false, 10_000), "", "no reply to an unfinished request");
      } else {
        conn.close();
        open = false;
      }
      await until("the session gone from CLIENT LIST", 10_000, async () => (await proxyFd(f, port)) === null);
      equal(await f.client().exists("abandoned"), 0, "an unfinished SET was not applied");
    } finally {
      if (open) conn.close();
      libc.close();
      await f.stop();
    }
  });
}
