import { deepEqual, equal, match } from "node:assert/strict";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { slotOf } from "../proxy/hash.ts";
import { redisCli, startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { RawClient } from "../testing/resp_diff.ts";
import { startSecondProxy } from "../testing/second_proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `n` messages arrived (bounded). */
async function waitFor(list: unknown[], n: number): Promise<void> {
  for (let i = 0; i < 200 && list.length < n; i++) await sleep(10);
}

Deno.test("pubsub: channels and patterns across 2 proxies, each message once (ioredis)", async () => {
  const f = await startProxyFixture(2);
  const p2 = await startSecondProxy(f);
  const pub = new Redis({ port: p2.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const sub = f.client();
    const got: string[] = [];
    sub.on("message", (ch: string, m: string) => got.push(`${ch}=${m}`));
    sub.on("pmessage", (p: string, ch: string, m: string) => got.push(`${p}:${ch}=${m}`));
    const [c1, c2] = ["foo", "qux"]; // channels hashed to different groups
    equal(slotOf(enc(c1)) < 512, true);
    equal(slotOf(enc(c2)) < 512, false);
    equal(await sub.subscribe(c1, c2), 2);
    equal(await sub.psubscribe("f*", "q*"), 4);
    equal(await pub.publish(c1, "m1"), 2); // the channel and the pattern subscription
    equal(await pub.publish(c2, "m2"), 2);
    equal(await pub.publish("nobody", "m3"), 0);
    await waitFor(got, 4);
    await sleep(50);
    deepEqual(got.sort(), ["f*:foo=m1", "foo=m1", "q*:qux=m2", "qux=m2"]);
    deepEqual((await pub.pubsub("CHANNELS")).sort(), [c1, c2]);
    deepEqual(await pub.pubsub("NUMSUB", c1, c2, "none"), [c1, 1, c2, 1, "none", 0]);
    equal(await pub.pubsub("NUMPAT"), 2);
    equal(await sub.unsubscribe(c1), 3);
    equal(await sub.punsubscribe("f*", "q*"), 1); // (ioredis waits for count 0 on a bare PUNSUBSCRIBE)
    equal(await pub.publish(c1, "gone"), 0);
    equal(await pub.publish(c2, "m4"), 1);
    await waitFor(got, 5);
    equal(got.at(-1), "qux=m4");
    equal(await sub.unsubscribe(), 0);
    equal(await sub.set("after", "1"), "OK"); // out of the subscribed state
  } finally {
    pub.disconnect();
    await p2.proxy.shutdown();
    await f.stop();
  }
});

Deno.test("pubsub: SSUBSCRIBE / SPUBLISH and the subscribed state's command rules (raw)", async () => {
  const f = await startProxyFixture(2);
  const s = await RawClient.connect(f.port);
  const p = await RawClient.connect(f.port);
  try {
    equal(await s.call(["SSUBSCRIBE", "{qux}s"]), "*3\r\n$10\r\nssubscribe\r\n$6\r\n{qux}s\r\n:1\r\n");
    equal(await p.call(["SPUBLISH", "{qux}s", "hi"]), ":1\r\n");
    equal(await s.read(), "*3\r\n$8\r\nsmessage\r\n$6\r\n{qux}s\r\n$2\r\nhi\r\n");
    equal(await s.call(["SUBSCRIBE", "c"]), "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
    match(await s.call(["GET", "k"]), /^-ERR Can't execute 'get': only \(P\|S\)SUBSCRIBE/);
    equal(await s.call(["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    equal(await p.call(["PUBLISH", "c", "x"]), ":1\r\n");
    equal(await s.read(), "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n");
    equal(await s.call(["RESET"]), "+RESET\r\n");
    equal(await p.call(["PUBLISH", "c", "y"]), ":0\r\n");
    equal(await s.call(["GET", "k"]), "$-1\r\n");
  } finally {
    s.close();
    p.close();
    await f.stop();
  }
});

Deno.test("pubsub: node-redis subscriber, redis-cli publisher", async () => {
  const f = await startProxyFixture(2);
  const nr = createClient({ socket: { port: f.port, host: "127.0.0.1" } });
  nr.on("error", () => {});
  const sub = nr.duplicate();
  sub.on("error", () => {});
  try {
    await nr.connect();
    await sub.connect();
    const got: string[] = [];
    await sub.subscribe("nrch", (m) => got.push(m));
    await sub.pSubscribe("nr*", (m, ch) => got.push(`p:${ch}:${m}`));
    equal((await redisCli(f.port, ["PUBLISH", "nrch", "hello"])).trim(), "2");
    await waitFor(got, 2);
    deepEqual(got.sort(), ["hello", "p:nrch:hello"]);
    equal(await nr.publish("nrch", "x"), 2);
    match(await redisCli(f.port, ["PUBSUB", "NUMSUB", "nrch"]), /nrch\n1/);
    await sub.unsubscribe("nrch");
    await sub.pUnsubscribe();
  } finally {
    await sub.disconnect().catch(() => {});
    await nr.disconnect().catch(() => {});
    await f.stop();
  }
});

Deno.test("pubsub: a subscription follows its channel's slot to another group", async () => {
  const f = await startProxyFixture(2);
  try {
    const sub = f.client();
    const pub = f.client();
    const got: string[] = [];
    sub.on("message", (_ch: string, m: string) => got.push(m));
    equal(await sub.subscribe("foo"), 1); // slot 289, group 0
    equal(await pub.publish("foo", "before"), 1);
    await f.proxy.fillSlots([{ id: 289, backend_addr: f.backends[1].addr }]);
    for (let i = 0; i < 100 && (await pub.publish("foo", "probe")) === 0; i++) await sleep(20);
    equal(await pub.publish("foo", "after"), 1);
    await waitFor(got, 3);
    equal(got[0], "before");
    equal(got.at(-1), "after");
    equal(Number((await f.direct(0).pubsub("NUMSUB", "foo"))[1]), 0, "unsubscribed from the old master");
  } finally {
    await f.stop();
  }
});

Deno.test("pubsub: a client that goes away leaves no subscription on the backends", async () => {
  const f = await startProxyFixture(2);
  try {
    const sub = f.client();
    const pub = f.client();
    await sub.subscribe("foo", "qux");
    await sub.psubscribe("*");
    equal(await pub.publish("foo", "x"), 2);
    sub.disconnect();
    for (let i = 0; i < 100 && (await pub.publish("foo", "x")) > 0; i++) await sleep(10);
    equal(await pub.publish("foo", "x"), 0);
    equal(await pub.publish("qux", "x"), 0);
    equal(await pub.pubsub("NUMPAT"), 0);
  } finally {
    await f.stop();
  }
});

Deno.test("pubsub: differential against one Redis", async () => {
  const f = await startProxyFixture(2);
  const r = await startRedis();
  const clients: RawClient[] = [];
  try {
    const [ps, pp, rs, rp] = await Promise.all([f.port, f.port, r.port, r.port].map((p) => RawClient.connect(p)));
    clients.push(ps, pp, rs, rp);
    // [subscriber or publisher, command, number of reply frames]
    const script: ["s" | "p", string[], number][] = [
      ["s", ["UNSUBSCRIBE"], 1],
      ["s", ["SUBSCRIBE", "a", "b", "a"], 3],
      ["s", ["PSUBSCRIBE", "x*"], 1],
      ["p", ["PUBLISH", "a", "1"], 1],
      ["s", [], 1], // the message
      ["p", ["PUBLISH", "xy", "2"], 1],
      ["s", [], 1],
      ["s", ["PING", "hi"], 1],
      ["s", ["SET", "k", "v"], 1],
      ["s", ["UNSUBSCRIBE", "b", "zz"], 2],
      ["s", ["PUNSUBSCRIBE"], 1],
      ["s", ["UNSUBSCRIBE"], 1],
      ["s", ["PING"], 1],
      ["p", ["PUBSUB", "NUMPAT"], 1],
      ["p", ["PUBSUB", "CHANNELS"], 1],
      ["p", ["PUBLISH"], 1],
      ["p", ["PUBSUB", "NOPE"], 1],
    ];
    for (const [who, cmd, frames] of script) {
      const [a, b] = who === "s" ? [ps, rs] : [pp, rp];
      const read = async (c: RawClient) => {
        const out: string[] = [cmd.length > 0 ? await c.call(cmd) : await c.read()];
        for (let i = 1; i < frames; i++) out.push(await c.read());
        return out.join("");
      };
      equal(await read(a), await read(b), cmd.join(" "));
    }
  } finally {
    for (const c of clients) c.close();
    await r.stop();
    await f.stop();
  }
});
