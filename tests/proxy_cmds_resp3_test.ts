import { equal, match } from "node:assert/strict";
import { redisCli, startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { diffCommands, RawClient } from "../testing/resp_diff.ts";

Deno.test("resp3: HELLO 3 switches the session; replies match one Redis in RESP3", async () => {
  const f = await startProxyFixture(2);
  const r = await startRedis();
  try {
    const p = await RawClient.connect(f.port);
    try {
      match(await p.call(["HELLO", "3"]), /^%7\r\n\$6\r\nserver\r\n.*\$5\r\nproto\r\n:3\r\n/s);
    } finally {
      p.close();
    }
    await diffCommands(f.port, r.port, [
      { cmd: ["HELLO", "3"], norm: (s) => s.slice(0, 3) },
      ["HSET", "h", "f", "v"],
      ["HGETALL", "h"],
      ["SADD", "s", "m"],
      ["SMEMBERS", "s"],
      ["ZADD", "z", "1.5", "a"],
      ["ZSCORE", "z", "a"],
      ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
      ["GET", "missing"],
      ["SET", "foo", "1"],
      ["MGET", "foo", "missing", "qux"],
      ["BLPOP", "nolist", "0.01"],
      ["MULTI"],
      ["HGETALL", "h"],
      ["GET", "{h}missing"],
      ["EXEC"],
      ["WATCH", "h"],
      ["MULTI"],
      ["HGETALL", "h"],
      ["EXEC"],
      ["XADD", "xs", "1-1", "f", "v"],
      ["XREAD", "BLOCK", "10", "STREAMS", "xs", "0"],
      ["DEL", "foo", "qux", "h"],
      { cmd: ["HELLO", "2"], norm: (s) => s.slice(0, 4) },
      ["GET", "missing"],
      ["HGETALL", "z"],
    ]);
  } finally {
    await r.stop();
    await f.stop();
  }
});

Deno.test("resp3: pub/sub messages are pushes, and other commands work while subscribed", async () => {
  const f = await startProxyFixture(2);
  const s = await RawClient.connect(f.port);
  const p = await RawClient.connect(f.port);
  try {
    match(await s.call(["HELLO", "3"]), /^%7/);
    equal(await s.call(["SUBSCRIBE", "foo"]), ">3\r\n$9\r\nsubscribe\r\n$3\r\nfoo\r\n:1\r\n");
    equal(await p.call(["PUBLISH", "foo", "hi"]), ":1\r\n");
    equal(await s.read(), ">3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$2\r\nhi\r\n");
    equal(await s.call(["GET", "missing"]), "_\r\n");
    equal(await s.call(["PING"]), "+PONG\r\n");
    equal(await s.call(["UNSUBSCRIBE"]), ">3\r\n$11\r\nunsubscribe\r\n$3\r\nfoo\r\n:0\r\n");
    equal((await redisCli(f.port, ["-3", "HSET", "h3", "a", "1"])).trim(), "1");
    equal((await redisCli(f.port, ["-3", "HGETALL", "h3"])).trim(), "a 1"); // a map: one "key value" line
    equal((await redisCli(f.port, ["-3", "ZSCORE", "{h3}z", "a"])).trim(), "");
  } finally {
    s.close();
    p.close();
    await f.stop();
  }
});
