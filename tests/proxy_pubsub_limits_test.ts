/**
 * Redis's `client-output-buffer-limit pubsub` at the proxy (session_pubsub_hard_limit, _soft_limit, _soft_time): a
 * real subscriber that stops reading is closed once its unsent output passes the hard limit, or stays over the soft
 * limit for longer than the soft time; it is counted in the stats JSON and /metrics, and a subscriber that reads
 * keeps its messages.
 */
import { equal, ok } from "node:assert/strict";
import { Redis } from "ioredis";
import type { ProxyConfig } from "../proxy/config.ts";
import { type ProxyFixture, readUntil, startProxyFixture } from "../testing/proxy.ts";
import { sleep } from "../testing/wait.ts";

const CHANNEL = "limits-ch";
const MESSAGE = "m".repeat(64 * 1024);

/** A subscriber that reads its SUBSCRIBE confirmation and then nothing more. */
async function slowSubscriber(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(`*2\r\n$9\r\nSUBSCRIBE\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n`));
  const reply = await readUntil(conn, (s) => s.endsWith(":1\r\n"));
  ok(reply.includes("subscribe"), reply);
  return conn;
}

/** A subscriber that reads everything; counts the messages. */
async function readingSubscriber(port: number): Promise<{ client: Redis; received: () => number }> {
  const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  client.on("error", () => {});
  let n = 0;
  client.on("message", () => n++);
  await client.subscribe(CHANNEL);
  return { client, received: () => n };
}

async function withFixture(overrides: Partial<ProxyConfig>, body: (fx: ProxyFixture) => Promise<void>) {
  const fx = await startProxyFixture(1, overrides);
  try {
    await body(fx);
  } finally {
    await fx.stop();
  }
}

/** Whether the peer closed `conn`: reads (and drops) what is left, bounded by time. */
async function closedByPeer(conn: Deno.Conn, ms = 10_000): Promise<boolean> {
  const buf = new Uint8Array(1 << 20);
  const deadline = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  while (Date.now() < deadline) {
    const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), deadline - Date.now()));
    const n = await Promise.race([conn.read(buf).catch(() => null), timeout]).finally(() => clearTimeout(timer));
    if (n === "timeout") return false;
    if (n === null) return true;
  }
  return false;
}

Deno.test("pubsub limits: a subscriber that stops reading is closed at session_pubsub_hard_limit", async () => {
  await withFixture(
    { session_pubsub_hard_limit: 1 << 20, session_pubsub_soft_limit: 0 },
    async (fx) => {
      const slow = await slowSubscriber(fx.port);
      const reader = await readingSubscriber(fx.port);
      try {
        const publisher = fx.direct(0);
        const before = fx.proxy.stats.sessionsAlive;
        let published = 0;
        // Bounded: 600 x 64 KB, far past the 1 MB limit plus what the kernel's socket buffers hold.
        while (fx.proxy.stats.pubsubLimitClosed === 0 && published < 600) {
          await publisher.publish(CHANNEL, MESSAGE);
          published++;
        }
        equal(fx.proxy.stats.pubsubLimitClosed, 1, `closed after ${published} messages`);
        equal(fx.proxy.stats.sessionsAlive, before - 1, "only the slow subscriber was closed");
        ok(await closedByPeer(slow), "the slow subscriber's connection is closed");

        // The subscriber that reads was not closed and got every message.
        await publisher.publish(CHANNEL, "last");
        for (let i = 0; i < 100 && reader.received() < published + 1; i++) await sleep(50);
        equal(reader.received(), published + 1);

        const stats = await (await fetch(`http://127.0.0.1:${fx.adminPort}/proxy/stats`)).json();
        equal(stats.sessions.pubsub_limit_closed, 1);
        const metrics = await (await fetch(`http://127.0.0.1:${fx.adminPort}/metrics`)).text();
        ok(/^codis_proxy_sessions_pubsub_limit_closed_total 1$/m.test(metrics), metrics);
      } finally {
        reader.client.disconnect();
        try {
          slow.close();
        } catch { /* closed */ }
      }
    },
  );
});

Deno.test("pubsub limits: over session_pubsub_soft_limit, closed only after session_pubsub_soft_time", async () => {
  const softMs = 3000;
  await withFixture(
    { session_pubsub_hard_limit: 0, session_pubsub_soft_limit: 256 * 1024, session_pubsub_soft_time: softMs },
    async (fx) => {
      const slow = await slowSubscriber(fx.port);
      try {
        const publisher = fx.direct(0);
        const start = Date.now();
        // 16 MB: well over the soft limit once the kernel's socket buffers are full, and no hard limit to hit.
        for (let i = 0; i < 256; i++) await publisher.publish(CHANNEL, MESSAGE);
        if (Date.now() - start < softMs) equal(fx.proxy.stats.pubsubLimitClosed, 0, "not closed before the soft time");
        // Redis checks the limits when output is added: keep adding some until the subscriber is closed (bounded).
        const deadline = Date.now() + softMs + 10_000;
        while (fx.proxy.stats.pubsubLimitClosed === 0 && Date.now() < deadline) {
          await publisher.publish(CHANNEL, "tick");
          await sleep(100);
        }
        const closedAt = Date.now();
        equal(fx.proxy.stats.pubsubLimitClosed, 1);
        ok(closedAt - start >= softMs, `closed ${closedAt - start} ms after the output started to grow`);
        ok(await closedByPeer(slow));
      } finally {
        try {
          slow.close();
        } catch { /* closed */ }
      }
    },
  );
});

Deno.test("pubsub limits: a subscriber that reads is not closed however much is published", async () => {
  await withFixture(
    { session_pubsub_hard_limit: 1 << 20, session_pubsub_soft_limit: 256 * 1024, session_pubsub_soft_time: 1000 },
    async (fx) => {
      const reader = await readingSubscriber(fx.port);
      try {
        const publisher = fx.direct(0);
        for (let i = 0; i < 200; i++) await publisher.publish(CHANNEL, MESSAGE); // 12.5 MB in all
        for (let i = 0; i < 200 && reader.received() < 200; i++) await sleep(50);
        equal(reader.received(), 200);
        equal(fx.proxy.stats.pubsubLimitClosed, 0);
      } finally {
        reader.client.disconnect();
      }
    },
  );
});
