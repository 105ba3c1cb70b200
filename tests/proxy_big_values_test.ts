/**
 * Big values through the proxy on every client socket kind (testing/client_socket_modes.ts): a SET of
 * 4 MB and of 64 MB written in pieces is answered, and GET gives back the same bytes. The bound on each exchange only
 * catches a request that is never answered; speed is measured in bench/.
 * @module
 */
import assert from "node:assert/strict";
import { startProxyFixture } from "../testing/proxy.ts";
import { CLIENT_SOCKET_MODES } from "../testing/client_socket_modes.ts";

const enc = new TextEncoder();
/** Long enough for 64 MB each way on a loaded 2-core machine; a parser that stalls never answers at all. */
const HANG_MS = 120_000;

/** Writes all of `bytes` in writes of at most `piece` bytes. */
async function writeInPieces(conn: Deno.Conn, bytes: Uint8Array, piece: number): Promise<void> {
  for (let off = 0; off < bytes.length; off += piece) {
    const part = bytes.subarray(off, Math.min(bytes.length, off + piece));
    for (let k = 0; k < part.length;) k += await conn.write(part.subarray(k));
  }
}

/** Reads exactly `expect` bytes; throws when they do not come within {@link HANG_MS}. */
async function readReply(conn: Deno.Conn, expect: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(expect);
  let len = 0;
  const deadline = Date.now() + HANG_MS;
  while (len < expect) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(out.subarray(len)),
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), Math.max(1, deadline - Date.now()))),
    ]).finally(() => clearTimeout(timer));
    if (n === "timeout") throw new Error(`${what}: no whole reply within ${HANG_MS} ms (${len} of ${expect} bytes)`);
    if (n === null) throw new Error(`${what}: connection closed after ${len} of ${expect} bytes`);
    len += n;
  }
  return out;
}

/** A value whose bytes differ with their position, so that a shifted or truncated copy shows. */
function patterned(n: number): Uint8Array {
  const v = new Uint8Array(n);
  for (let i = 0; i < n; i++) v[i] = (i * 31 + (i >> 10)) & 0xff;
  return v;
}

function setRequest(key: string, value: Uint8Array): Uint8Array {
  const head = enc.encode(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n`);
  const req = new Uint8Array(head.length + value.length + 2);
  req.set(head);
  req.set(value, head.length);
  req.set([13, 10], head.length + value.length);
  return req;
}

for (const mode of CLIENT_SOCKET_MODES) {
  Deno.test(`proxy (${mode.name}): SETs of 4 MB and 64 MB sent in pieces are answered; GET gives the same bytes`, async () => {
    const f = await startProxyFixture(1, mode.config);
    let conn: Deno.Conn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
      for (const [mb, piece] of [[4, 4096], [64, 65536]]) {
        const value = patterned(mb << 20);
        const key = `big:${mb}`;
        const writing = writeInPieces(conn, setRequest(key, value), piece);
        const ok = await readReply(conn, 5, `SET of ${mb} MB`);
        await writing;
        assert.equal(new TextDecoder().decode(ok), "+OK\r\n", `SET of ${mb} MB`);
        await conn.write(enc.encode(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`));
        const head = `$${value.length}\r\n`;
        const reply = await readReply(conn, head.length + value.length + 2, `GET of ${mb} MB`);
        assert.equal(new TextDecoder().decode(reply.subarray(0, head.length)), head);
        const got = reply.subarray(head.length, head.length + value.length);
        let same = true;
        for (let i = 0; i < value.length && same; i++) same = got[i] === value[i];
        assert.ok(same, `GET of ${mb} MB returns the bytes SET`);
      }
    } finally {
      conn?.close();
      await f.stop();
    }
  });
}
