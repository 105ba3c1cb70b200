/**
 * CLIENT LIST/INFO/KILL/PAUSE/UNPAUSE and MONITOR through the proxy in front of two groups, each compared with a
 * direct Redis 7 doing the same: exactly where the answers can match, field by field where the proxy's sessions
 * necessarily differ (ids, ports, timings). SLOWLOG is in proxy_slowlog_test.ts.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { readUntil } from "../testing/proxy.ts";
import { encodeCommand } from "../redis/encode.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { clientLines, withProxyAndRedis } from "../testing/proxy_vs_redis.ts";
import { diffCommands, RawClient } from "../testing/resp_diff.ts";
import { sleep } from "../testing/wait.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";

Deno.test("CLIENT LIST/INFO: Redis 7's fields in its order; flags, sub/psub, multi, name, cmd and resp as Redis", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["CLIENT", "LIST", "TYPE", "foo"],
      ["CLIENT", "LIST", "ID", "x"],
      ["CLIENT", "LIST", "ID", "0"],
      ["CLIENT", "LIST", "TYPE", "master"],
      ["CLIENT", "LIST", "TYPE", "replica"],
      ["CLIENT", "LIST", "foo"],
      ["CLIENT", "LIST", "TYPE", "normal", "ID", "1"],
      ["CLIENT", "LIST", "ID"],
      { cmd: ["HELLO", "3"], norm: (r) => r.slice(0, 4) }, // ids and versions differ
      ["CLIENT", "LIST", "ID", "0"], // a verbatim string in RESP3
      ["CLIENT", "LIST", "TYPE", "master"],
    ]);
    const results = [];
    for (const port of [f.port, r.port]) {
      const [a, sub, multi, mon] = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(port)));
      try {
        await a.call(["CLIENT", "SETNAME", "alpha"]);
        await sub.call(["CLIENT", "SETNAME", "beta"]);
        await sub.call(["SUBSCRIBE", "c1", "c2"]);
        await sub.call(["PSUBSCRIBE", "p*"]);
        await multi.call(["CLIENT", "SETNAME", "gamma"]);
        await multi.call(["MULTI"]);
        await multi.call(["SET", "k", "v"]);
        await mon.call(["CLIENT", "SETNAME", "delta"]);
        await mon.call(["MONITOR"]);
        const subId = (await sub.call(["PING"])) && null; // subscribed PING: keeps cmd=ping on the subscriber
        const list = clientLines(await a.call(["CLIENT", "LIST"]));
        const info = clientLines(await a.call(["CLIENT", "INFO"]))[0];
        const byName = new Map(list.map((l) => [l.get("name"), l]));
        const pubsubOnly = clientLines(await a.call(["CLIENT", "LIST", "TYPE", "pubsub"])).map((l) => l.get("name"));
        const normal = clientLines(await a.call(["CLIENT", "LIST", "TYPE", "normal"])).map((l) => l.get("name")).sort();
        const ownId = info.get("id")!;
        const byId = clientLines(await a.call(["CLIENT", "LIST", "ID", ownId, "999999"])).map((l) => l.get("name"));
        equal(list.length, 4);
        for (const l of [...list, info]) {
          match(l.get("addr")!, /^127\.0\.0\.1:\d+$/);
          equal(l.get("laddr"), `127.0.0.1:${port}`);
          match(l.get("fd")!, /^\d+$/); // the proxy's own epoll sockets (session_epoll, the default)
          match(l.get("age")!, /^\d+$/);
          match(l.get("idle")!, /^\d+$/);
        }
        const pick = (l: Map<string, string>) =>
          ["name", "flags", "db", "sub", "psub", "ssub", "multi", "cmd", "user", "redir", "resp"].map((k) =>
            `${k}=${l.get(k)}`
          ).join(" ");
        results.push({
          fields: [...list[0].keys()],
          infoFields: [...info.keys()],
          clients: ["alpha", "beta", "gamma", "delta"].map((n) => pick(byName.get(n)!)),
          info: pick(info),
          pubsubOnly,
          normal,
          byId,
          subId,
        });
      } finally {
        for (const c of [a, sub, multi, mon]) c.close();
      }
    }
    deepEqual(results[0], results[1]);
    equal(
      results[0].clients[1],
      "name=beta flags=P db=0 sub=2 psub=1 ssub=0 multi=-1 cmd=ping user=default redir=-1 resp=2",
    );
  });
});

Deno.test("CLIENT KILL: Redis's errors; ID, ADDR, TYPE, SKIPME and the old ip:port form close the sessions they match", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["CLIENT", "KILL", "1.2.3.4:5"],
      ["CLIENT", "KILL", "ID", "0"],
      ["CLIENT", "KILL", "ID", "x"],
      ["CLIENT", "KILL", "TYPE", "foo"],
      ["CLIENT", "KILL", "USER", "nobody"],
      ["CLIENT", "KILL", "SKIPME", "maybe"],
      ["CLIENT", "KILL", "ID", "999999", "LADDR", "x"],
      ["CLIENT", "KILL", "foo", "bar"],
      ["CLIENT", "KILL", "ID"],
      ["CLIENT", "KILL", "ADDR", "1.1.1.1:1"],
      ["CLIENT", "KILL", "TYPE", "master"],
      ["CLIENT", "KILL", "USER", "default", "ID", "999999"],
    ]);
    const results = [];
    for (const port of [f.port, r.port]) {
      const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(port)));
      try {
        const bId = (await b.call(["CLIENT", "ID"])).slice(1, -2);
        const cAddr = clientLines(await c.call(["CLIENT", "INFO"]))[0].get("addr")!;
        const aAddr = clientLines(await a.call(["CLIENT", "INFO"]))[0].get("addr")!;
        await d.call(["SUBSCRIBE", "ch"]);
        const killB = await a.call(["CLIENT", "KILL", "ID", bId]);
        const bGone = await b.call(["PING"], 2000).then(() => false, () => true);
        const killC = await a.call(["CLIENT", "KILL", cAddr]);
        const cGone = await c.call(["PING"], 2000).then(() => false, () => true);
        const killD = await a.call(["CLIENT", "KILL", "TYPE", "pubsub"]);
        const skipped = await a.call(["CLIENT", "KILL", "ADDR", aAddr]); // SKIPME yes by default
        const self = await a.call(["CLIENT", "KILL", "ADDR", aAddr, "SKIPME", "no"]);
        const aGone = await a.call(["PING"], 2000).then(() => false, () => true);
        results.push({ killB, bGone, killC, cGone, killD, skipped, self, aGone });
      } finally {
        for (const x of [a, b, c, d]) x.close();
      }
    }
    deepEqual(results[0], results[1]);
    deepEqual(results[0], {
      killB: ":1\r\n",
      bGone: true,
      killC: "+OK\r\n",
      cGone: true,
      killD: ":1\r\n",
      skipped: ":0\r\n",
      self: ":1\r\n",
      aGone: true,
    });
  });
});

/** True when `p` has not settled within `ms`. */
async function pending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  p.then(() => done = true, () => done = true);
  await sleep(ms);
  return !done;
}

