/**
 * The Raft transport's handshake binds the id a dialer claims to the membership: knowing the cluster secret is not
 * enough to speak as a node that is not a voter or learner (issue 12).
 */
import assert from "node:assert/strict";
import { RaftNode } from "../raft/node/node.ts";
import { KvStateMachine } from "../raft/kvtest/kv.ts";
import { frameBytes, FrameReader, hmac } from "../raft/transport/frames.ts";
import { freePort } from "../testing/ports.ts";

const SECRET = "membership-test-secret";
const CLUSTER = "membership";

/** Dials `addr`, authenticates as `from` with the right secret; answers whether the node acknowledged. */
async function handshakeAs(addr: string, from: number, to: number): Promise<boolean> {
  const [hostname, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  const c = await Deno.connect({ hostname, port });
  try {
    const r = new FrameReader(c, 1024);
    const hello = await r.next();
    assert.ok(hello, "the node greets");
    const nonceS = hello.subarray(5);
    const nonceC = crypto.getRandomValues(new Uint8Array(16));
    const signed = JSON.stringify([CLUSTER, from, to, "127.0.0.1:9", ""]);
    const mac = hmac(SECRET, "hello", signed, nonceS, nonceC);
    const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u));
    const h = { cluster: CLUSTER, from, to, addr: "127.0.0.1:9", meta: "", nonceC: b64(nonceC), mac: b64(mac) };
    await c.write(frameBytes(new TextEncoder().encode(JSON.stringify(h))));
    const ack = await r.next().catch(() => null);
    if (ack === null) return false;
    assert.deepEqual(ack, hmac(SECRET, "ack", nonceS, nonceC), "an ack is the expected MAC");
    return true;
  } finally {
    try {
      c.close();
    } catch { /* closed by the node */ }
  }
}

Deno.test("raft transport: a handshake as a non-member id is refused, a member's is acknowledged", async () => {
  const root = await Deno.makeTempDir({ prefix: "raft-membership-" });
  const addr = `127.0.0.1:${freePort()}`;
  // Node 1 of a two-voter cluster whose second member (2) is not running: only ids 1 and 2 are members.
  const peers = new Map([[1, addr], [2, `127.0.0.1:${freePort()}`]]);
  let node: RaftNode | undefined;
  try {
    node = await RaftNode.start({
      id: 1,
      addr,
      peers,
      dataDir: `${root}/n1`,
      clusterId: CLUSTER,
      clusterSecret: SECRET,
      tickMs: 20,
      // A founder: a node that waits to join (bootstrap "existing" with an empty data dir) has no configuration to check ids against.
      bootstrap: "new",
    }, new KvStateMachine());
    assert.equal(await handshakeAs(addr, 2, 1), true, "member 2 is acknowledged");
    assert.equal(await handshakeAs(addr, 9, 1), false, "non-member 9 is refused despite the right secret");
    assert.ok(!node.status().members.some((m) => m.id === 9), "node 9 was not learnt as a peer");
  } finally {
    await node?.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("raft transport: a fresh node waiting to be added accepts its future leader", async () => {
  const root = await Deno.makeTempDir({ prefix: "raft-membership-" });
  const addr = `127.0.0.1:${freePort()}`;
  let node: RaftNode | undefined;
  try {
    node = await RaftNode.start({
      id: 4,
      addr,
      peers: new Map([[1, `127.0.0.1:${freePort()}`]]),
      join: true,
      dataDir: `${root}/n4`,
      clusterId: CLUSTER,
      clusterSecret: SECRET,
      tickMs: 20,
    }, new KvStateMachine());
    assert.equal(await handshakeAs(addr, 7, 4), true, "no configuration yet: any authenticated leader may add it");
  } finally {
    await node?.close();
    await Deno.remove(root, { recursive: true });
  }
});
