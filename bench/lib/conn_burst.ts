/**
 * The connection rows of the proxy benchmark: how long a target takes to serve a burst of new connections (all opened
 * at once, each sending one PING), and what each of them costs it in memory while they stay open and idle.
 * @module
 */
import { median } from "./report.ts";

const PING = new TextEncoder().encode("*1\r\n$4\r\nPING\r\n");

/** One burst against one target. */
export interface BurstResult {
  target: string;
  rep: number;
  connections: number;
  /** From the first connect to the last PONG, in ms. */
  burstMs: number;
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

/**
 * Opens `n` connections to `port` at once, each sending PING; measures the time until every PONG arrived, then the
 * target's memory growth per connection while they are held open and idle for `settleMs`. Closes them all before it
 * returns. `pid` is the target's process (its RSS is read).
 */
export async function connectionBurst(
  target: string,
  rep: number,
  port: number,
  pid: number | null,
  n: number,
  settleMs = 1000,
  timeoutMs = 30_000,
): Promise<BurstResult> {
  const before = pid === null ? NaN : rssKB(pid);
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  const results = await Promise.allSettled(Array.from({ length: n }, () => pingOne(port, deadline)));
  const burstMs = performance.now() - t0;
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
  return {
    target,
    rep,
    connections: n,
    burstMs,
    rssPerConnKB: conns.length > 0 ? (after - before) / conns.length : NaN,
    failed,
    ...(firstError ? { error: String((firstError.reason as Error)?.message ?? firstError.reason) } : {}),
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
  const rows: string[][] = [["connections", "target", "burst ms", "(min-max)", "RSS KB/conn", "failed"]];
  const med = new Map<string, { ms: number; rss: number }>();
  let first = true;
  for (const t of targets) {
    const mine = results.filter((r) => r.target === t);
    if (mine.length === 0) continue;
    const ms = mine.map((r) => r.burstMs);
    const m = { ms: median(ms), rss: median(mine.map((r) => r.rssPerConnKB)) };
    med.set(t, m);
    const fails = mine.reduce((s, r) => s + r.failed, 0);
    const err = mine.find((r) => r.error)?.error;
    rows.push([
      first ? `${n} idle` : "",
      t,
      fixed(m.ms, 0),
      mine.length > 1 ? `(${fixed(Math.min(...ms), 0)}-${fixed(Math.max(...ms), 0)})` : "",
      fixed(m.rss, 2),
      fails ? `${fails}${err ? ` (${err})` : ""}` : "0",
    ]);
    first = false;
  }
  for (const p of proxies) {
    const a = med.get(p);
    if (!a) continue;
    for (const peer of peers) {
      const b = med.get(peer);
      if (!b) continue;
      rows.push(["", `${p}/${peer}`, ratio(a.ms, b.ms), "", ratio(a.rss, b.rss), ""]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const right = [false, false, true, false, true, false];
  return rows.map((r) => r.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd())
    .join("\n");
}
