import assert from "node:assert/strict";
import * as api from "../mod.ts";
import { freePort, waitForPort } from "../testing/ports.ts";
import { redisCli } from "../testing/proxy.ts";
import { redisCliDb, startRedis } from "../testing/redis.ts";

const enc = new TextEncoder();
const EXAMPLE = new URL("../examples/embed_proxy.ts", import.meta.url).pathname;

Deno.test("mod.ts: the public API exposes the slot hash, configs and the role classes", () => {
  // crc32("123456789") is the standard check value of the IEEE polynomial.
  assert.equal(api.crc32(enc.encode("123456789")), 0xcbf43926);
  assert.equal(api.slotOf(enc.encode("{user:1}:a")), api.slotOf(enc.encode("{user:1}:b")));
  assert.equal(api.slotOf(enc.encode("123456789")), 0xcbf43926 % 1024);
  assert.equal(api.defaultProxyConfig().proxy_addr, "0.0.0.0:19000"); // Codis's default
  assert.equal(typeof api.defaultDashboardConfig().admin_addr, "string");
  assert.equal(typeof api.Proxy, "function");
  assert.equal(typeof api.Topom, "function");
  assert.equal(typeof api.RaftNode, "function");
  assert.equal(typeof api.store.MemoryStore, "function");
  assert.equal(typeof api.runSlotMigration, "function");
  // What a program needs to run a dashboard: the store, the executor and the HTTP API.
  assert.equal(typeof api.openDashboardCoordinator, "function");
  assert.equal(typeof api.createExecutor, "function");
  assert.equal(typeof api.dashboardHandler, "function");
});

Deno.test("examples/embed_proxy.ts: the embedded proxy serves SET and GET from a real redis-server", async () => {
  const redis = await startRedis();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE, redis.addr, `127.0.0.1:${port}`],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    await waitForPort(port);
    assert.equal((await redisCli(port, ["SET", "{user:1}:name", "ada"])).trim(), "OK");
    assert.equal((await redisCli(port, ["GET", "{user:1}:name"])).trim(), "ada");
    // Stored in database slotOf(key) of the backend, as a Codis proxy stores it.
    const slot = api.slotOf(enc.encode("{user:1}:name"));
    assert.equal(await redisCliDb(redis, slot, "GET", "{user:1}:name"), "ada");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await redis.stop();
  }
});
