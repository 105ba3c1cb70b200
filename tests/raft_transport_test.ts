import assert from "node:assert/strict";
import { TcpTransport } from "../raft/transport/tcp.ts";
import { frameBytes } from "../raft/transport/frames.ts";
import type { Message } from "../raft/types.ts";

function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error("timed out"));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

async function pair(secretB = "s3cret") {
  const gotA: Message[] = [];
  const gotB: Message[] = [];
  const unreachable: number[] = [];
  const base = { listen: "127.0.0.1:0", clusterId: "c1" };
  const a = await TcpTransport.start({
    ...base,
    id: 1,
    clusterSecret: "s3cret",
    onMessage: (m) => gotA.push(m),
    onUnreachable: (id) => unreachable.push(id),
  });
  const b = await TcpTransport.start({ ...base, id: 2, clusterSecret: secretB, onMessage: (m) => gotB.push(m) });
  a.setPeer(2, b.addr);
  b.setPeer(1, a.addr);
  return { a, b, gotA, gotB, unreachable };
}

Deno.test("raft transport: two transports exchange messages", async () => {
  const { a, b, gotA, gotB } = await pair();
  try {
    const entries = [{ term: 1, index: 5, type: "normal" as const, data: new Uint8Array([1, 2, 3]) }];
    for (let i = 0; i < 50; i++) a.send([{ type: "app", from: 1, to: 2, term: 1, index: 4, logTerm: 1, entries }]);
    b.send([{ type: "appResp", from: 2, to: 1, term: 1, index: 5, context: new Uint8Array([9]) }]);
    await waitFor(() => gotB.length === 50 && gotA.length === 1);
    assert.deepEqual(gotB[0].entries, entries);
    assert.deepEqual(gotA[0].context, new Uint8Array([9]));
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("raft transport: a wrong secret is refused", async () => {
  const { a, b, gotB, unreachable } = await pair("other");
  try {
    a.send([{ type: "heartbeat", from: 1, to: 2, term: 1 }]);
    await waitFor(() => unreachable.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(gotB.length, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("raft transport: garbage and forged frames are refused without a crash", async () => {
  const { a, b, gotA, gotB } = await pair();
  try {
    const port = Number(b.addr.split(":")[1]);
    const garbage = [
      new Uint8Array(1000).fill(0xab),
      frameBytes(new TextEncoder().encode("{not json")),
      frameBytes(
        new TextEncoder().encode(
          JSON.stringify({ cluster: "c1", from: 1, to: 2, addr: "x", nonceC: "AA==", mac: "AA==" }),
        ),
      ),
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
    ];
    for (const g of garbage) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      const hello = new Uint8Array(64);
      await c.read(hello);
      try {
        await c.write(g);
        const buf = new Uint8Array(64);
        // The server closes the connection (read yields null or an error) instead of answering.
        const n = await c.read(buf).catch(() => null);
        assert.equal(n, null);
      } finally {
        c.close();
      }
    }
    // After all that the transports still work.
    a.send([{ type: "heartbeat", from: 1, to: 2, term: 3, commit: 1 }]);
    b.send([{ type: "heartbeatResp", from: 2, to: 1, term: 3 }]);
    await waitFor(() => gotB.length === 1 && gotA.length === 1);
    assert.equal(gotB[0].term, 3);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("raft transport: a frame replayed within or across connections is refused", async () => {
  const { hmac, seqBytes, FrameReader } = await import("../raft/transport/frames.ts");
  const { encodeMessage } = await import("../raft/codec.ts");
  const { a, b, gotB } = await pair();
  try {
    const port = Number(b.addr.split(":")[1]);
    const open = async () => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      const r = new FrameReader(c, 1024);
      const hello = (await r.next())!;
      const nonceS = hello.subarray(5);
      const nonceC = new Uint8Array(16).fill(7);
      const mac = hmac("s3cret", "hello", JSON.stringify(["c1", 1, 2, "127.0.0.1:9", ""]), nonceS, nonceC);
      const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u));
      const h = { cluster: "c1", from: 1, to: 2, addr: "127.0.0.1:9", meta: "", nonceC: b64(nonceC), mac: b64(mac) };
      await c.write(frameBytes(new TextEncoder().encode(JSON.stringify(h))));
      await r.next();
      return { c, key: hmac("s3cret", "key", nonceS, nonceC) };
    };
    const payload = encodeMessage({ type: "heartbeat", from: 1, to: 2, term: 7 });
    const c1 = await open();
    const f = frameBytes(hmac(c1.key, seqBytes(0), payload), payload);
    await c1.c.write(f);
    await waitFor(() => gotB.length === 1);
    await c1.c.write(f); // replay on the same connection: wrong sequence number
    assert.equal(await c1.c.read(new Uint8Array(8)).catch(() => null), null);
    c1.c.close();
    const c2 = await open();
    await c2.c.write(f); // replay on another connection: wrong key
    assert.equal(await c2.c.read(new Uint8Array(8)).catch(() => null), null);
    c2.c.close();
    assert.equal(gotB.length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("raft transport: the listener learns the dialer's address and meta", async () => {
  const seen: [number, string, string][] = [];
  const base = { listen: "127.0.0.1:0", clusterId: "c1", clusterSecret: "s" };
  const a = await TcpTransport.start({ ...base, id: 1, meta: "http://127.0.0.1:8080", onMessage: () => {} });
  const got: Message[] = [];
  const b = await TcpTransport.start({
    ...base,
    id: 2,
    onMessage: (m) => got.push(m),
    onPeerAddr: (id, addr, meta) => seen.push([id, addr, meta]),
  });
  try {
    a.setPeer(2, b.addr);
    a.send([{ type: "heartbeat", from: 1, to: 2, term: 1 }]);
    await waitFor(() => got.length === 1);
    assert.deepEqual(seen, [[1, a.addr, "http://127.0.0.1:8080"]]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("raft transport: a peer of another cluster (same secret) is refused", async () => {
  const got: Message[] = [];
  const unreachable: number[] = [];
  const a = await TcpTransport.start({
    listen: "127.0.0.1:0",
    clusterId: "other",
    clusterSecret: "s",
    id: 1,
    onMessage: () => {},
    onUnreachable: (id) => unreachable.push(id),
  });
  const b = await TcpTransport.start({
    listen: "127.0.0.1:0",
    clusterId: "c1",
    clusterSecret: "s",
    id: 2,
    onMessage: (m) => got.push(m),
  });
  try {
    a.setPeer(2, b.addr);
    a.send([{ type: "vote", from: 1, to: 2, term: 9, index: 100, logTerm: 9 }]);
    await waitFor(() => unreachable.length > 0);
    assert.equal(got.length, 0);
  } finally {
    await a.close();
    await b.close();
  }
});
