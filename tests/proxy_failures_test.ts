/**
 * Failure paths of codis-proxy: a WATCH lost with its dedicated connection, a connection's idea of
 * its database after connect() during connecting, a blocked command re-run for a session already closed, split and
 * transaction failures, RESP3 reconnects, the idle timeout, and a client that leaves (or floods) while requests wait
 * behind its blocked command.
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { BackendConn } from "../redis/conn.ts";
import { slotOf } from "../proxy/hash.ts";
import { readUntil, startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The proxy's connections to a server whose last command was `cmd`, from CLIENT LIST. */
function clientsWithCmd(list: string, cmd: string): string[] {
  return list.split("\n").filter((l) => l.includes(` cmd=${cmd} `));
}

Deno.test("proxy failures: a WATCH lost with its dedicated connection aborts EXEC instead of running unwatched", async () => {
  const f = await startProxyFixture(1);
  try {
    const c = f.client();
    const key = "{rw}k";
    const direct = f.direct(0, slotOf(enc.encode(key)));
    equal(await c.set(key, "1"), "OK");
    equal(await c.watch(key), "OK");
    // Drop the session's dedicated connection (the one that sent WATCH): the server forgets the WATCH with it.
    const watchers = clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "watch");
    equal(watchers.length, 1, "one connection holds the WATCH");
    const id = /\bid=(\d+)/.exec(watchers[0])![1];
    equal(await direct.call("CLIENT", "KILL", "ID", id), 1);
    await sleep(200); // the connection reconnects in the background
    // A write the WATCH must see.
    equal(await direct.set(key, "changed"), "OK");
    const res = await c.multi().set(key, "mine").exec().then((r) => r, (e: Error) => e);
    ok(res === null || res instanceof Error, `EXEC must not run after the WATCH was lost: ${JSON.stringify(res)}`);
    equal(await c.get(key), "changed");
    // The session is usable again: a new WATCH on a fresh connection works.
    equal(await c.watch(key), "OK");
    deepEqual(await c.multi().set(key, "mine").exec(), [[null, "OK"]]);
    equal(await c.get(key), "mine");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy failures: a blocking command in another group than the WATCH does not silently drop the WATCH", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    const route = f.proxy.router.slots;
    // One key per group.
    let a = "", b = "";
    for (let i = 0; a === "" || b === ""; i++) {
      const k = `{g${i}}k`;
      const addr = route[slotOf(enc.encode(k))].backend!.addr;
      if (addr === f.backends[0].addr && a === "") a = k;
      if (addr === f.backends[1].addr && b === "") b = k;
    }
    const directA = f.direct(0, slotOf(enc.encode(a)));
    equal(await c.set(a, "1"), "OK");
    equal(await c.watch(a), "OK");
    equal(await c.blpop(b, 0.05), null);
    equal(await directA.set(a, "changed"), "OK");
    const res = await c.multi().set(a, "mine").exec().then((r) => r, (e: Error) => e);
    ok(res === null || res instanceof Error, `EXEC must not run after the WATCH was lost: ${JSON.stringify(res)}`);
    equal(await c.get(a), "changed");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy failures: connect() again while connecting keeps the connection's database in step with the server", async () => {
  const r = await startRedis();
  const conn = new BackendConn(r.addr, {
    auth: "",
    maxPipeline: 1000,
    minBackoffMs: 10,
    maxBackoffMs: 100,
    connectTimeoutMs: 3000,
  });
  try {
    const first = conn.connect();
    // Queued while the TCP connect is in progress: SELECT 5, SET.
    const set = conn.call(5, ["SET", "k", "in-5"]);
    const second = conn.connect();
    await Promise.all([first, second]);
    equal(dec.decode(await set), "+OK\r\n");
    // Database 0 holds no k: a GET there must not run in database 5.
    equal(dec.decode(await conn.call(0, ["GET", "k"])), "$-1\r\n");
    equal(dec.decode(await conn.call(5, ["GET", "k"])), "$4\r\nin-5\r\n");
  } finally {
    conn.close();
    await r.stop();
  }
});

