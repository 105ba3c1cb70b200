/**
 * One-shot Redis calls for the dashboard (stats, `group/info`, sync actions, the stub executor): a short-lived
 * connection per call batch, authenticated with `product_auth`, bounded by a timeout.
 * @module
 */
import { BackendConn } from "../../redis/conn.ts";
import { decodeReply, errorText, isErrorReply, type RespValue, textOf } from "../../redis/decode.ts";

/** A command to run in database `db` (default 0). */
export interface RedisCmd {
  db?: number;
  args: string[];
}

/**
 * Runs `cmds` in order on one connection to `addr`; returns the decoded replies. Error replies become Errors in
 * the result array (not thrown); a connection failure or timeout throws.
 */
export async function redisCalls(
  addr: string,
  auth: string,
  cmds: RedisCmd[],
  timeoutMs = 2000,
): Promise<(RespValue | Error)[]> {
  const conn = new BackendConn(addr, {
    auth,
    maxPipeline: Math.max(16, cmds.length + 1),
    minBackoffMs: 1000,
    maxBackoffMs: 1000,
    connectTimeoutMs: timeoutMs,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis ${addr}: timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const work = (async () => {
      await conn.connect();
      const out: (RespValue | Error)[] = [];
      for (const c of cmds) {
        const raw = await conn.call(c.db ?? 0, c.args);
        out.push(isErrorReply(raw) ? new Error(errorText(raw)) : decodeReply(raw));
      }
      return out;
    })();
    work.catch(() => {});
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    conn.close();
  }
}

/** Runs one command; throws on an error reply. */
export async function redisCall(
  addr: string,
  auth: string,
  args: string[],
  db = 0,
  timeoutMs = 2000,
): Promise<RespValue> {
  const [r] = await redisCalls(addr, auth, [{ db, args }], timeoutMs);
  if (r instanceof Error) throw r;
  return r;
}

/** Parses `INFO` text into a flat map (section headers and blank lines skipped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * Codis's `group/info` map: `INFO` fields plus `maxmemory` (CONFIG GET) and `master_addr` (from master_host and
 * master_port when the server is a replica).
 */
export async function serverInfo(addr: string, auth: string, timeoutMs = 2000): Promise<Record<string, string>> {
  const [info, maxmem] = await redisCalls(
    addr,
    auth,
    [{ args: ["INFO"] }, { args: ["CONFIG", "GET", "maxmemory"] }],
    timeoutMs,
  );
  if (info instanceof Error) throw info;
  const m = parseInfo(textOf(info));
  if (!(maxmem instanceof Error) && Array.isArray(maxmem) && maxmem.length >= 2) m.maxmemory = textOf(maxmem[1]);
  if (m.master_host) m.master_addr = `${m.master_host}:${m.master_port}`;
  return m;
}
