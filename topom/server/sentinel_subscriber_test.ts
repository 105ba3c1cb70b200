import assert from "node:assert/strict";
import { encodeValue, type ReplyValue } from "../../redis/encode.ts";
import { parseMessageFrame, SentinelSubscriber, type SubscriberHandlers } from "./sentinel_subscriber.ts";

const enc = (v: ReplyValue) => encodeValue(v);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("sentinel subscriber: message frames are checked for shape", () => {
  assert.deepEqual(parseMessageFrame(enc(["message", "+switch-master", "demo-1 a 1 b 2"])), {
    channel: "+switch-master",
    payload: "demo-1 a 1 b 2",
  });
  for (
    const bad of [
      enc(["pmessage", "*", "+switch-master", "x"]),
      enc(["message", "+switch-master"]),
      enc(["message", "+switch-master", ["nested"]]),
      enc(["message", "+switch-master", 7]),
      enc("message"),
      new TextEncoder().encode("?what\r\n"),
    ]
  ) {
    const r = parseMessageFrame(bad);
    assert.ok("error" in r, JSON.stringify(r));
  }
});

/** Splits RESP command arrays out of a byte stream (enough for a fake sentinel). */
function commands(text: string): string[][] {
  const out: string[][] = [];
  const lines = text.split("\r\n");
  for (let i = 0; i < lines.length;) {
    const m = /^\*(\d+)$/.exec(lines[i]);
    if (!m) {
      i++;
      continue;
    }
    const n = Number(m[1]);
    const args: string[] = [];
    for (let k = 0; k < n; k++) args.push(lines[i + 2 + 2 * k]);
    out.push(args);
    i += 1 + 2 * n;
  }
  return out;
}

/** A fake sentinel: answers CLIENT SETNAME, SUBSCRIBE and (unless `mute`) PING; lets the test push frames. */
class FakeSentinel {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly conns = new Set<Deno.Conn>();
  readonly names: string[] = [];
  mutePing = false;
  refuse = false;
  #loop: Promise<void>;

  constructor() {
    this.#loop = this.#accept();
  }

  get addr(): string {
    return `127.0.0.1:${(this.listener.addr as Deno.NetAddr).port}`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const c of this.listener) {
        this.conns.add(c);
        this.#serve(c).finally(() => this.conns.delete(c));
      }
    } catch { /* closed */ }
  }

  async #serve(c: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        for (const args of commands(new TextDecoder().decode(buf.subarray(0, n)))) {
          const cmd = args[0].toUpperCase();
          if (cmd === "CLIENT") {
            this.names.push(args[2]);
            await c.write(enc({ raw: new TextEncoder().encode("+OK\r\n") }));
          } else if (cmd === "SUBSCRIBE" && this.refuse) {
            await c.write(new TextEncoder().encode("-NOAUTH Authentication required.\r\n"));
          } else if (cmd === "SUBSCRIBE") await c.write(enc(["subscribe", args[1], 1]));
          else if (cmd === "PING" && !this.mutePing) await c.write(enc(["pong", ""]));
        }
      }
    } catch { /* closed */ }
    try {
      c.close();
    } catch { /* already */ }
  }

  async push(frame: Uint8Array): Promise<void> {
    for (const c of this.conns) await c.write(frame);
  }

  dropConnections(): void {
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* already */ }
    }
  }

  async close(): Promise<void> {
    this.listener.close();
    this.dropConnections();
    await this.#loop;
    for (let i = 0; i < 50 && this.conns.size > 0; i++) await sleep(10);
  }
}

function recorder() {
  const log: string[] = [];
  const h: SubscriberHandlers = {
    onSubscribed: (addr) => log.push(`subscribed ${addr}`),
    onMessage: (_a, channel, payload) => log.push(`message ${channel} ${payload}`),
    onMalformed: (_a, why) => log.push(`malformed ${why}`),
    onDown: (_a, reason) => log.push(`down ${reason}`),
  };
  return { log, h };
}

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (f()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("sentinel subscriber: subscribes, passes messages, ignores bad frames, reconnects, closes cleanly", async () => {
  const fake = new FakeSentinel();
  const { log, h } = recorder();
  const sub = new SentinelSubscriber(fake.addr, h, { timeoutMs: 500, minBackoffMs: 20, clientName: "dash board:1" });
  try {
    await until("subscribed", () => sub.subscribed);
    assert.deepEqual(fake.names, ["dash_board:1"]);
    await fake.push(enc(["message", "+switch-master", ["not", "text"]]));
    await fake.push(enc(["message", "+sdown", "x"]));
    await fake.push(enc(["message", "+switch-master", "demo-1 127.0.0.1 1 127.0.0.1 2"]));
    await until("message", () => log.some((l) => l.startsWith("message")));
    assert.deepEqual(log.slice(1), [
      "malformed channel or payload is not a string",
      'malformed message on unexpected channel "+sdown"',
      "message +switch-master demo-1 127.0.0.1 1 127.0.0.1 2",
    ]);
    // The sentinel goes away: the subscriber notices and subscribes again.
    fake.dropConnections();
    await until("down", () => log.some((l) => l.startsWith("down")));
    await until("subscribed again", () => log.filter((l) => l.startsWith("subscribed")).length === 2);
    assert.ok(sub.subscribed);
  } finally {
    sub.close();
    await fake.close();
  }
  const n = log.length;
  await sleep(50);
  assert.equal(log.length, n, "no handler runs after close");
});

Deno.test("sentinel subscriber: a sentinel that stops answering PING is dropped and retried", async () => {
  const fake = new FakeSentinel();
  const { log, h } = recorder();
  const sub = new SentinelSubscriber(fake.addr, h, { timeoutMs: 100, pingMs: 30, minBackoffMs: 20 });
  try {
    await until("subscribed", () => sub.subscribed);
    fake.mutePing = true;
    await until("down", () => log.some((l) => l.startsWith("down no answer to PING")));
    fake.mutePing = false;
    await until("subscribed again", () => log.filter((l) => l.startsWith("subscribed")).length >= 2);
  } finally {
    sub.close();
    await fake.close();
  }
});

Deno.test("sentinel subscriber: an unreachable sentinel is retried with back-off until closed", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  l.close();
  const { log, h } = recorder();
  const sub = new SentinelSubscriber(addr, h, { timeoutMs: 200, minBackoffMs: 10, maxBackoffMs: 40 });
  try {
    await until("three failures", () => log.filter((x) => x.startsWith("down")).length >= 3);
    assert.ok(!sub.subscribed);
  } finally {
    sub.close();
  }
});

Deno.test("sentinel subscriber: a refused SUBSCRIBE counts as a failure", async () => {
  const fake = new FakeSentinel();
  fake.refuse = true;
  const { log, h } = recorder();
  const sub = new SentinelSubscriber(fake.addr, h, { timeoutMs: 200, minBackoffMs: 10 });
  try {
    await until("refused", () => log.some((l) => l === "down SUBSCRIBE refused: NOAUTH Authentication required."));
    assert.ok(!sub.subscribed);
  } finally {
    sub.close();
    await fake.close();
  }
});
