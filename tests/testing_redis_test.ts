/**
 * The test helper that starts redis-server (testing/redis.ts) must hand out a port its own server listens on: a port
 * another process took first (a parallel test file's HTTP server, say) is refused rather than taken for Redis, where
 * it would surface later as a backend reply that is not RESP. `portListener` (testing/ports.ts) tells them apart.
 * @module
 */
import { equal, match, rejects } from "node:assert/strict";
import { freePort, portListener } from "../testing/ports.ts";
import { redisCliDb, startRedis } from "../testing/redis.ts";

Deno.test("startRedis: a port an HTTP server holds is refused, not taken for Redis", async () => {
  const abort = new AbortController();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen() {} },
    () => new Response(),
  );
  try {
    await rejects(startRedis({ port: http.addr.port }), /another process listens there/);
  } finally {
    abort.abort();
    await http.finished;
  }
});

Deno.test("portListener: no one, this process, another process", () => {
  const port = freePort();
  equal(portListener(port, Deno.pid), "none");
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    equal(portListener(port, Deno.pid), "process");
    // Asked about another process (init), the listener is someone else's.
    equal(portListener(port, 1), "other");
  } finally {
    l.close();
  }
});

Deno.test("startRedis: the server listening is the one it started, with and without a password", async () => {
  for (const requirepass of [undefined, "pw"]) {
    const r = await startRedis({ requirepass, databases: 2 });
    try {
      const auth = requirepass ? ["-a", requirepass, "--no-auth-warning"] : [];
      match(await redisCliDb(r, 0, ...auth, "INFO", "server"), /process_id:\d+/);
      await r.kill();
      await r.restart();
      equal(await redisCliDb(r, 0, ...auth, "PING"), "PONG");
    } finally {
      await r.stop();
    }
  }
});
