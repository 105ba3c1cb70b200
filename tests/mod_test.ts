import assert from "node:assert/strict";
import * as api from "../mod.ts";

const enc = new TextEncoder();

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
});
