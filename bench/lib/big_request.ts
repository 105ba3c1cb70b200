/**
 * The big-request row of the proxy benchmark: one `RPUSH` of 400k arguments, written in 16 KiB pieces as a client
 * streaming a big command would, timed from its first byte to its reply; meanwhile a second connection PINGs in a
 * loop, and the longest PING shows how long the big request held other sessions up.
 * @module
 */
import { alignColumns, median, ratioRows } from "./report.ts";
import { threadsCpuMs } from "./cpu.ts";

/** Arguments of the request, command and key included (the row: 400k). */
export const BIG_REQUEST_ARGS = 400_000;
const PIECE = 16 * 1024;
const KEY = "bench:bigreq";

/** One timed big request against one target. */
export interface BigRequestResult {
  target: string;
  rep: number;
  /** From the first byte written to the reply read, in ms. */
  ms: number;
  /** The longest PING round trip of another connection meanwhile, in ms. */
  stallMs: number;
  /** CPU the target's process used meanwhile, in ms (its answers to the PINGs included); NaN when not known. */
  cpuMs: number;
  error?: string;
}

const enc = new TextEncoder();

/** `RPUSH bench:bigreq e0 e1 ...` with `args` arguments in all, as RESP. */
export function encodeBigRequest(args: number): Uint8Array {
  const parts: string[] = [`*${args}\r\n$5\r\nRPUSH\r\n$${KEY.length}\r\n${KEY}\r\n`];
  for (let i = 0; i < args - 2; i++) {
    const e = `e${i}`;
    parts.push(`$${e.length}\r\n${e}\r\n`);
  }
  return enc.encode(parts.join(""));
}

async function readReply(conn: Deno.Conn, buf: Uint8Array): Promise<string> {
  let got = 0;
  while (true) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) throw new Error("connection closed before the reply");
    got += n;
    if (got >= 2 && buf[got - 2] === 13 && buf[got - 1] === 10) return new TextDecoder().decode(buf.subarray(0, got));
  }
}

async function command(conn: Deno.Conn, buf: Uint8Array, raw: string): Promise<string> {
  const bytes = enc.encode(raw);
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  return await readReply(conn, buf);
}

/**
 * Sends `request` to the target on `port` in pieces and times it, with a PING loop on a second connection; the CPU
 * of process `cpuPid` (when given) is read before and after.
 */
export async function bigRequest(
  target: string,
  rep: number,
  port: number,
  request: Uint8Array,
  cpuPid: number | null = null,
): Promise<BigRequestResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const pinger = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(4096);
  const pingBuf = new Uint8Array(256);
  let stallMs = 0;
  let done = false;
  try {
    await command(conn, buf, `*2\r\n$3\r\nDEL\r\n$${KEY.length}\r\n${KEY}\r\n`);
    const pings = (async () => {
      // Bounded: the loop ends with the request, and at most 100k PINGs.
      for (let i = 0; i < 100_000 && !done; i++) {
        const t = performance.now();
        await command(pinger, pingBuf, "*1\r\n$4\r\nPING\r\n");
        stallMs = Math.max(stallMs, performance.now() - t);
      }
    })();
    const cpuBefore = cpuPid === null ? NaN : threadsCpuMs(cpuPid);
    const start = performance.now();
    for (let off = 0; off < request.length;) {
      off += await conn.write(request.subarray(off, Math.min(request.length, off + PIECE)));
    }
    const reply = await readReply(conn, buf);
    const ms = performance.now() - start;
    const cpuMs = cpuPid === null ? NaN : threadsCpuMs(cpuPid) - cpuBefore;
    done = true;
    await pings;
    const expect = `:${BIG_REQUEST_ARGS - 2}\r\n`;
    if (reply !== expect) {
      return { target, rep, ms, stallMs, cpuMs, error: `reply ${JSON.stringify(reply.slice(0, 80))}` };
    }
    await command(conn, buf, `*2\r\n$3\r\nDEL\r\n$${KEY.length}\r\n${KEY}\r\n`);
    return { target, rep, ms, stallMs, cpuMs };
  } catch (e) {
    return { target, rep, ms: NaN, stallMs, cpuMs: NaN, error: (e as Error).message };
  } finally {
    done = true;
    conn.close();
    pinger.close();
  }
}

/** The row's table: median time and stall per target, and each proxy against each peer. */
export function renderBigRequestTable(
  results: BigRequestResult[],
  targets: string[],
  proxies: string[],
  peers: string[],
): string {
  const rows: string[][] = [["request", "target", "ms", "(min-max)", "others stalled ms", "CPU ms", "errors"]];
  const med = new Map<string, { ms: number; stall: number; cpu: number }>();
  let first = true;
  for (const t of targets) {
    const mine = results.filter((r) => r.target === t);
    if (mine.length === 0) continue;
    const ok = mine.filter((r) => !r.error);
    const ms = ok.map((r) => r.ms);
    const m = { ms: median(ms), stall: median(ok.map((r) => r.stallMs)), cpu: median(ok.map((r) => r.cpuMs)) };
    med.set(t, m);
    const errs = mine.filter((r) => r.error);
    rows.push([
      first ? `RPUSH of ${BIG_REQUEST_ARGS / 1000}k args` : "",
      t,
      m.ms.toFixed(0),
      ms.length > 1 ? `(${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)})` : "",
      m.stall.toFixed(1),
      Number.isFinite(m.cpu) ? m.cpu.toFixed(1) : "-",
      errs.length ? `${errs.length} (${errs[0].error})` : "0",
    ]);
    first = false;
  }
  const ratio = (x: number, y: number) => Number.isFinite(x / y) ? `${(x / y).toFixed(2)}x` : "";
  rows.push(...ratioRows(med, proxies, peers, (a, b) => [ratio(a.ms, b.ms), "", "", ratio(a.cpu, b.cpu), ""]));
  return alignColumns(rows, [false, false, true, false, true, true, false]);
}