Deno.test("CLIENT PAUSE/UNPAUSE: Redis's errors; WRITE holds writes (and what follows them), ALL holds everything", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    await diffCommands(f.port, r.port, [
      ["CLIENT", "PAUSE", "x"],
      ["CLIENT", "PAUSE", "-1"],
      ["CLIENT", "PAUSE", "10", "maybe"],
      ["CLIENT", "PAUSE", "10", "write", "extra"],
      ["CLIENT", "UNPAUSE", "x"],
      ["CLIENT", "PAUSE", "0", "WRITE"],
      ["CLIENT", "UNPAUSE"],
    ]);
    const results = [];
    for (const port of [f.port, r.port]) {
      const [admin, w, rd] = await Promise.all([0, 1, 2].map(() => RawClient.connect(port)));
      try {
        await w.call(["SET", "{p}k", "old"]);
        equal(await admin.call(["CLIENT", "PAUSE", "20000", "WRITE"]), "+OK\r\n");
        const read = await rd.call(["GET", "{p}k"], 2000); // reads go on
        const write = w.call(["SET", "{p}k", "new"], 10_000);
        const writeHeld = await pending(write, 300);
        const publishHeld = await pending(rd.call(["PUBLISH", "ch", "m"], 10_000), 100);
        equal(await admin.call(["CLIENT", "UNPAUSE"]), "+OK\r\n");
        const written = await write;
        const after = await w.call(["GET", "{p}k"]);
        // ALL: every command waits, CLIENT UNPAUSE from another client too, until the pause ends.
        equal(await admin.call(["CLIENT", "PAUSE", "600", "ALL"]), "+OK\r\n");
        const get = rd.call(["GET", "{p}k"], 10_000);
        const getHeld = await pending(get, 200);
        const got = await get;
        results.push({ read, writeHeld, publishHeld, written, after, getHeld, got });
      } finally {
        for (const x of [admin, w, rd]) x.close();
      }
    }
    deepEqual(results[0], results[1]);
    deepEqual(results[0], {
      read: "$3\r\nold\r\n",
      writeHeld: true,
      publishHeld: true,
      written: "+OK\r\n",
      after: "$3\r\nnew\r\n",
      getHeld: true,
      got: "$3\r\nnew\r\n",
    });
  });
});

