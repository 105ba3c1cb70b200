/**
 * Commands sent to every server of every group, masters and replicas (CONFIG SET, CONFIG RESETSTAT): the masters are
 * the slots' backends, their replicas are what each master's `ROLE` lists. Servers the proxy has no pool for (a
 * replica nobody reads from) get a short-lived connection of their own.
 * @module
 */
import type { ProxyCore } from "../core/core.ts";
import { ownConnOptions } from "../core/own_conn.ts";
import { BackendConn } from "../../redis/conn.ts";
import { decodeReply, isErrorReply } from "../../redis/decode.ts";
import { errorReply } from "../../redis/encode.ts";
import { masters } from "./fanout.ts";

const dec = new TextDecoder();

/** One server's answer to a command sent to every server. */
export interface ServerReply {
  addr: string;
  /** Whether the server is a group's master (a slot's backend). */
  master: boolean;
  /** The raw reply; a connection failure becomes an `-ERR` reply naming it. */
  reply: Uint8Array;
}

/** The replicas a master's `ROLE` reply lists, as host:port. */
export function replicasOfRole(raw: Uint8Array): string[] {
  if (isErrorReply(raw)) return [];
  const v = decodeReply(raw);
  if (!Array.isArray(v) || v.length < 3 || !Array.isArray(v[2])) return [];
  const out: string[] = [];
  for (const r of v[2]) {
    if (!Array.isArray(r) || r.length < 2) continue;
    const host = r[0] instanceof Uint8Array ? dec.decode(r[0]) : String(r[0]);
    const port = r[1] instanceof Uint8Array ? dec.decode(r[1]) : String(r[1]);
    out.push(`${host}:${port}`);
  }
  return out;
}

/** Sends `args` to every master and every replica; resolves with each server's reply, masters first. */
export async function callEveryServer(core: ProxyCore, args: (string | Uint8Array)[]): Promise<ServerReply[]> {
  const pools = masters(core);
  if (pools.length === 0) throw new Error("ERR no backend serves any slot yet");
  const roles = await Promise.all(pools.map((p) => p.connFor(0).call(0, ["ROLE"]).catch(() => null)));
  const replicas = new Set<string>();
  const masterAddrs = new Set(pools.map((p) => p.addr));
  roles.forEach((r) => {
    for (const a of r === null ? [] : replicasOfRole(r)) if (!masterAddrs.has(a)) replicas.add(a);
  });
  const calls: Promise<ServerReply>[] = pools.map((p) =>
    p.connFor(0).call(0, args).then(
      (reply) => ({ addr: p.addr, master: true, reply }),
      (e: Error) => ({ addr: p.addr, master: true, reply: errorReply(`ERR ${e.message}`) }),
    )
  );
  for (const addr of replicas) calls.push(callOnce(core, addr, args));
  return await Promise.all(calls);
}

/** One command on a new connection to `addr`, closed afterwards; a failure is returned as an error reply. */
async function callOnce(core: ProxyCore, addr: string, args: (string | Uint8Array)[]): Promise<ServerReply> {
  const pooled = core.router.pools.get(addr);
  if (pooled !== undefined) {
    const reply = await pooled.connFor(0).call(0, args).catch((e: Error) => errorReply(`ERR ${e.message}`));
    return { addr, master: false, reply };
  }
  const conn = new BackendConn(addr, ownConnOptions(core.config));
  try {
    await conn.connect();
    return { addr, master: false, reply: await conn.call(0, args) };
  } catch (e) {
    return { addr, master: false, reply: errorReply(`ERR ${(e as Error).message}`) };
  } finally {
    conn.close();
  }
}
