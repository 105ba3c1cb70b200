import assert from "node:assert/strict";
import type { TopomStats } from "../models/mod.ts";
import { proxyStatusLines } from "./format.ts";

Deno.test("codis-admin --proxy-status: a proxy whose writes wait for replicas shows [W] N; others print as Codis", () => {
  const stats = {
    proxy: {
      models: [
        { id: 1, token: "t1", admin_addr: "h:1", proxy_addr: "h:2" },
        { id: 2, token: "t2", admin_addr: "h:3", proxy_addr: "h:4" },
      ],
      stats: {
        t1: { stats: { backend: { primary_only: false, write_acks: { replicas: 1, timeout_ms: 1000 } } } },
        t2: { stats: { backend: { primary_only: false, write_acks: { replicas: 0, timeout_ms: 1000 } } } },
      },
    },
  } as unknown as TopomStats;
  assert.deepEqual(proxyStatusLines(stats), [
    "[ ] proxy-1 [T] t1 [A] h:1 [P] h:2 [W] 1",
    "[ ] proxy-2 [T] t2 [A] h:3 [P] h:4",
  ]);
});