Deno.test("proxy failures: a session closed while its blocked command is being moved leaves no blocked connection behind", async () => {
  const f = await startProxyFixture(2);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const router = f.proxy.router;
    let key = "";
    for (let i = 0; key === ""; i++) {
      const k = `{m${i}}list`;
      if (router.slots[slotOf(enc.encode(k))].backend!.addr === f.backends[0].addr) key = k;
    }
    const slot = slotOf(enc.encode(key));
    const oldMaster = f.direct(0);
    const newMaster = f.direct(1, slot);
    await conn.write(enc.encode(`*3\r\n$5\r\nBLPOP\r\n$${key.length}\r\n${key}\r\n$1\r\n0\r\n`));
    for (let i = 0; i < 50; i++) {
      if (clientsWithCmd(String(await oldMaster.call("CLIENT", "LIST")), "blpop").length > 0) break;
      await sleep(20);
    }
    // The old master holds back the proxy's CLIENT UNBLOCK, so the move is still under way when the client leaves.
    equal(await oldMaster.call("CLIENT", "PAUSE", "1500", "ALL"), "OK");
    const moved = f.proxy.fillSlots([{ id: slot, backend_addr: f.backends[1].addr }]);
    await sleep(300); // the blocked command notices the move and asks the old master to unblock it
    conn.close();
    await sleep(300);
    const blocked = clientsWithCmd(String(await newMaster.call("CLIENT", "LIST")), "blpop");
    equal(blocked.length, 0, `no BLPOP may wait on the new master for a closed session:\n${blocked.join("\n")}`);
    equal(await newMaster.lpush(key, "x"), 1);
    await sleep(100);
    equal(await newMaster.llen(key), 1, "the element pushed is still there");
    await moved;
  } finally {
    try {
      conn.close();
    } catch { /* closed above */ }
    await f.stop();
  }
});

Deno.test("proxy failures: a split MGET whose part the proxy could not serve counts as a failure (session_break_on_failure)", async () => {
  const f = await startProxyFixture(1, { session_break_on_failure: true });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    // Two keys in different slots, one of them offline: that part fails in the proxy, the other is served.
    const up = "{up}k", gone = "{gone}k";
    await f.proxy.fillSlots([{ id: slotOf(enc.encode(gone)), backend_addr: "" }]);
    await conn.write(enc.encode(`*3\r\n$4\r\nMGET\r\n$${up.length}\r\n${up}\r\n$${gone.length}\r\n${gone}\r\n`));
    const text = await readUntil(conn, (s) => s.includes("\r\n"), 3000);
    ok(/^-ERR slot \d+ is not ready/.test(text), JSON.stringify(text));
    await conn.write(enc.encode("*1\r\n$4\r\nPING\r\n")).catch(() => 0);
    const after = await readUntil(conn, (s) => s.includes("PONG"), 1000);
    equal(after.includes("+PONG"), false, `the session must close after the failed MGET: ${JSON.stringify(after)}`);
  } finally {
    conn.close();
    await f.stop();
  }
});

Deno.test("proxy failures: a WATCHed transaction longer than backend_max_pipeline fails whole, leaving no MULTI open", async () => {
  const f = await startProxyFixture(1, { backend_max_pipeline: 8 });
  try {
    const c = f.client();
    equal(await c.watch("{t}w"), "OK");
    let tx = c.multi();
    for (let i = 0; i < 10; i++) tx = tx.set(`{t}a${i}`, "1");
    const failed = await tx.exec().then((r) => r, (e: Error) => e);
    ok(failed instanceof Error, `EXEC of 10 commands over a pipeline of 8 fails: ${JSON.stringify(failed)}`);
    // The client was told that transaction failed: none of it may run later, and the session works on.
    equal(await c.watch("{t}w"), "OK");
    deepEqual(await c.multi().set("{t}b", "1").exec(), [[null, "OK"]]);
    equal(await c.exists("{t}a0", "{t}a5", "{t}a9"), 0);
  } finally {
    await f.stop();
  }
});

