/**
 * Start-up checks of a backend server: reachable, `product_auth` accepted, at least 1024 databases (one per slot),
 * and `hz` high enough for timely expiry. Each failure is reported by address with its own reason.
 * @module
 */
import { MAX_SLOT_NUM } from "../../models/slots.ts";
import { decodeReply, errorText, isErrorReply, textOf } from "../../redis/decode.ts";
import { BackendConn } from "../../redis/conn.ts";

/** What the check learned about a server. */
export interface BackendFacts {
  addr: string;
  version: string;
  databases: number;
  hz: number;
  /** Non-fatal findings, e.g. a low `hz`. */
  warnings: string[];
}

/** Checks one server; throws an Error whose message names the address and the reason. */
export async function checkBackend(addr: string, auth: string, timeoutMs = 3000): Promise<BackendFacts> {
  const conn = new BackendConn(addr, {
    auth,
    maxPipeline: 16,
    minBackoffMs: 1000,
    maxBackoffMs: 1000,
    connectTimeoutMs: timeoutMs,
  });
  try {
    try {
      await conn.connect();
    } catch (e) {
      const msg = (e as Error).message;
      if (/NOAUTH/i.test(msg)) throw new Error(`backend ${addr} requires a password: set product_auth`);
      if (/WRONGPASS|invalid password|AUTH failed/i.test(msg)) {
        throw new Error(`backend ${addr} rejected product_auth: ${msg}`);
      }
      throw new Error(`backend ${addr} is unreachable: ${msg}`);
    }
    const info = textOf(decodeReply(await conn.call(0, ["INFO", "server"])));
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? "unknown";
    const databases = await configNumber(conn, "databases");
    const hz = await configNumber(conn, "hz");
    let dbCount = databases;
    if (dbCount === null) {
      // CONFIG may be renamed away; SELECT of the last slot's database tells us what we need.
      const r = await conn.call(MAX_SLOT_NUM - 1, ["PING"]).catch((e) => e as Error);
      dbCount = r instanceof Error ? 0 : MAX_SLOT_NUM;
    }
    if (dbCount < MAX_SLOT_NUM) {
      throw new Error(
        `backend ${addr} has ${dbCount} databases; codis-deno keeps slot s in database s, so it needs 'databases ${MAX_SLOT_NUM}' or more`,
      );
    }
    const warnings: string[] = [];
    if (hz !== null && hz < 100) {
      warnings.push(
        `backend ${addr} runs with hz ${hz}; with ${MAX_SLOT_NUM} databases expired keys linger for seconds, set 'hz 100'`,
      );
    }
    return { addr, version, databases: dbCount, hz: hz ?? 0, warnings };
  } finally {
    conn.close();
  }
}

async function configNumber(conn: BackendConn, key: string): Promise<number | null> {
  const raw = await conn.call(0, ["CONFIG", "GET", key]);
  if (isErrorReply(raw)) {
    if (/unknown command/i.test(errorText(raw))) return null;
    throw new Error(`backend ${conn.addr}: CONFIG GET ${key} failed: ${errorText(raw)}`);
  }
  const v = decodeReply(raw);
  return Array.isArray(v) && v.length >= 2 ? Number(textOf(v[1])) : null;
}