/** Reads monitor lines until one contains `last`, without their timestamps and with client addresses named. */
async function monitorLines(m: RawClient, names: Map<string, string>, last: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 100; i++) {
    const line = await m.read();
    if (!line.startsWith("+1")) {
      out.push(line.trimEnd());
      continue;
    }
    const mm = /^\+\d+\.\d{6} \[0 ([^\]]+)\] (.*)\r\n$/.exec(line);
    ok(mm, `monitor line ${JSON.stringify(line)}`);
    if (mm[1] === "lua") continue; // a script's own calls, which run on the backend behind the proxy
    out.push(`[${names.get(mm[1]) ?? mm[1]}] ${mm[2]}`);
    if (line.includes(last)) return out;
  }
  throw new Error(`no monitor line with ${last}`);
}

Deno.test("MONITOR: every session's commands in Redis's format and order, AUTH redacted, admin commands left out", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    const results = [];
    for (const port of [f.port, r.port]) {
      const [m, c] = await Promise.all([0, 1].map(() => RawClient.connect(port)));
      try {
        const names = new Map([
          [clientLines(await m.call(["CLIENT", "INFO"]))[0].get("addr")!, "monitor"],
          [clientLines(await c.call(["CLIENT", "INFO"]))[0].get("addr")!, "client"],
        ]);
        equal(await m.call(["MONITOR"]), "+OK\r\n");
        const replies = [];
        for (
          const cmd of [
            ["SET", "k", "v"],
            ["AUTH", "secret"],
            ["AUTH", "user", "secret"],
            ["MULTI"],
            ["SET", "k", "w"],
            ["GET", "k"],
            ["EXEC"],
            ["GET"],
            ["NOSUCH"],
            ["CONFIG", "GET", "maxmemory"],
            ["CLIENT", "LIST"],
            ["SLOWLOG", "LEN"],
            ["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
            ["ECHO", 'a"b\n\x01'],
            ["CLIENT", "SETNAME", "n1"],
          ]
        ) replies.push(await c.call(cmd));
        // The monitoring session's own commands: keyspace ones refused, MONITOR again answered with nothing.
        for (const cmd of [["GET", "k"], ["MONITOR"], ["ECHO", "done"]]) await m.send(cmd);
        const lines = await monitorLines(m, names, '"done"');
        replies.push(await m.call(["RESET"]));
        await c.call(["SET", "k", "after-reset"]);
        replies.push(await m.call(["PING"]));
        results.push({ lines, replies: replies.filter((x) => !x.startsWith("$") && !x.startsWith("-WRONGPASS")) });
      } finally {
        m.close();
        c.close();
      }
    }
    deepEqual(results[0].lines, results[1].lines);
    deepEqual(
      results[0].lines,
      [
        '[client] "SET" "k" "v"',
        '[client] "AUTH" "(redacted)"',
        '[client] "AUTH" "(redacted)" "(redacted)"',
        '[client] "MULTI"',
        '[client] "SET" "k" "w"',
        '[client] "GET" "k"',
        '[client] "EXEC"',
        '[client] "EVAL" "return redis.call(\'get\', KEYS[1])" "1" "k"',
        '[client] "ECHO" "a\\"b\\n\\x01"',
        '[client] "CLIENT" "SETNAME" "n1"',
        "-ERR Replica can't interact with the keyspace",
        "$4\r\ndone",
        '[monitor] "ECHO" "done"',
      ],
    );
    equal(results[0].replies.at(-2), "+RESET\r\n");
    equal(results[0].replies.at(-1), "+PONG\r\n");
  });
});