Deno.test("proxy failures: a RESP3 session's lost backend connection is not silently replaced by a RESP2 one", async () => {
  const f = await startProxyFixture(1);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const key = "{r3}h";
    const direct = f.direct(0, slotOf(enc.encode(key)));
    equal(await direct.hset(key, "f", "v"), 1);
    const hgetall = enc.encode(`*2\r\n$7\r\nHGETALL\r\n$${key.length}\r\n${key}\r\n`);
    await conn.write(enc.encode("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"));
    ok((await readUntil(conn, (s) => s.includes("modules"), 3000)).startsWith("%"), "HELLO 3 answers a map");
    await conn.write(hgetall);
    equal(await readUntil(conn, (s) => s.endsWith("$1\r\nv\r\n"), 3000), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    // Drop the session's RESP3 connection on the server side.
    const own = String(await direct.call("CLIENT", "LIST")).split("\n").filter((l) => l.includes(" resp=3"));
    equal(own.length, 1, "one RESP3 connection");
    equal(await direct.call("CLIENT", "KILL", "ID", /\bid=(\d+)/.exec(own[0])![1]), 1);
    await sleep(200);
    await conn.write(hgetall);
    const text = await readUntil(conn, (s) => s.endsWith("$1\r\nv\r\n"), 3000);
    equal(
      text,
      "%1\r\n$1\r\nf\r\n$1\r\nv\r\n",
      `still a RESP3 map after the connection was lost: ${JSON.stringify(text)}`,
    );
  } finally {
    conn.close();
    await f.stop();
  }
});

