/**
 * Proxy registration and sentinel list bookkeeping (Codis's `topom_proxy.go`, `topom_sentinel.go`), the pure
 * part: ids, uniqueness and the writes. Fetching a proxy's model, xping, shutdown and sentinel commands are the
 * caller's I/O.
 * @module
 */
import type { ProxyModel } from "../models/mod.ts";
import { type Context, TopomError, type Write } from "./context.ts";

/** `proxy/create`: register a new proxy (from its `GET /api/proxy/model`); its token must be new; id = max + 1. */
export function createProxy(ctx: Context, p: ProxyModel): Write[] {
  if (ctx.proxies.has(p.token)) throw new TopomError(`proxy-[${p.token}] already exists`);
  return [{ kind: "proxy", proxy: { ...p, id: ctx.maxProxyId() + 1 } }];
}

/** `proxy/online`: register or refresh a proxy, keeping the id of a known token. */
export function onlineProxy(ctx: Context, p: ProxyModel): Write[] {
  const old = ctx.proxies.get(p.token);
  return [{ kind: "proxy", proxy: { ...p, id: old?.id ?? ctx.maxProxyId() + 1 } }];
}

/**
 * `proxy/remove`: delete a proxy. The caller first asks it to shut down; when that fails and `force` is false
 * the removal is refused with Codis's message (pass `shutdownFailed`).
 */
export function removeProxy(ctx: Context, token: string, force: boolean, shutdownFailed: boolean): Write[] {
  const p = ctx.getProxy(token);
  if (shutdownFailed && !force) throw new TopomError(`proxy-[${p.token}] shutdown failed`);
  return [{ kind: "proxy-remove", token: p.token }];
}

/** The proxy whose admin address is `addr`, for codis-admin's `--addr` lookups. */
export function findProxyByAddr(ctx: Context, addr: string): ProxyModel | undefined {
  for (const p of ctx.proxies.values()) if (p.admin_addr === addr) return { ...p };
  return undefined;
}

/** `sentinels/add`: append a sentinel (after the caller's `SENTINEL FLUSHCONFIG` probe); marks out of sync. */
export function addSentinel(ctx: Context, addr: string): Write[] {
  if (addr === "") throw new TopomError("invalid sentinel address", 400);
  const servers = ctx.sentinel.servers ?? [];
  if (servers.includes(addr)) throw new TopomError(`sentinel-[${addr}] already exists`);
  return [{ kind: "sentinel", sentinel: { servers: [...servers, addr], out_of_sync: true } }];
}

/**
 * `sentinels/del`: store `before` (out of sync), run `SENTINEL REMOVE` for this product's masters on `addr`
 * (failure is an error unless forced: "remove sentinel ADDR failed"), then store `after` (the list without it).
 */
export function delSentinel(ctx: Context, addr: string): { before: Write[]; after: Write[] } {
  if (addr === "") throw new TopomError("invalid sentinel address", 400);
  const servers = ctx.sentinel.servers ?? [];
  if (!servers.includes(addr)) throw new TopomError(`sentinel-[${addr}] not found`, 404);
  return {
    before: [{ kind: "sentinel", sentinel: { servers: [...servers], out_of_sync: true } }],
    after: [{ kind: "sentinel", sentinel: { servers: servers.filter((x) => x !== addr), out_of_sync: true } }],
  };
}

/** `sentinels/resync-all`: the sentinel model marked out of sync (before) or in sync (after reconfiguring). */
export function sentinelSync(ctx: Context, inSync: boolean): Write[] {
  return [{ kind: "sentinel", sentinel: { servers: [...(ctx.sentinel.servers ?? [])], out_of_sync: !inSync } }];
}
