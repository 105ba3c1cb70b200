/**
 * session_recv_timeout when the proxy's own process does not run for longer than the timeout (a starved or stopped
 * process, a paused machine): the JavaScript thread is held busy here, which stops timers and reads alike. A client
 * that kept sending meanwhile is not idle.
 * @module
 */
import assert from "node:assert/strict";
import { startProxyFixture } from "../testing/proxy.ts";
import { holdThread } from "../testing/hold_thread.ts";
import { CLIENT_SOCKET_MODES } from "../testing/client_socket_modes.ts";

for (const mode of CLIENT_SOCKET_MODES) {
  Deno.test(`proxy session timeouts: a client that sent while the process did not run is not closed as idle (${mode.name})`, async () => {
    const f = await startProxyFixture(1, { session_recv_timeout: 400, ...mode.config });
    try {
      // A PING every 100 ms for 3 s, from another process: it goes on sending while this one is held.
      const cli = new Deno.Command("redis-cli", {
        args: ["-h", "127.0.0.1", "-p", String(f.port), "-r", "30", "-i", "0.1", "PING"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 500));
      holdThread(1500);
      const out = await cli.output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(text.trim().split("\n").filter((l) => l === "PONG").length, 30, text);
    } finally {
      await f.stop();
    }
  });
}

Deno.test("proxy session timeouts: a client that stayed idle is still closed after the process did not run", async () => {
  const f = await startProxyFixture(1, { session_recv_timeout: 400 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "+PONG\r\n");
    holdThread(1500);
    const heldAt = Date.now();
    let text = "";
    for (let m = await conn.read(buf); m !== null; m = await conn.read(buf)) {
      text += new TextDecoder().decode(buf.subarray(0, m));
    }
    assert.equal(text, "-ERR idle timeout (session_recv_timeout), closing the connection\r\n");
    assert.ok(Date.now() - heldAt < 1000, `closed by the sweep after the late one: ${Date.now() - heldAt} ms`);
  } finally {
    conn.close();
    await f.stop();
  }
});