Deno.test("worker mode: MONITOR, CLIENT LIST, CLIENT KILL and CLIENT PAUSE cover every thread", async () => {
  const backends: RedisProcess[] = [];
  const conns: RawClient[] = [];
  let stop = async () => {};
  try {
    backends.push(await startRedis(), await startRedis());
    const p = await startCodisProxy([...backends.map((b) => `--backend=${b.addr}`), "--proxy_workers=2"]);
    stop = p.stop;
    // Session ids are index + 1 + k * threads: id % 2 tells the thread. Find two connections on each.
    const byThread: RawClient[][] = [[], []];
    for (let i = 0; i < 60 && (byThread[0].length < 2 || byThread[1].length < 3); i++) {
      const c = await RawClient.connect(p.port);
      conns.push(c);
      const id = Number((await c.call(["CLIENT", "ID"])).slice(1, -2));
      byThread[id % 2].push(c);
    }
    ok(byThread[0].length >= 2 && byThread[1].length >= 3, "60 connections did not spread over both threads");
    const monitor = await Deno.connect({ hostname: "127.0.0.1", port: p.port });
    try {
      // The monitor's thread is whichever the kernel picks; the writer is on another one half the time at least, so
      // write from a connection on each thread.
      await monitor.write(encodeCommand(["MONITOR"]));
      let text = "";
      const reading = readUntil(monitor, (t) => {
        text = t;
        return t.includes('"wk:mon" "t0"') && t.includes('"wk:mon" "t1"');
      }, 10_000);
      // The other threads learn of the monitor through the primary: keep writing until both lines arrive.
      for (let i = 0; i < 100 && !(text.includes('"t0"') && text.includes('"t1"')); i++) {
        await byThread[0][0].call(["SET", "wk:mon", "t0"]);
        await byThread[1][0].call(["SET", "wk:mon", "t1"]);
        await sleep(20);
      }
      const all = await reading;
      match(all, /\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "wk:mon" "t0"\r\n/);
      match(all, /\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "wk:mon" "t1"\r\n/);
    } finally {
      monitor.close();
    }

    // CLIENT LIST from either thread lists the sessions of both; CLIENT KILL reaches a session on the other thread.
    for (const asker of [byThread[0][0], byThread[1][0]]) {
      const ids = clientLines(await asker.call(["CLIENT", "LIST"])).map((l) => Number(l.get("id")));
      equal(ids.length, conns.length, `CLIENT LIST shows every thread's sessions: ${ids.join(",")}`);
      equal(new Set(ids.map((id) => id % 2)).size, 2);
    }
    const victim = byThread[1].at(-1)!;
    const victimId = (await victim.call(["CLIENT", "ID"])).slice(1, -2);
    equal(await byThread[0][0].call(["CLIENT", "KILL", "ID", victimId]), ":1\r\n");
    equal(await victim.call(["PING"], 2000).then(() => "alive", () => "closed"), "closed");

    const [admin, writer] = [byThread[0][1], byThread[1][1]];
    equal(await admin.call(["CLIENT", "PAUSE", "20000", "WRITE"]), "+OK\r\n");
    await sleep(300); // the pause reaches the other thread through the primary
    const write = writer.call(["SET", "wk:paused", "x"], 10_000);
    equal(await pending(write, 300), true, "a write on the other thread waits");
    equal(await admin.call(["CLIENT", "UNPAUSE"]), "+OK\r\n");
    equal(await write, "+OK\r\n");
  } finally {
    for (const c of conns) c.close();
    await stop();
    for (const b of backends) await b.stop();
  }
});
