/**
 * Redis Sentinel bookkeeping, pure (Codis's `pkg/utils/redis/sentinel.go` and `trySwitchGroupMaster`): master
 * names, the MONITOR/SET commands of a resync, choosing each group's master from several sentinels' answers,
 * and recording a failover in the model.
 * @module
 */
import type { DashboardConfig } from "./config_keys.ts";
import { type Context, hostOf, TopomError, type Write } from "./context.ts";

/** Sentinel name of group `gid`'s master: `{product}-{gid}`. */
export function sentinelGroupName(product: string, gid: number): string {
  return `${product}-${gid}`;
}

/** The group id in a sentinel master name of `product`, or undefined for another product's name. */
export function parseSentinelGroupName(product: string, name: string): number | undefined {
  const prefix = `${product}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (!/^\d+$/.test(rest)) return undefined;
  const gid = Number(rest);
  return Number.isSafeInteger(gid) ? gid : undefined;
}

/** The sentinel settings of dashboard.toml (durations in milliseconds). */
export type SentinelSettings = Pick<
  DashboardConfig,
  | "product_name"
  | "product_auth"
  | "sentinel_quorum"
  | "sentinel_parallel_syncs"
  | "sentinel_down_after"
  | "sentinel_failover_timeout"
  | "sentinel_notification_script"
  | "sentinel_client_reconfig_script"
>;

/** The commands that make a sentinel watch one group's master. */
export interface SentinelMonitor {
  gid: number;
  name: string;
  /** `SENTINEL MONITOR name ip port quorum`. */
  monitor: string[];
  /** `SENTINEL SET name ...`. */
  set: string[];
}

/**
 * What `sentinels/resync-all` sends each sentinel after removing this product's masters: MONITOR and SET per
 * group master. `resolve` maps a host to an IP (sentinels want IPs); hosts it cannot resolve are an error.
 * The script options need `sentinel deny-scripts-reconfig no` on Redis ≥ 6.2 sentinels.
 */
export function sentinelMonitorPlan(
  ctx: Context,
  cfg: SentinelSettings,
  resolve: (host: string) => string | undefined = (h) => h === "localhost" ? "127.0.0.1" : h,
): SentinelMonitor[] {
  const out: SentinelMonitor[] = [];
  for (const [gid, addr] of ctx.getGroupMasters()) {
    const host = hostOf(addr);
    const ip = resolve(host);
    if (!ip) throw new TopomError(`group-[${gid}] master ${addr}: cannot resolve ${host}`);
    const port = addr.slice(addr.lastIndexOf(":") + 1);
    const name = sentinelGroupName(cfg.product_name, gid);
    const set = ["SENTINEL", "SET", name];
    if (cfg.sentinel_parallel_syncs) set.push("parallel-syncs", String(cfg.sentinel_parallel_syncs));
    if (cfg.sentinel_down_after) set.push("down-after-milliseconds", String(Math.trunc(cfg.sentinel_down_after)));
    if (cfg.sentinel_failover_timeout) set.push("failover-timeout", String(Math.trunc(cfg.sentinel_failover_timeout)));
    if (cfg.product_auth) set.push("auth-pass", cfg.product_auth);
    if (cfg.sentinel_notification_script) set.push("notification-script", cfg.sentinel_notification_script);
    if (cfg.sentinel_client_reconfig_script) set.push("client-reconfig-script", cfg.sentinel_client_reconfig_script);
    out.push({ gid, name, monitor: ["SENTINEL", "MONITOR", name, ip, port, String(cfg.sentinel_quorum)], set });
  }
  return out;
}

/**
 * Each group's current master according to several sentinels' `SENTINEL MASTERS` replies (null for a sentinel
 * that failed or timed out): for each group the address with the highest `config-epoch`. Needs a majority
 * (n/2 + 1) of answers, else returns Codis's "lost majority (voted/n)" error.
 */
export function chooseSentinelMasters(
  product: string,
  replies: readonly (readonly Record<string, string>[] | null)[],
): { masters: Map<number, string> } | { error: string } {
  const majority = 1 + Math.floor(replies.length / 2);
  const best = new Map<number, { epoch: number; addr: string }>();
  let voted = 0;
  for (const reply of replies) {
    if (!reply) continue;
    voted++;
    for (const m of reply) {
      const gid = parseSentinelGroupName(product, m.name ?? "");
      if (gid === undefined || !m.ip || !m.port) continue;
      const epoch = Number(m["config-epoch"] ?? 0) || 0;
      const cur = best.get(gid);
      if (!cur || cur.epoch < epoch) best.set(gid, { epoch, addr: `${m.ip}:${m.port}` });
    }
  }
  if (voted < majority) return { error: `lost majority (${voted}/${replies.length})` };
  return { masters: new Map([...best].map(([gid, v]) => [gid, v.addr])) };
}

/**
 * Records a sentinel failover in the model (Codis's `trySwitchGroupMaster`): the server now master — found by
 * address, or by `runId` for an address seen under another name — moves to index 0 and the group becomes out of
 * sync. No writes when it already is index 0.
 */
export function switchGroupMaster(
  ctx: Context,
  gid: number,
  master: string,
  runId: (addr: string) => string | undefined = () => undefined,
): Write[] {
  const g = ctx.getGroup(gid);
  let index = g.servers.findIndex((x) => x.server === master);
  const rid = runId(master);
  if (index < 0 && rid) index = g.servers.findIndex((x) => runId(x.server) === rid);
  if (index < 0) throw new TopomError(`group-[${gid}] doesn't have server ${master} with runid = '${rid ?? ""}'`, 404);
  if (index === 0) return [];
  [g.servers[0], g.servers[index]] = [g.servers[index], g.servers[0]];
  return [{ kind: "group", group: { ...g, out_of_sync: true } }];
}

