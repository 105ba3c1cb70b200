import assert from "node:assert/strict";
import { startDelayForwarder } from "./forwarder.ts";
import { Rng } from "./rng.ts";

async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const buf = new Uint8Array(1024);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return chunks.join("");
    chunks.push(new TextDecoder().decode(buf.subarray(0, n)));
  }
}

Deno.test("delay forwarder: carries bytes in order both ways", async () => {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echo = (async () => {
    const c = await server.accept();
    const buf = new Uint8Array(1024);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      await c.write(buf.subarray(0, n));
    }
    c.close();
  })();
  const fwd = startDelayForwarder(
    "127.0.0.1",
    { hostname: "127.0.0.1", port: (server.addr as Deno.NetAddr).port },
    5,
    5,
    new Rng(1),
  );
  try {
    const [host, port] = fwd.addr.split(":");
    const c = await Deno.connect({ hostname: host, port: Number(port) });
    const sent = Array.from({ length: 20 }, (_, i) => `chunk${i};`);
    for (const s of sent) await c.write(new TextEncoder().encode(s));
    let got = "";
    const buf = new Uint8Array(1024);
    while (got.length < sent.join("").length) {
      const n = await c.read(buf);
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.equal(got, sent.join(""));
    c.close();
    await echo;
  } finally {
    await fwd.close();
    server.close();
  }
});

Deno.test("delay forwarder: a peer that closes mid-stream ends the copy without an unhandled error", async () => {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // The peer goes away while chunks still wait out their delay in the forwarder.
  const closer = (async () => {
    const c = await server.accept();
    await new Promise((r) => setTimeout(r, 50));
    c.close();
  })();
  const fwd = startDelayForwarder(
    "127.0.0.1",
    { hostname: "127.0.0.1", port: (server.addr as Deno.NetAddr).port },
    300,
    0,
    new Rng(2),
  );
  try {
    const [host, port] = fwd.addr.split(":");
    const c = await Deno.connect({ hostname: host, port: Number(port) });
    for (let i = 0; i < 50; i++) await c.write(new Uint8Array(4096)).catch(() => 0);
    assert.equal(await readAll(c), "");
    c.close();
    await closer;
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await fwd.close();
    server.close();
  }
});
