/**
 * Stats of the active dashboard (Codis's `topom_stats.go`): every second, each proxy's `GET /api/proxy/stats`
 * and each group server's `INFO` + `maxmemory`, in parallel with a 1 s timeout; and the Stats JSON, with our
 * additions (per-proxy acknowledged revision and last_seen, per-slot action progress and holders).
 * @module
 */
import type { ProxyStats, RedisStats, SlotActionProgress, TopomStats } from "../../models/mod.ts";
import { ProxyAdminClient } from "./proxy_client.ts";
import type { StatsHost } from "./host.ts";
import { logger } from "../../util/log.ts";
import { serverInfo } from "./redis.ts";
import { sentinelInfo, sentinelMonitored } from "./sentinel_io.ts";
import { groupsWithLostMaster } from "../master_loss.ts";
import { promoteLostMasters } from "./promote_io.ts";
import { ReplicaGuard } from "./replica_guard_io.ts";

const log = logger("stats");

/** Polls proxies and servers while this dashboard is active, and assembles the Stats JSON. */
export class StatsPoller {
  proxies: Record<string, ProxyStats> = {};
  servers: Record<string, RedisStats> = {};
  sentinels: Record<string, RedisStats> = {};
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;
  /** Masters seen down, and since when (promote_after_master_down). */
  readonly #downSince = new Map<string, number>();
  /** Keeps Sentinel from promoting a replica that has not synced (products with sentinels). */
  readonly replicaGuard: ReplicaGuard;

  constructor(private readonly t: StatsHost, private readonly periodMs: number) {
    this.replicaGuard = new ReplicaGuard(() => t.config.product_auth, (w) => t.write(w), Math.min(1000, periodMs));
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#busy || !this.t.isLeader()) return;
      this.#busy = true;
      this.poll().catch((e) => log.debug(`stats: ${(e as Error).message}`)).finally(() => this.#busy = false);
    }, this.periodMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One round of polling. */
  async poll(): Promise<void> {
    const ctx = this.t.context();
    const cfg = this.t.config;
    const timeoutMs = Math.min(1000, this.periodMs);
    const unixtime = () => Math.floor(Date.now() / 1000);
    const err = (e: unknown) => ({ Cause: (e as Error).message ?? String(e), Stack: [] as string[] });
    const proxies: Record<string, ProxyStats> = {};
    const servers: Record<string, RedisStats> = {};
    const sentinels: Record<string, RedisStats> = {};
    await Promise.all([
      ...(ctx.sentinel.servers ?? []).map(async (addr) => {
        try {
          const [stats, sentinel] = await Promise.all([
            sentinelInfo(addr, timeoutMs),
            sentinelMonitored(addr, cfg.product_name, timeoutMs),
          ]);
          sentinels[addr] = { stats, sentinel, unixtime: unixtime() };
        } catch (e) {
          const timeout = /timed out/.test((e as Error).message);
          sentinels[addr] = { error: err(e), unixtime: unixtime(), ...(timeout ? { timeout } : {}) };
        }
      }),
      ...[...ctx.proxies.values()].map(async (p) => {
        const c = new ProxyAdminClient(p.admin_addr, {
          productName: cfg.product_name,
          productAuth: cfg.product_auth,
          timeoutMs,
        });
        c.setToken(p.token);
        try {
          proxies[p.token] = { stats: await c.stats(), unixtime: unixtime() };
        } catch (e) {
          const timeout = /timed out/.test((e as Error).message);
          proxies[p.token] = { error: err(e), unixtime: unixtime(), ...(timeout ? { timeout } : {}) };
        }
      }),
      ...[...ctx.groups.values()].flatMap((g) => g.servers).map(async (x) => {
        try {
          servers[x.server] = { stats: await serverInfo(x.server, cfg.product_auth, timeoutMs), unixtime: unixtime() };
        } catch (e) {
          const timeout = /timed out/.test((e as Error).message);
          servers[x.server] = { error: err(e), unixtime: unixtime(), ...(timeout ? { timeout } : {}) };
        }
      }),
    ]);
    this.proxies = proxies;
    this.servers = servers;
    this.sentinels = sentinels;
    if (this.t.isLeader() && !this.t.closed) await this.replicaGuard.round(this.t.product, ctx, servers, sentinels);
    const answered = new Map(Object.entries(servers).map(([addr, s]) => [addr, s.error === undefined]));
    const lost = groupsWithLostMaster(ctx, answered, this.#downSince, Date.now(), cfg.promote_after_master_down);
    if (lost.length > 0) {
      await promoteLostMasters(this.t, lost);
      for (const gid of lost) this.#downSince.delete(ctx.groups.get(gid)?.servers[0]?.server ?? "");
    }
  }

  /** The Stats JSON (`GET /topom/stats`, `/api/topom/stats/:xauth`). */
  json(): TopomStats {
    const t = this.t;
    const m = t.cache.model();
    const acks: Record<string, { revision: number; last_seen: number }> = {};
    for (const p of m.proxies) {
      const a = t.acks.get(p.token);
      acks[p.token] = a ? { ...a } : { revision: 0, last_seen: 0 };
    }
    const slots: Record<string, SlotActionProgress> = {};
    for (const s of m.slots) {
      if (!s.action.state) continue;
      // `paused` is ours: the move stopped on a key and waits for slots/action/resume.
      const p: SlotActionProgress & { paused?: boolean } = { state: s.action.state };
      const ex = s.action.state === "migrating" ? t.executor.progress(s.id) : undefined;
      if (ex?.keys_left !== undefined) p.keys_left = ex.keys_left;
      if (ex?.keys_per_sec !== undefined) p.keys_per_sec = ex.keys_per_sec;
      if (ex?.error) p.error = ex.error;
      if (ex?.paused) p.paused = true;
      if (t.holders[s.id]?.length) p.held_by = [...t.holders[s.id]];
      slots[String(s.id)] = p;
    }
    // Per group, the master address most sentinels agree on (from their last answers).
    const votes = new Map<string, Map<string, number>>();
    for (const st of Object.values(this.sentinels)) {
      for (const [name, info] of Object.entries(st.sentinel ?? {})) {
        const gid = name.slice(t.product.length + 1);
        const addr = `${info.master.ip}:${info.master.port}`;
        const v = votes.get(gid) ?? new Map<string, number>();
        v.set(addr, (v.get(addr) ?? 0) + 1);
        votes.set(gid, v);
      }
    }
    const masters: Record<string, string> = {};
    for (const [gid, v] of votes) masters[gid] = [...v.entries()].sort((a, b) => b[1] - a[1])[0][0];
    return {
      closed: false,
      slots: m.slots,
      group: { models: m.groups, stats: pick(this.servers, m.groups.flatMap((g) => g.servers.map((x) => x.server))) },
      proxy: { models: m.proxies, stats: pick(this.proxies, m.proxies.map((p) => p.token)), acks },
      slot_action: {
        interval: t.interval,
        disabled: t.disabled,
        progress: { status: t.lastProgress },
        executor: t.executor.running(),
        slots,
      },
      sentinels: {
        model: m.sentinel ?? { servers: [], out_of_sync: false },
        stats: pick(this.sentinels, m.sentinel?.servers ?? []),
        masters,
      },
      revision: t.routingRevision,
    };
  }
}

function pick<T>(all: Record<string, T>, keys: string[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of keys) if (all[k] !== undefined) out[k] = all[k];
  return out;
}
