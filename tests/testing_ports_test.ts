/**
 * Ports in tests, whose files run in parallel: freePort (testing/ports.ts) never hands out a port another process
 * handed out recently, and startRedis (testing/redis.ts) gives a port its own server listens on: a port another
 * process took first (a parallel test file's HTTP server, say) is refused rather than taken for Redis, where it would
 * surface later as a backend reply that is not RESP. `portListener` tells the two apart.
 * @module
 */
import { deepEqual, equal, match, rejects } from "node:assert/strict";
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

Deno.test("freePort: no port another live process handed out recently is handed out here", async () => {
  // The other process hands out 500 ports, then lives until its stdin closes (its notes go when it exits).
  const code = `import { freePort } from "${new URL("../testing/ports.ts", import.meta.url)}";
    console.log(JSON.stringify(Array.from({ length: 500 }, freePort)));
    for await (const _ of Deno.stdin.readable);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    let text = "";
    for await (const piece of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += piece;
      if (text.includes("\n")) break;
    }
    const theirs = new Set<number>(JSON.parse(text));
    equal(theirs.size, 500);
    // Two independent random picks of 500 ports among ~16k would share ~15.
    const shared = Array.from({ length: 500 }, freePort).filter((p) => theirs.has(p));
    deepEqual(shared, []);
  } finally {
    await child.stdin.close();
    await child.status;
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
