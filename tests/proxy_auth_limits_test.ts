/**
 * Redis 7's limits before AUTH at the proxy: with `session_auth` set, a client that has not authenticated gets
 * "Protocol error: unauthenticated multibulk length" past 10 arguments and "unauthenticated bulk length" past 16 KB,
 * and is closed before the proxy buffers what it announced. Each exchange is checked byte for byte against a real
 * redis-server with `requirepass`, and against the proxy's worker mode (a codis-proxy child with proxy_workers = 2).
 */
import { equal as assertEquals, ok as assert } from "node:assert/strict";
import { startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";

const PASSWORD = "s3cret-limits";
const enc = new TextEncoder();

function bulk(s: string | Uint8Array): string {
  const b = typeof s === "string" ? s : new TextDecoder().decode(s);
  return `$${enc.encode(b).length}\r\n${b}\r\n`;
}

function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map(bulk).join("")}`;
}

/** Sends `payload`, then reads until the peer closes; "<open>" is appended when it did not within `ms`. */
async function exchange(port: number, payload: string, ms = 3000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode(payload)).catch(() => 0);
    const buf = new Uint8Array(65536);
    let text = "";
    const deadline = Date.now() + ms;
    let timer: ReturnType<typeof setTimeout> | undefined;
    while (Date.now() < deadline) {
      const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), deadline - Date.now()));
      const n = await Promise.race([conn.read(buf).catch(() => null), timeout]).finally(() => clearTimeout(timer));
      if (n === "timeout") return text + "<open>";
      if (n === null) return text;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text + "<open>";
  } finally {
    try {
      conn.close();
    } catch { /* closed by the peer */ }
  }
}

const QUIT = command("QUIT");
const ELEVEN = "*11\r\n";
const CASES: [string, string][] = [
  ["11 arguments before AUTH", ELEVEN],
  ["10 arguments before AUTH", command("DEL", ..."abcdefghi") + QUIT],
  ["a 16 KB bulk before AUTH", command("ECHO", "x".repeat(16384)) + QUIT],
  ["a bulk of 16 KB + 1 before AUTH", "*2\r\n$4\r\nECHO\r\n$16385\r\n"],
  ["the issue's 400 MB bulk header", "*1\r\n$400000000\r\n"],
  ["earlier replies go out before the error", command("PING") + ELEVEN],
  ["an inline command of 21 words is not limited", `GET ${"a ".repeat(20)}\r\n${QUIT}`],
  ["a negative bulk length is an invalid one", "*1\r\n$-1\r\n"],
  ["AUTH lifts the limits", command("AUTH", PASSWORD) + command("ECHO", "y".repeat(20000)) + QUIT],
  ["a wrong password keeps them", command("AUTH", "wrong") + ELEVEN],
  ["RESET brings them back", command("AUTH", PASSWORD) + command("RESET") + ELEVEN],
  [
    "a wrong password after a right one keeps the session in",
    command("AUTH", PASSWORD) + command("AUTH", "wrong") + command("ECHO", "v".repeat(20000)) + QUIT,
  ],
  [
    "HELLO with AUTH lifts them",
    command("HELLO", "2", "AUTH", "default", PASSWORD) + command("ECHO", "z".repeat(20000)) + QUIT,
  ],
];

/** Drops HELLO's reply, whose server fields (version, id) differ between Redis and the proxy. */
function normalise(s: string): string {
  return s.replace(/^\*14\r\n[\s\S]*?\$7\r\nmodules\r\n\*0\r\n/, "<hello>");
}

Deno.test("proxy: limits before AUTH match redis-server with requirepass, byte for byte", async () => {
  const redis = await startRedis({ requirepass: PASSWORD, databases: 16 });
  const fx = await startProxyFixture(1, { session_auth: PASSWORD });
  try {
    for (const [what, payload] of CASES) {
      const want = normalise(await exchange(redis.port, payload));
      const got = normalise(await exchange(fx.port, payload));
      assertEquals(got, want, what);
      assert(!want.endsWith("<open>"), `${what}: redis-server closed the connection`);
    }
  } finally {
    await fx.stop();
    await redis.stop();
  }
});

Deno.test("proxy: AUTH without session_auth answers as redis-server without requirepass, byte for byte", async () => {
  const redis = await startRedis({ databases: 16 });
  const fx = await startProxyFixture(1, {});
  try {
    const cases: [string, string][] = [
      ["the password-only form", command("AUTH", "pw") + QUIT],
      ["an unknown user", command("AUTH", "someone", "pw") + QUIT],
      ["the default user takes any password", command("AUTH", "default", "pw") + QUIT],
      ["HELLO with an unknown user", command("HELLO", "2", "AUTH", "someone", "pw") + QUIT],
      ["HELLO with the default user", command("HELLO", "2", "AUTH", "default", "pw") + QUIT],
    ];
    for (const [what, payload] of cases) {
      const want = normalise(await exchange(redis.port, payload));
      assertEquals(normalise(await exchange(fx.port, payload)), want, what);
    }
    // The case the proxy used to get wrong, spelled out.
    assertEquals(
      await exchange(fx.port, command("AUTH", "someone", "pw") + QUIT),
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n",
    );
  } finally {
    await fx.stop();
    await redis.stop();
  }
});

Deno.test("proxy: an unauthenticated 400 MB bulk is refused at its header, and the session closed", async () => {
  const fx = await startProxyFixture(1, { session_auth: PASSWORD });
  try {
    // The reproduction: two clients announce 400 MB each. Both are answered and closed on the header alone,
    // so writing the body fails instead of filling the proxy's memory.
    const replies = await Promise.all([1, 2].map(() => exchange(fx.port, "*1\r\n$400000000\r\n")));
    for (const r of replies) assertEquals(r, "-ERR Protocol error: unauthenticated bulk length\r\n");
    assertEquals(fx.proxy.stats.snapshot().sessionsAlive, 0);
    // Authenticated sessions keep the configured limits (session_max_bulk_len, 512 MB by default).
    const c = fx.client({ password: PASSWORD });
    assertEquals(await c.echo("v".repeat(1 << 20)), "v".repeat(1 << 20));
  } finally {
    await fx.stop();
  }
});

Deno.test("proxy: worker mode (proxy_workers = 2) applies the same limits before AUTH", async () => {
  const redis = await startRedis();
  const proxy = await startCodisProxy([
    `--backend=${redis.addr}`,
    "--proxy_workers=2",
  ], { CODIS_SESSION_AUTH: PASSWORD });
  try {
    for (let i = 0; i < 4; i++) { // connections spread over the workers
      assertEquals(await exchange(proxy.port, ELEVEN), "-ERR Protocol error: unauthenticated multibulk length\r\n");
      assertEquals(
        await exchange(proxy.port, "*1\r\n$400000000\r\n"),
        "-ERR Protocol error: unauthenticated bulk length\r\n",
      );
    }
    assertEquals(
      await exchange(proxy.port, command("AUTH", PASSWORD) + command("ECHO", "w".repeat(20000)) + QUIT),
      `+OK\r\n$20000\r\n${"w".repeat(20000)}\r\n+OK\r\n`,
    );
  } finally {
    await proxy.stop();
    await redis.stop();
  }
});