/** A `+switch-master` event of one of this product's groups: the sentinel now sees `to` as the master. */
export interface SwitchMasterEvent {
  name: string;
  gid: number;
  from: string;
  to: string;
}

/** What one `+switch-master` payload means to this product: an event, another product's master, or garbage. */
export type SwitchMasterParse = { event: SwitchMasterEvent } | { otherMaster: string } | { error: string };

const HOST = /^[A-Za-z0-9._:%\-]{1,255}$/;

function endpoint(host: string, port: string): string | undefined {
  if (!HOST.test(host) || !/^\d{1,5}$/.test(port)) return undefined;
  const p = Number(port);
  return p >= 1 && p <= 65535 ? `${host}:${p}` : undefined;
}

/**
 * Parses a `+switch-master` message, `<master-name> <old-ip> <old-port> <new-ip> <new-port>`. A name outside
 * this product is `otherMaster` (sentinels are often shared); anything not of that shape is an `error` whose
 * text quotes the payload escaped and cut short, so a log line stays one short line.
 */
export function parseSwitchMaster(product: string, payload: string): SwitchMasterParse {
  const parts = payload.split(" ");
  const bad = (why: string) => ({ error: `${why}: ${quotePayload(payload)}` });
  if (parts.length !== 5) return bad(`expected 5 fields, got ${parts.length}`);
  const [name, oldHost, oldPort, newHost, newPort] = parts;
  if (name === "") return bad("empty master name");
  const gid = parseSentinelGroupName(product, name);
  if (gid === undefined) return { otherMaster: quotePayload(name) };
  const from = endpoint(oldHost, oldPort);
  const to = endpoint(newHost, newPort);
  if (!from || !to) return bad("bad address");
  return { event: { name, gid, from, to } };
}

/** A payload fit for a log line: JSON-escaped, at most 120 characters of it. */
export function quotePayload(payload: string): string {
  const cut = payload.length > 120 ? payload.slice(0, 120) + "…" : payload;
  return JSON.stringify(cut);
}
