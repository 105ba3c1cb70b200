import { Redis } from "ioredis";
import { evenSlotRanges } from "../models/slots.ts";
import { startAdminServer } from "../proxy/admin/server.ts";
import { defaultProxyConfig, type ProxyConfig } from "../proxy/config.ts";
import { Proxy } from "../proxy/proxy.ts";
import { freePort, waitForPort } from "./ports.ts";
import { type RedisProcess, startRedis } from "./redis.ts";

/** A proxy in this process, over real sockets, in front of real redis-server backends. */
export interface ProxyFixture {
  proxy: Proxy;
  port: number;
  adminPort: number;
  backends: RedisProcess[];
  /** A new ioredis client to the proxy; closed by `stop`. */
  client(opts?: Record<string, unknown>): Redis;
  /** A new ioredis client straight to backend i. */
  direct(i: number, db?: number): Redis;
  stop(): Promise<void>;
}

/** Starts `n` backends and a standalone proxy over them. */
export async function startProxyFixture(
  n = 2,
  overrides: Partial<ProxyConfig> = {},
  redisOpts: Parameters<typeof startRedis>[0] = {},
): Promise<ProxyFixture> {
  const backends: RedisProcess[] = [];
  const clients: Redis[] = [];
  let proxy: Proxy | null = null;
  const abort = new AbortController();
  let finished: Promise<void> = Promise.resolve();
  const stop = async () => {
    for (const c of clients) c.disconnect();
    if (proxy) await proxy.shutdown();
    abort.abort();
    await finished;
    for (const b of backends) await b.stop();
  };
  try {
    for (let i = 0; i < n; i++) backends.push(await startRedis(redisOpts));
    const port = freePort();
    const config = {
      ...defaultProxyConfig(),
      proxy_addr: `127.0.0.1:${port}`,
      admin_addr: "127.0.0.1:0",
      ...overrides,
    };
    proxy = new Proxy(config);
    proxy.fillSlots(evenSlotRanges(backends.map((b) => b.addr)));
    await proxy.listen();
    const admin = startAdminServer(proxy, { hostname: "127.0.0.1", port: 0, signal: abort.signal });
    finished = admin.finished;
    proxy.setAdminAddr(`127.0.0.1:${admin.addr.port}`);
    proxy.start();
    for (const pool of proxy.router.pools.values()) await pool.connect().catch(() => {});
    if (config.proto_type !== "unix") await waitForPort(port);
    const p = proxy;
    return {
      proxy: p,
      port,
      adminPort: admin.addr.port,
      backends,
      client(opts = {}) {
        const c = new Redis({ port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 0, ...opts });
        c.on("error", () => {});
        clients.push(c);
        return c;
      },
      direct(i, db = 0) {
        const c = new Redis({
          port: backends[i].port,
          host: "127.0.0.1",
          db,
          maxRetriesPerRequest: 0,
          password: redisOpts?.requirepass,
        });
        c.on("error", () => {});
        clients.push(c);
        return c;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs redis-cli against a port with the given arguments; returns stdout. */
export async function redisCli(port: number, args: string[], stdin?: string): Promise<string> {
  const cmd = new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

/** Reads from a raw connection until `done(text)` or the peer closes; bounded by time. */
export async function readUntil(conn: Deno.Conn, done: (s: string) => boolean, timeoutMs = 5000): Promise<string> {
  let text = "";
  const buf = new Uint8Array(65536);
  const deadline = Date.now() + timeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (!done(text) && Date.now() < deadline) {
      const timeout = new Promise<null>((r) => timer = setTimeout(() => r(null), Math.max(1, deadline - Date.now())));
      const n = await Promise.race([conn.read(buf).catch(() => null), timeout]);
      clearTimeout(timer);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  return text;
}
