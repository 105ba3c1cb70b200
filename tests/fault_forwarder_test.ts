/**
 * The fault-injecting forwarder (testing/fault_forwarder.ts) between a client and an echo-less server on 127.0.0.1:
 * a one-way stall holds one direction and lets the other flow, both of existing connections and of new ones (which
 * reach the server only once healed), and nothing held is lost; a reset closes and refuses; discard eats bytes;
 * delay and loss make chunks late. Also who opened a connection (chaos/conn_owner.ts) and the loopback hosts' rules
 * as forwarder faults (chaos/loopback.ts).
 * @module
 */
import assert from "node:assert/strict";
import { type FaultForwarder, LinkTable, startFaultForwarder } from "../testing/fault_forwarder.ts";
import { ConnOwners, GONE, procNetAddr, socketInode } from "../chaos/conn_owner.ts";
import { SockDiag } from "../chaos/sock_diag.ts";
import { LoopbackHosts } from "../chaos/loopback.ts";
import { noRules } from "../chaos/hosts.ts";
import { sleep } from "../testing/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A server that keeps what it receives per connection and can write back. */
function startServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: { conn: Deno.Conn; got: string }[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      const entry = { conn, got: "" };
      conns.push(entry);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            entry.got += dec.decode(buf.subarray(0, n));
          }
        } catch { /* closed */ }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    conns,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.conn.close();
        } catch { /* closed */ }
      }
      await loop;
    },
  };
}

/** Reads what arrives on `conn` within `ms` ("" when nothing; null when the connection ended). */
async function readFor(conn: Deno.Conn, ms: number): Promise<string | null> {
  const buf = new Uint8Array(4096);
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms));
  const read = conn.read(buf).catch(() => null);
  const n = await Promise.race([read, timer]);
  if (n === "timeout") {
    // The read stays pending: the caller closes the connection at the end, which settles it.
    return "";
  }
  return n === null ? null : dec.decode(buf.subarray(0, n));
}

async function withForwarder(
  fn: (fwd: FaultForwarder, links: LinkTable, server: ReturnType<typeof startServer>) => Promise<void>,
  random?: () => number,
) {
  const server = startServer();
  const links = new LinkTable();
  const fwd = startFaultForwarder({
    listen: { hostname: "127.0.0.1", port: 0 },
    target: { hostname: "127.0.0.1", port: server.port },
    server: "server",
    policy: links,
    random,
  });
  try {
    await fn(fwd, links, server);
  } finally {
    await fwd.close();
    await server.close();
  }
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

Deno.test("fault forwarder: a one-way stall holds that direction of an open connection, loses nothing on heal", async () => {
  await withForwarder(async (fwd, links, server) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: fwd.port });
    try {
      await c.write(enc.encode("before;"));
      await until(() => server.conns[0]?.got === "before;");
      links.set("client", "server", { cut: "stall" });
      await c.write(enc.encode("during;"));
      await server.conns[0].conn.write(enc.encode("back"));
      // The other direction flows.
      assert.equal(await readFor(c, 2000), "back");
      await sleep(300);
      assert.equal(server.conns[0].got, "before;");
      links.clear();
      await until(() => server.conns[0].got === "before;during;");
    } finally {
      c.close();
    }
  });
});

Deno.test("fault forwarder: a stalled link keeps a new connection from the server until healed", async () => {
  await withForwarder(async (fwd, links, server) => {
    links.set("server", "client", { cut: "stall" });
    const c = await Deno.connect({ hostname: "127.0.0.1", port: fwd.port });
    try {
      await c.write(enc.encode("hello"));
      await sleep(300);
      assert.equal(server.conns.length, 0);
      links.clear();
      await until(() => server.conns[0]?.got === "hello");
    } finally {
      c.close();
    }
  });
});

Deno.test("fault forwarder: a reset closes open connections and refuses new ones until healed", async () => {
  await withForwarder(async (fwd, links, server) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: fwd.port });
    try {
      await c.write(enc.encode("x"));
      await until(() => server.conns.length === 1);
      links.set("client", "server", { cut: "reset" });
      assert.equal(await readFor(c, 2000), null);
      const d = await Deno.connect({ hostname: "127.0.0.1", port: fwd.port });
      assert.equal(await readFor(d, 2000), null);
      d.close();
      assert.equal(server.conns.length, 1);
      links.clear();
      const e = await Deno.connect({ hostname: "127.0.0.1", port: fwd.port });
      await e.write(enc.encode("again"));
      await until(() => server.conns[1]?.got === "again");
      e.close();
    } finally {
      c.close();
    }
  });
});

