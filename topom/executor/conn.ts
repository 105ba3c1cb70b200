/**
 * Short-lived, time-bounded connections to group servers for the dashboard's own Redis I/O, over the proxy's
 * pipelined {@link BackendConn}.
 * @module
 */
import { BackendConn } from "../../redis/conn.ts";
import { decodeReply, errorText, isErrorReply, type RespValue, textOf } from "../../redis/decode.ts";

/** Opens (without connecting yet) a connection that never queues more than `maxPipeline` requests. */
export function newConn(addr: string, auth: string, connectTimeoutMs: number, maxPipeline = 4096): BackendConn {
  return new BackendConn(addr, {
    auth,
    maxPipeline,
    minBackoffMs: 1000,
    maxBackoffMs: 1000,
    connectTimeoutMs,
  });
}

/** An error reply from Redis, with its text. */
export class RedisReplyError extends Error {
  constructor(readonly addr: string, readonly command: string, readonly reply: string) {
    super(`server ${addr}: ${command} failed: ${reply}`);
  }
}

/** Runs one command and decodes the reply; an error reply throws {@link RedisReplyError}. */
export async function callValue(conn: BackendConn, db: number, args: string[]): Promise<RespValue> {
  const raw = await conn.call(db, args);
  if (isErrorReply(raw)) throw new RedisReplyError(conn.addr, args[0].toUpperCase(), errorText(raw));
  return decodeReply(raw);
}

/** Runs one command whose reply is text (INFO, simple strings). */
export async function callText(conn: BackendConn, db: number, args: string[]): Promise<string> {
  return textOf(await callValue(conn, db, args));
}

/**
 * Connects to `addr`, runs `fn`, and closes the connection. The whole exchange is bounded by `timeoutMs`: when it
 * expires the connection is closed, so every pending call fails, and the returned promise rejects with a timeout.
 */
export async function withConn<T>(
  addr: string,
  auth: string,
  timeoutMs: number,
  fn: (conn: BackendConn) => Promise<T>,
): Promise<T> {
  const conn = newConn(addr, auth, timeoutMs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      conn.close();
      reject(new Error(`server ${addr}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const work = (async () => {
    await conn.connect();
    return await fn(conn);
  })();
  work.catch(() => {});
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    conn.close();
  }
}

/** Parses INFO text into a flat field map (section headers and blank lines skipped). */
export function parseInfoText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** `INFO keyspace` text → database index → key count (empty databases are absent). */
export function parseKeyspace(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^db(\d+):keys=(\d+)/gm)) out.set(Number(m[1]), Number(m[2]));
  return out;
}

/** Splits `host:port` at the last colon. */
export function splitAddr(addr: string): [string, string] {
  const i = addr.lastIndexOf(":");
  if (i <= 0 || i === addr.length - 1) throw new Error(`bad server address ${JSON.stringify(addr)}, want host:port`);
  return [addr.slice(0, i), addr.slice(i + 1)];
}
