/**
 * session_send_timeout on both client socket kinds (session_epoll: the proxy's own epoll sockets, or Deno's
 * connections): it closes a client that reads none of its replies, not one that reads a big reply slowly. What it
 * measures is how long the oldest unsent byte has waited without the client taking any.
 * @module
 */
import assert from "node:assert/strict";
import { encodeCommand } from "../redis/encode.ts";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";
import { sleep, until } from "../testing/wait.ts";
import { CLIENT_SOCKET_MODES } from "../testing/client_socket_modes.ts";

const SEND_TIMEOUT_MS = 1000;
/**
 * 16 MB: far more than the socket buffers take at once (on loopback they took 3.9 MB of a reply no one read), so the
 * proxy's write of the rest waits on the client for seconds.
 */
const VALUE = new Uint8Array(16 << 20).fill(0x61);
/** `$16777216\r\n` + the value + `\r\n`. */
const REPLY_LENGTH = `$${VALUE.length}\r\n`.length + VALUE.length + 2;

async function setBigValue(conn: Deno.Conn): Promise<void> {
  const set = encodeCommand(["SET", "big", VALUE]);
  for (let off = 0; off < set.length;) off += await conn.write(set.subarray(off));
  assert.equal(await readUntil(conn, (s) => s.includes("\r\n"), 10_000), "+OK\r\n");
}

for (const mode of CLIENT_SOCKET_MODES) {
  Deno.test(`proxy session send timeout: a client that reads a big reply slowly gets all of it (${mode.name})`, async () => {
    const f = await startProxyFixture(1, { ...mode.config, session_send_timeout: SEND_TIMEOUT_MS });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    try {
      await setBigValue(conn);
      await conn.write(encodeCommand(["GET", "big"]));
      // At most 256 KiB every 50 ms (5 MB/s): the reply takes over 3 s, always progressing. (Slower reading is not
      // seen as progress by either socket kind: the kernel reports a socket writable again only once a third of its
      // send buffer, up to 4 MB, is free, which at 640 KB/s takes longer than the timeout.)
      const buf = new Uint8Array(256 << 10);
      let got = 0;
      const deadline = Date.now() + 30_000;
      while (got < REPLY_LENGTH && Date.now() < deadline) {
        const n = await conn.read(buf);
        if (n === null) break;
        got += n;
        await sleep(50);
      }
      assert.equal(got, REPLY_LENGTH, "the whole reply arrived before the connection ended");
      assert.equal(f.proxy.sessionCount(), 1, "the session is still open");
    } finally {
      conn.close();
      await f.stop();
    }
  });

  Deno.test(`proxy session send timeout: a client that reads nothing is closed after about the timeout (${mode.name})`, async () => {
    const f = await startProxyFixture(1, { ...mode.config, session_send_timeout: SEND_TIMEOUT_MS });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
    try {
      await setBigValue(conn);
      await conn.write(encodeCommand(["GET", "big"]));
      const sent = Date.now();
      await until("session closed", 5000, () => Promise.resolve(f.proxy.sessionCount() === 0 ? true : undefined), 20);
      const tookMs = Date.now() - sent;
      assert.ok(tookMs >= SEND_TIMEOUT_MS - 50, `not before the timeout: ${tookMs} ms`);
      assert.ok(tookMs < SEND_TIMEOUT_MS + 1000, `about the timeout: ${tookMs} ms`);
    } finally {
      conn.close();
      await f.stop();
    }
  });
}
