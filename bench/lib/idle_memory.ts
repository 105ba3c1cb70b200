/**
 * What an idle connection costs a proxy once its garbage is collected. The burst row's RSS growth is read from a
 * process that allocated while accepting and has not collected since: its young generation alone moves RSS by more
 * than 5000 connections' worth, so that figure swung from -0.4 to 5.2 KB per connection between runs of the same
 * code. Here a fresh proxy is started with deno's inspector on a loopback port, and every reading follows two full
 * collections asked for over the inspector (`HeapProfiler.collectGarbage`): RSS and the V8 heap in use, before and
 * after `n` connections that each sent one PING.
 * @module
 */
import { freePort } from "../../testing/ports.ts";
import { rssKB } from "./conn_burst.ts";
import { startProxyTarget } from "./procs.ts";
import { median } from "./report.ts";

const PING = new TextEncoder().encode("*1\r\n$4\r\nPING\r\n");

/** One measurement of one proxy. */
export interface LiveMemoryResult {
  target: string;
  rep: number;
  connections: number;
  /** RSS growth per connection after full collections, in KB. */
  rssPerConnKB: number;
  /** V8 heap in use, growth per connection after full collections, in bytes. */
  heapPerConnB: number;
  error?: string;
}

/** A minimal Chrome DevTools Protocol client: one request at a time, results by id. */
class Inspector {
  #ws: WebSocket;
  #id = 0;
  #waiting = new Map<number, (result: Record<string, unknown>) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data));
      const done = typeof m.id === "number" ? this.#waiting.get(m.id) : undefined;
      if (done) {
        this.#waiting.delete(m.id);
        done(m.result ?? {});
      }
    };
  }

  static async open(port: number, timeoutMs: number): Promise<Inspector> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
        const ws = new WebSocket(list[0].webSocketDebuggerUrl);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error("inspector connection failed"));
        });
        return new Inspector(ws);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  call(method: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`inspector: no answer to ${method}`));
      }, timeoutMs);
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.#ws.send(JSON.stringify({ id, method }));
    });
  }

  close(): void {
    this.#ws.close();
  }
}

async function openIdle(port: number, n: number, into: Deno.Conn[]): Promise<void> {
  const buf = new Uint8Array(64);
  // In waves of 200: the measurement is of idle connections, not of a burst (the burst row times that).
  for (let i = 0; i < n; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, n - i) }, async () => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      into.push(c);
      await c.write(PING);
      const got = await c.read(buf);
      if (got === null || buf[0] !== 43) throw new Error("no PONG");
    }));
  }
}

/** Starts a fresh proxy (`script`) over `backends` with the inspector on, and measures `n` idle connections. */
export async function liveIdleMemory(
  target: string,
  rep: number,
  o: { script: string; cwd: string; dir: string; backends: string[]; extraArgs: string[]; n: number },
): Promise<LiveMemoryResult> {
  const inspectPort = freePort();
  const conns: Deno.Conn[] = [];
  let server: Awaited<ReturnType<typeof startProxyTarget>> | undefined;
  let inspector: Inspector | undefined;
  const result: LiveMemoryResult = { target, rep, connections: o.n, rssPerConnKB: NaN, heapPerConnB: NaN };
  try {
    server = await startProxyTarget({
      name: `${target}-memory`,
      backends: o.backends,
      extraArgs: o.extraArgs,
      dir: o.dir,
      deno: Deno.execPath(),
      cwd: o.cwd,
      script: o.script,
      denoFlags: [`--inspect=127.0.0.1:${inspectPort}`],
    });
    inspector = await Inspector.open(inspectPort, 10_000);
    const collected = async () => {
      await inspector!.call("HeapProfiler.collectGarbage");
      await inspector!.call("HeapProfiler.collectGarbage");
      const usage = await inspector!.call("Runtime.getHeapUsage");
      return { rss: rssKB(server!.pid!), heap: Number(usage.usedSize) };
    };
    await openIdle(server.port, 50, conns); // the first sessions warm up code and pools
    const before = await collected();
    await openIdle(server.port, o.n, conns);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await collected();
    result.rssPerConnKB = (after.rss - before.rss) / o.n;
    result.heapPerConnB = (after.heap - before.heap) / o.n;
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    inspector?.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await server?.stop();
  }
  return result;
}

/** One round: each proxy of `targets` (name → entry point and flags) measured once, each result logged as it comes. */
export async function idleMemoryRound(
  targets: Map<string, { script: string; extraArgs: string[] }>,
  common: { cwd: string; dir: string; backends: string[]; n: number },
  log: (line: string) => void,
  rep = 0,
): Promise<LiveMemoryResult[]> {
  const results: LiveMemoryResult[] = [];
  for (const [name, m] of targets) {
    const r = await liveIdleMemory(name, rep, { ...m, ...common });
    results.push(r);
    log(
      `${"idle after GC".padEnd(17)} ${name.padEnd(10)} ` +
        (r.error
          ? `ERROR ${r.error}`
          : `RSS ${r.rssPerConnKB.toFixed(2)} KB/conn  heap ${r.heapPerConnB.toFixed(0)} B/conn`),
    );
  }
  return results;
}

/** The idle-memory lines: medians per proxy, with the range over the runs. */
export function renderLiveMemory(results: LiveMemoryResult[], targets: string[]): string {
  const lines = [
    `idle connections after full collections (a fresh proxy per run, ${results[0].connections} connections):`,
  ];
  for (const t of targets) {
    const mine = results.filter((r) => r.target === t && !r.error);
    const failed = results.find((r) => r.target === t && r.error);
    if (mine.length === 0) {
      lines.push(`  ${t.padEnd(10)} ${failed ? `ERROR ${failed.error}` : "-"}`);
      continue;
    }
    const rss = mine.map((r) => r.rssPerConnKB);
    const heap = mine.map((r) => r.heapPerConnB);
    lines.push(
      `  ${t.padEnd(10)} RSS ${median(rss).toFixed(2)} KB/conn (${Math.min(...rss).toFixed(2)}-${
        Math.max(...rss).toFixed(2)
      })  V8 heap ${median(heap).toFixed(0)} B/conn`,
    );
  }
  return lines.join("\n");
}
