/**
 * The connection rows of the proxy benchmark: how long a target takes to serve a burst of new connections (all opened
 * at once by redis-benchmark, each sending one PING), and what each connection costs it in memory while the harness
 * holds them open and idle.
 * @module
 */
import { parseCsv } from "./parse.ts";
import { terminate, track, withOpenFiles } from "./procs.ts";
import { alignColumns, median, ratioRows } from "./report.ts";

const PING = new TextEncoder().encode("*1\r\n$4\r\nPING\r\n");

/** One burst against one target. */
export interface BurstResult {
  target: string;
  rep: number;
  connections: number;
  /** redis-benchmark's run of `n` clients with one PING each: from its first connect to its last PONG, in ms. */
  burstMs: number;
  /** The slowest client's wait for its PONG (redis-benchmark's max latency), in ms. */
  slowestMs: number;
  /** Growth of the target's resident memory per open idle connection, in KB (after the burst settled). */
  rssPerConnKB: number;
  /** Connections that got no PONG (refused, reset, timed out). */
  failed: number;
  error?: string;
}

/** Resident set size of `pid` in KB (VmRSS), NaN when unreadable. */
export function rssKB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Opens one connection, sends PING and waits for the reply; the connection stays open. */
async function pingOne(port: number, deadline: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(PING);
    const buf = new Uint8Array(64);
    let got = "";
    while (!got.includes("\r\n")) {
      if (Date.now() > deadline) throw new Error("no PONG before the deadline");
      const n = await conn.read(buf);
      if (n === null) throw new Error("closed before PONG");
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    if (!got.startsWith("+PONG")) throw new Error(`unexpected reply ${JSON.stringify(got.slice(0, 40))}`);
    return conn;
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** `redis-benchmark -c n -n n -t ping_mbulk`: n clients connect at once and send one PING each. */
async function benchBurst(port: number, n: number, timeoutMs: number): Promise<{ ms: number; maxMs: number }> {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-c", String(n), "-n", String(n), "-t", "ping_mbulk", "--csv"];
  const child = withOpenFiles("redis-benchmark", args).spawn();
  const untrack = track(() => terminate(child, 500));
  const timer = setTimeout(() => terminate(child, 500).catch(() => {}), timeoutMs);
  try {
    const out = await child.output();
    const line = parseCsv(new TextDecoder().decode(out.stdout))[0];
    if (!out.success || !line) {
      throw new Error(`redis-benchmark failed: ${new TextDecoder().decode(out.stderr).trim().slice(-200)}`);
    }
    // redis-benchmark starts its clock before it opens the first connection: n / rps is the whole burst.
    return { ms: n / line.rps * 1000, maxMs: line.maxMs };
  } finally {
    clearTimeout(timer);
    untrack();
  }
}

/**
 * A burst of `n` new clients with one PING each (timed by redis-benchmark), then the target's memory growth per
 * connection while the harness holds `n` connections open and idle for `settleMs`. Closes them all before it returns.
 * `pid` is the target's process (its RSS is read).
 */
export async function connectionBurst(
  target: string,
  rep: number,
  port: number,
  pid: number | null,
  n: number,
  settleMs = 1000,
  timeoutMs = 60_000,
): Promise<BurstResult> {
  let burstMs = NaN;
  let slowestMs = NaN;
  let benchError: string | undefined;
  try {
    const b = await benchBurst(port, n, timeoutMs);
    burstMs = b.ms;
    slowestMs = b.maxMs;
  } catch (e) {
    benchError = (e as Error).message;
  }
  await new Promise((r) => setTimeout(r, settleMs));
  const before = pid === null ? NaN : rssKB(pid);
  const deadline = Date.now() + timeoutMs;
  const results = await Promise.allSettled(Array.from({ length: n }, () => pingOne(port, deadline)));
  const conns = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = n - conns.length;
  const firstError = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  await new Promise((r) => setTimeout(r, settleMs));
  const after = pid === null ? NaN : rssKB(pid);
  for (const c of conns) {
    try {
      c.close();
    } catch { /* already closed */ }
  }
  // Let the target see the connections go before the next run measures anything.
  await new Promise((r) => setTimeout(r, settleMs));
  const error = benchError ?? (firstError ? String((firstError.reason as Error)?.message ?? firstError.reason) : "");
  return {
    target,
    rep,
    connections: n,
    burstMs,
    slowestMs,
    rssPerConnKB: conns.length > 0 ? (after - before) / conns.length : NaN,
    failed,
    ...(error ? { error } : {}),
  };
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "-";
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : "-";
}

/** The connection table: medians per target, then proxy/peer ratios (lower is better for both columns). */
export function renderBurstTable(
  results: BurstResult[],
  targets: string[],
  proxies: string[],
  peers: string[],
): string {
  const n = results[0]?.connections ?? 0;
  const rows: string[][] = [["connections", "target", "burst ms", "(min-max)", "slowest ms", "RSS KB/conn", "failed"]];
  const med = new Map<string, { ms: number; slowest: number; rss: number }>();
  let first = true;
  for (const t of targets) {
    const mine = results.filter((r) => r.target === t);
    if (mine.length === 0) continue;
    const ms = mine.map((r) => r.burstMs);
    const m = {
      ms: median(ms),
      slowest: median(mine.map((r) => r.slowestMs)),
      rss: median(mine.map((r) => r.rssPerConnKB)),
    };
    med.set(t, m);
    const fails = mine.reduce((s, r) => s + r.failed, 0);
    const err = mine.find((r) => r.error)?.error;
    rows.push([
      first ? `${n} idle` : "",
      t,
      fixed(m.ms, 0),
      mine.length > 1 ? `(${fixed(Math.min(...ms), 0)}-${fixed(Math.max(...ms), 0)})` : "",
      fixed(m.slowest, 0),
      fixed(m.rss, 2),
      fails ? `${fails}${err ? ` (${err})` : ""}` : "0",
    ]);
    first = false;
  }
  rows.push(
    ...ratioRows(med, proxies, peers, (a, b) => [
      ratio(a.ms, b.ms),
      "",
      ratio(a.slowest, b.slowest),
      ratio(a.rss, b.rss),
      "",
    ]),
  );
  return alignColumns(rows, [false, false, true, false, true, true, false]);
}