Deno.test("proxy failures: session_recv_timeout spares a session blocked in BLPOP or subscribed, as Redis's timeout does", async () => {
  const f = await startProxyFixture(1, { session_recv_timeout: 300 });
  try {
    const key = "{idle}list";
    const blocked = f.client();
    const sub = f.client();
    const got: string[] = [];
    sub.on("message", (_ch: string, msg: string) => got.push(msg));
    equal(await sub.subscribe("idle-ch"), 1);
    const pop = blocked.blpop(key, 0).then((r) => r, (e: Error) => e);
    await sleep(900); // three idle timeouts
    const direct = f.direct(0, slotOf(enc.encode(key)));
    equal(await direct.lpush(key, "x"), 1);
    deepEqual(await pop, [key, "x"], "the blocked command is answered");
    const publisher = f.client();
    await publisher.publish("idle-ch", "hello");
    for (let i = 0; i < 40 && got.length === 0; i++) await sleep(25);
    deepEqual(got, ["hello"], "the subscriber still receives");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy failures: a client that leaves while requests wait behind its blocked command frees the command", async () => {
  const f = await startProxyFixture(1, { session_max_pipeline: 4 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  let connClosed = false;
  try {
    const key = "{p}list";
    const direct = f.direct(0, slotOf(enc.encode(key)));
    const ping = "*1\r\n$4\r\nPING\r\n";
    // More requests behind the BLPOP than session_max_pipeline: the session stops parsing them.
    await conn.write(enc.encode(`*3\r\n$5\r\nBLPOP\r\n$${key.length}\r\n${key}\r\n$1\r\n0\r\n` + ping.repeat(20)));
    for (let i = 0; i < 50; i++) {
      if (clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length > 0) break;
      await sleep(20);
    }
    equal(clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length, 1, "BLPOP is blocked");
    const sessions = f.proxy.sessionCount();
    conn.close();
    connClosed = true;
    for (let i = 0; i < 40 && f.proxy.sessionCount() >= sessions; i++) await sleep(25);
    equal(f.proxy.sessionCount(), sessions - 1, "the session is closed once its client has gone");
    for (let i = 0; i < 40; i++) {
      if (clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length === 0) break;
      await sleep(25);
    }
    equal(clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length, 0, "no BLPOP left blocked");
    equal(await direct.lpush(key, "x"), 1);
    await sleep(100);
    equal(await direct.llen(key), 1, "the element pushed is not taken by a gone client");
  } finally {
    if (!connClosed) conn.close();
    await f.stop();
  }
});

Deno.test("proxy failures: requests read behind a blocked command run in order once it returns", async () => {
  const f = await startProxyFixture(1, { session_max_pipeline: 4 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const key = "{q}list";
    const direct = f.direct(0, slotOf(enc.encode(key)));
    let pipeline = `*3\r\n$5\r\nBLPOP\r\n$${key.length}\r\n${key}\r\n$1\r\n0\r\n`;
    for (let i = 0; i < 30; i++) pipeline += `*2\r\n$4\r\nECHO\r\n$${String(i).length}\r\n${i}\r\n`;
    // Written in several pieces while BLPOP blocks, so that some arrive while the session only stashes.
    await conn.write(enc.encode(pipeline.slice(0, 100)));
    for (let i = 0; i < 50; i++) {
      if (clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length > 0) break;
      await sleep(20);
    }
    for (let off = 100; off < pipeline.length; off += 97) {
      await conn.write(enc.encode(pipeline.slice(off, off + 97)));
      await sleep(5);
    }
    await direct.lpush(key, "v");
    let expected = `*2\r\n$${key.length}\r\n${key}\r\n$1\r\nv\r\n`;
    for (let i = 0; i < 30; i++) expected += `$${String(i).length}\r\n${i}\r\n`;
    const got = await readUntil(conn, (text) => text.length >= expected.length, 5000);
    equal(got, expected);
  } finally {
    conn.close();
    await f.stop();
  }
});

Deno.test("proxy failures: more than 16 MB read behind a blocked command closes that session only, with an error", async () => {
  const f = await startProxyFixture(1, { session_max_pipeline: 4 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  const other = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    const key = "{r}list";
    const direct = f.direct(0, slotOf(enc.encode(key)));
    await conn.write(enc.encode(`*3\r\n$5\r\nBLPOP\r\n$${key.length}\r\n${key}\r\n$1\r\n0\r\n`));
    for (let i = 0; i < 50; i++) {
      if (clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length > 0) break;
      await sleep(20);
    }
    // 24 SETs of 1 MB each behind the BLPOP: 4 wait parsed (session_max_pipeline), the rest is stashed.
    const value = "x".repeat(1 << 20);
    const set = enc.encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`);
    const reading = readUntil(conn, (t) => t.includes("\r\n"), 5000);
    // conn.write may take part of a buffer; the proxy closes the connection before the last ones are taken.
    const writeAll = async (buf: Uint8Array) => {
      for (let off = 0; off < buf.length;) off += await conn.write(buf.subarray(off));
    };
    for (let i = 0; i < 24; i++) await writeAll(set).catch(() => {});
    const reply = await reading;
    ok(reply.includes("queued behind a blocking command"), reply.slice(0, 200));
    for (let i = 0; i < 40; i++) {
      if (clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length === 0) break;
      await sleep(25);
    }
    equal(clientsWithCmd(String(await direct.call("CLIENT", "LIST")), "blpop").length, 0, "its BLPOP is freed");
    equal(await direct.call("EXISTS", "k"), 0, "none of the stashed requests ran");
    await other.write(enc.encode("*1\r\n$4\r\nPING\r\n"));
    equal(await readUntil(other, (t) => t.includes("\r\n"), 5000), "+PONG\r\n", "other sessions carry on");
  } finally {
    conn.close();
    other.close();
    await f.stop();
  }
});

/** `ss` lines of the established connections to `port` on this host, with their timers. */
async function connectionsTo(port: number): Promise<string[]> {
  const out = await new Deno.Command("ss", { args: ["-tnoH", "state", "established", `( dport = :${port} )`] })
    .output();
  return dec.decode(out.stdout).split("\n").filter((l) => l.trim() !== "");
}

Deno.test("proxy failures: a blocked command's own backend connection has TCP keepalive, like the shared ones", async () => {
  const f = await startProxyFixture(1, { backend_keepalive_period: 75_000 });
  try {
    const port = f.backends[0].port;
    const before = (await connectionsTo(port)).length;
    const blocked = f.client().blpop("{k}list", 0);
    let lines: string[] = [];
    for (let i = 0; i < 40 && lines.length <= before; i++) {
      await sleep(25);
      lines = await connectionsTo(port);
    }
    ok(lines.length > before, "the BLPOP opened its own connection");
    const withKeepalive = lines.filter((l) => l.includes("timer:(keepalive"));
    ok(withKeepalive.length >= 2, `shared and dedicated connections keep alive:\n${lines.join("\n")}`);
    await f.direct(0, slotOf(enc.encode("{k}list"))).rpush("{k}list", "v");
    deepEqual(await blocked, ["{k}list", "v"]);
  } finally {
    await f.stop();
  }
});