Deno.test("fault forwarder: discard drops bytes and keeps the connection", async () => {
  await withForwarder(async (fwd, links, server) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: fwd.port });
    try {
      await c.write(enc.encode("a"));
      await until(() => server.conns[0]?.got === "a");
      links.set("client", "server", { cut: "discard" });
      await c.write(enc.encode("lost"));
      await sleep(200);
      links.clear();
      await c.write(enc.encode("b"));
      await until(() => server.conns[0].got === "ab");
    } finally {
      c.close();
    }
  });
});

Deno.test("fault forwarder: delay and a lost packet make a chunk late, in order", async () => {
  // Draws: the handshake's loss, then per chunk jitter and loss. The first chunk's loss draw hits and every other
  // one misses: one retransmission timeout (200 ms) on the first chunk.
  let draws = 0;
  const random = () => draws++ === 2 ? 0 : 0.999;
  await withForwarder(async (fwd, links, server) => {
    links.set("client", "server", { delayMs: 100, lossPercent: 50 });
    const c = await Deno.connect({ hostname: "127.0.0.1", port: fwd.port });
    try {
      const t0 = performance.now();
      await c.write(enc.encode("one;"));
      await until(() => server.conns.length === 1);
      await c.write(enc.encode("two;"));
      await until(() => server.conns[0].got === "one;two;");
      assert.ok(performance.now() - t0 >= 300, `arrived after ${performance.now() - t0} ms`);
    } finally {
      c.close();
    }
  }, random);
});

Deno.test("conn owners: names the child process that opened a connection, this one, or none once closed", async () => {
  assert.equal(procNetAddr("127.0.0.1", 8080), "0100007F:1F90");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const owners = new ConnOwners();
  const child = new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), "PING"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    owners.register(child.pid, "redis-cli host");
    const fromChild = await listener.accept();
    assert.equal(owners.ownerOf(fromChild, "me"), "redis-cli host");
    const mine = Deno.connect({ hostname: "127.0.0.1", port });
    const fromMe = await listener.accept();
    assert.equal(owners.ownerOf(fromMe, "me"), "me");
    // sock_diag and /proc/net/tcp name the same socket.
    const diag = SockDiag.open();
    assert.ok(diag, "sock_diag unavailable");
    const [a, b] = [fromMe.remoteAddr as Deno.NetAddr, fromMe.localAddr as Deno.NetAddr];
    const inode = diag.inode(a, b);
    diag.close();
    assert.ok(inode !== undefined && inode !== "0", String(inode));
    assert.equal(inode, socketInode(await Deno.readTextFile("/proc/net/tcp"), a, b));
    (await mine).close();
    // Its opener closed it before the lookup: nobody will read an answer.
    assert.equal(owners.ownerOf(fromMe, "me"), GONE);
    fromMe.close();
    fromChild.close();
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    listener.close();
    owners.close();
  }
});

Deno.test("loopback hosts: partition rules become stalls per direction, loss and delay per link", async () => {
  const net = LoopbackHosts.create(["a", "b", "c"], () => [], Math.random);
  try {
    const addr = (n: string) => net.host(n).addr;
    assert.notEqual(net.host("a").addr, net.host("a").bind);
    const rules = noRules();
    rules.dropTo.add(addr("b"));
    await net.setRules("a", rules);
    // a -> b bytes stall, whoever opened the connection; b -> a flows.
    assert.equal(net.faults("a", "b", "up").cut, "stall");
    assert.equal(net.faults("a", "b", "down").cut, false);
    assert.equal(net.faults("b", "a", "down").cut, "stall");
    assert.equal(net.faults("b", "a", "up").cut, false);
    assert.equal(net.faults("a", "c", "up").cut, false);
    // The tool's own connections are never faulted.
    assert.equal(net.faults("tool", "b", "up").cut, false);
    const undo = await net.slowLink("c", "b", { lossPercent: 10, delayMs: 50, jitterMs: 5 }, undefined as never);
    assert.equal(net.faults("c", "b", "down").delayMs, 50);
    assert.equal(net.faults("b", "c", "up").delayMs, 0);
    assert.equal(net.faults("a", "c", "up").lossPercent, 10);
    await undo();
    assert.equal(net.faults("a", "c", "up").lossPercent, 0);
    await net.healAll();
    assert.equal(net.faults("a", "b", "up").cut, false);
  } finally {
    await net.close();
  }
});
