/**
 * Following sentinel failovers (Codis's dashboard side of `+switch-master`). While this dashboard is the active
 * one, it holds one SUBSCRIBE connection per sentinel of the model ({@link SentinelSubscriber}). A `+switch-master`
 * of one of this product's groups — or a (re)subscription, which may have missed one — triggers a check: ask every
 * sentinel for this product's masters and, when a majority answered, move each group's master (highest
 * config-epoch) to index 0. Proxies learn the new master by long-poll, since the group's node changed. The same
 * check also runs every `sentinel_poll_period`, as a safety net for a missed event. The event only says that
 * something changed: the model follows the majority query, as Codis does, never one sentinel's word.
 * @module
 */
import { logger } from "../../util/log.ts";
import { chooseSentinelMasters, parseSwitchMaster, sentinelMonitorPlan, switchGroupMaster } from "../sentinel_plan.ts";
import { screenSentinelReports, type StaleReport } from "../sentinel_staleness.ts";
import { sentinelFenceEpochs } from "../sentinel_fence.ts";
import type { SwitchHost } from "./host.ts";
import type { Topom } from "./topom.ts";
import { resyncSentinelGroup, sentinelMasters } from "./sentinel_io.ts";
import { parseInfo, redisCall } from "./redis.ts";
import { textOf } from "../../redis/decode.ts";
import { SentinelSubscriber, type SubscriberHandlers } from "./sentinel_subscriber.ts";
import { holdGroupForSwitch } from "./switch_barrier.ts";
import { cloneGroup } from "../context.ts";

const log = logger("ha");

/**
 * Applies the masters reported by the sentinels (`null` for one that did not answer). Returns false when fewer
 * than a majority answered (nothing is changed then). `asked` is each group's master when the sentinels were
 * asked: a group whose master changed since (a manual promotion finished while a slow sentinel answered) is left
 * alone, since the answers predate that change.
 */
export async function followSentinelMasters(
  t: SwitchHost,
  replies: readonly (readonly Record<string, string>[] | null)[],
  asked?: ReadonlyMap<number, string>,
): Promise<boolean> {
  if (replies.length === 0) return true;
  const chosen = chooseSentinelMasters(t.product, replies);
  if ("error" in chosen) {
    log.debug(`sentinels: ${chosen.error}`);
    return false;
  }
  const runIds = await unnamedRunIds(t, chosen.masters);
  await t.exclusive(async () => {
    if (!t.isLeader() || t.closed) return;
    const ctx = t.context();
    for (const [gid, addr] of chosen.masters) {
      const g = ctx.groups.get(gid);
      if (!g || g.promoting.state || g.servers.length === 0 || g.servers[0].server === addr) continue;
      if (asked && asked.get(gid) !== g.servers[0].server) {
        log.debug(`group-[${gid}]: master changed while the sentinels were asked; left to the next check`);
        continue;
      }
      try {
        const before = cloneGroup(g);
        const writes = switchGroupMaster(ctx, gid, addr, (a) => runIds.get(a));
        const switched = writes.find((w) => w.kind === "group");
        if (switched && switched.kind === "group") {
          log.warn(`group-[${gid}]: sentinels report master ${addr} (was ${before.servers[0].server}); switching`);
          const newIndex = before.servers.findIndex((x) => x.server === switched.group.servers[0].server);
          await holdGroupForSwitch(t, before, newIndex);
          await t.write(writes);
        }
      } catch (e) {
        log.warn(`group-[${gid}]: ${(e as Error).message}`);
      }
    }
  });
  return true;
}

/**
 * Sentinels report masters by IP, while the model may name a server by host (`localhost:6379`, which resyncs
 * monitor as `127.0.0.1:6379`). For each reported master the model does not hold by that name, the `run_id`s of
 * it and of its group's servers (Codis matches them the same way); servers that do not answer are left out.
 */
async function unnamedRunIds(t: SwitchHost, masters: ReadonlyMap<number, string>): Promise<Map<string, string>> {
  const ctx = t.context();
  const addrs = new Set<string>();
  for (const [gid, addr] of masters) {
    const g = ctx.groups.get(gid);
    if (!g || g.promoting.state || g.servers.some((x) => x.server === addr)) continue;
    addrs.add(addr);
    for (const x of g.servers) addrs.add(x.server);
  }
  const out = new Map<string, string>();
  await Promise.all([...addrs].map(async (a) => {
    try {
      const id = parseInfo(textOf(await redisCall(a, t.config.product_auth, ["INFO", "server"], 0, 1000))).run_id;
      if (id) out.set(a, id);
    } catch { /* down or unreachable: it cannot be the new master's other name */ }
  }));
  return out;
}

/**
 * Each promise's value, or null for one that failed or is still pending once a majority has settled and `graceMs`
 * more have passed: a sentinel that stopped answering (its query runs into the timeout) does not hold up a switch
 * that the others already agree on. Waits for all of them until a majority has settled.
 */
export function gatherMajority<T>(ps: readonly Promise<T>[], graceMs: number): Promise<(T | null)[]> {
  const out: (T | null)[] = ps.map(() => null);
  if (ps.length === 0) return Promise.resolve(out);
  const majority = 1 + Math.floor(ps.length / 2);
  return new Promise((resolve) => {
    let settled = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(timer);
      resolve(out.slice());
    };
    ps.forEach((p, i) => {
      p.then((v) => out[i] = v, () => {}).finally(() => {
        settled++;
        if (settled === ps.length) done();
        else if (settled === majority) timer = setTimeout(done, graceMs);
      });
    });
  });
}

/** What {@link SentinelHa} needs from the dashboard (a {@link Topom} through {@link topomHaHost}). */
export interface HaHost {
  readonly product: string;
  /** Name of the subscription connections on the sentinels (`CLIENT LIST`). */
  readonly clientName?: string;
  /** This dashboard is the active one and not closing. */
  active(): boolean;
  /** The sentinels of the model. */
  sentinels(): readonly string[];
  /** Whether the model has group `gid` (an event for any other is ignored). */
  hasGroup(gid: number): boolean;
  /** Asks every sentinel and applies the masters; false when no majority answered. */
  check(): Promise<boolean>;
}

/**
 * Re-syncs each stale report's group on its sentinel before anything follows the sentinels: `SENTINEL REMOVE` (as
 * the promotion did on the others), and MONITOR of the model's master when the sentinel list is in sync.
 */
async function resyncStale(t: Topom, addrs: readonly string[], stale: readonly StaleReport[]): Promise<void> {
  if (stale.length === 0) return;
  const ctx = t.context();
  const inSync = !ctx.sentinel.out_of_sync;
  let plan: ReturnType<typeof sentinelMonitorPlan> = [];
  try {
    if (inSync) plan = sentinelMonitorPlan(ctx, t.config);
  } catch (e) {
    log.warn(`sentinels: ${(e as Error).message}`);
  }
  await Promise.all(stale.map(async (s) => {
    const addr = addrs[s.sentinel];
    const monitor = plan.find((m) => m.gid === s.gid);
    log.warn(
      `sentinel-[${addr}]: reports ${s.name} master ${s.reported} (config-epoch ${s.epoch}), older than the model's ` +
        `${ctx.getGroupMasters().get(s.gid)}: not followed; SENTINEL REMOVE${monitor ? " and MONITOR again" : ""}`,
    );
    await resyncSentinelGroup(addr, s.name, monitor).catch((e) => log.warn((e as Error).message));
  }));
}

/** The {@link HaHost} of a Topom: sentinel queries bounded by `sentinel_client_timeout` (at most 5 s). */
export function topomHaHost(t: Topom): HaHost {
  let memo: { cache: unknown; rev: number; servers: readonly string[] } | undefined;
  /** Per group, the config-epoch of the sentinels' last view that agreed with the model (see sentinel_staleness.ts). */
  let agreedEpochs = new Map<number, number>();
  /** The sentinel list the epochs were learnt on: other sentinels, or a resync (epochs start over), forget them. */
  let learntOn = "";
  const timeoutMs = () => Math.min(t.config.sentinel_client_timeout, 5000);
  return {
    product: t.product,
    clientName: `codis-dashboard:${t.model.admin_addr}`,
    active: () => t.isLeader() && !t.closed && t.ready,
    sentinels() {
      // The model is copied to read it: do so only when the sentinel node changed.
      const rev = t.cache.sentinelRevision();
      if (memo?.cache !== t.cache || memo.rev !== rev) {
        memo = { cache: t.cache, rev, servers: [...(t.cache.model().sentinel?.servers ?? [])] };
      }
      return memo.servers;
    },
    hasGroup: (gid) => t.context().groups.has(gid),
    async check() {
      const addrs = [...this.sentinels()];
      if (addrs.length === 0) return true;
      const ctx = t.context();
      const asked = ctx.getGroupMasters();
      const list = `${addrs.join(",")} ${ctx.sentinel.out_of_sync ? "out of sync" : "in sync"}`;
      if (list !== learntOn && !(learntOn.startsWith(addrs.join(",") + " ") && ctx.sentinel.out_of_sync)) {
        agreedEpochs = new Map();
      }
      learntOn = list;
      const replies = await gatherMajority(addrs.map((a) => sentinelMasters(a, t.product, timeoutMs())), 200);
      const fences = sentinelFenceEpochs(ctx.groups.values());
      const screened = screenSentinelReports(t.product, asked, replies, agreedEpochs, fences);
      agreedEpochs = screened.agreedEpochs;
      await resyncStale(t, addrs, screened.stale);
      return await followSentinelMasters(t, screened.replies, asked);
    },
  };
}

/** Timings of {@link SentinelHa} (ms). */
export interface HaOptions {
  /** Safety-net poll period (`sentinel_poll_period`). */
  pollMs: number;
  /** How often the wanted subscriptions (leadership, the model's sentinels) are compared with the open ones. */
  reconcileMs?: number;
  /** After an event whose check found no majority: retries, this far apart. */
  retryMs?: number;
  retries?: number;
  /** Subscriber connect / reply timeout. */
  timeoutMs?: number;
  /** Opens a subscription (tests pass a fake). */
  subscribe?: (addr: string, h: SubscriberHandlers) => { close(): void };
}

/** The event-driven HA loop of the active dashboard. */
export class SentinelHa {
  readonly #host: HaHost;
  readonly #opts: Required<Omit<HaOptions, "subscribe">>;
  readonly #subscribe: (addr: string, h: SubscriberHandlers) => { close(): void };
  readonly #subs = new Map<string, { close(): void }>();
  /** Sentinels whose connection is down, so that only the first failure of a run is a warning. */
  readonly #down = new Set<string>();
  #reconcileTimer: ReturnType<typeof setInterval> | undefined;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retriesLeft = 0;
  #checking: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** Checks started, for tests and stats. */
  checks = 0;

  constructor(host: HaHost, opts: HaOptions) {
    this.#host = host;
    this.#opts = {
      pollMs: opts.pollMs > 0 ? opts.pollMs : 10_000,
      reconcileMs: opts.reconcileMs ?? 200,
      retryMs: opts.retryMs ?? 1000,
      retries: opts.retries ?? 5,
      timeoutMs: opts.timeoutMs ?? 2000,
    };
    this.#subscribe = opts.subscribe ??
      ((addr, h) => new SentinelSubscriber(addr, h, { timeoutMs: this.#opts.timeoutMs, clientName: host.clientName }));
  }

  /** The sentinels with an open subscription (connected or reconnecting). */
  get subscribed(): string[] {
    return [...this.#subs.keys()];
  }

  /** Starts following: subscriptions now (when active), the safety-net poll every `pollMs`. */
  start(): void {
    if (this.#closed || this.#reconcileTimer !== undefined) return;
    this.#reconcileTimer = setInterval(() => this.reconcile(), this.#opts.reconcileMs);
    this.#pollTimer = setInterval(() => this.#trigger("poll", false), this.#opts.pollMs);
    this.reconcile();
  }

  /** Opens and closes subscriptions to match the model's sentinels while active, none otherwise. */
  reconcile(): void {
    if (this.#closed) return;
    const active = this.#host.active();
    const want = new Set(active ? this.#host.sentinels() : []);
    for (const [addr, sub] of this.#subs) {
      if (want.has(addr)) continue;
      sub.close();
      this.#subs.delete(addr);
      this.#down.delete(addr);
      log.info(`sentinel-[${addr}]: unsubscribed (${active ? "removed from the model" : "not the active dashboard"})`);
    }
    for (const addr of want) {
      if (!this.#subs.has(addr)) this.#subs.set(addr, this.#subscribe(addr, this.#handlers));
    }
    if (!active) this.#stopRetries();
  }

  /** Stops everything: subscriptions, timers; waits (at most 1 s) for a check in progress. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#reconcileTimer);
    clearInterval(this.#pollTimer);
    this.#stopRetries();
    for (const sub of this.#subs.values()) sub.close();
    this.#subs.clear();
    if (this.#checking) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#checking, new Promise((r) => timer = setTimeout(r, 1000))]);
      clearTimeout(timer);
    }
  }

  readonly #handlers: SubscriberHandlers = {
    onSubscribed: (addr) => {
      if (this.#down.delete(addr)) log.info(`sentinel-[${addr}]: subscribed again`);
      else log.debug(`sentinel-[${addr}]: subscribed`);
      // Events may have been missed while not subscribed.
      this.#trigger(`subscribed to ${addr}`, false);
    },
    onMessage: (addr, channel, payload) => this.onEvent(addr, channel, payload),
    onMalformed: (addr, why) => log.warn(`sentinel-[${addr}]: ignoring a frame: ${why}`),
    onDown: (addr, reason) => {
      if (this.#down.has(addr)) return log.debug(`sentinel-[${addr}]: still down: ${reason}`);
      this.#down.add(addr);
      log.warn(`sentinel-[${addr}]: subscription lost (${reason}); reconnecting`);
    },
  };

  /** Handles one message from sentinel `addr` (public for tests). */
  onEvent(addr: string, channel: string, payload: string): void {
    if (this.#closed || channel !== "+switch-master" || !this.#host.active()) return;
    const p = parseSwitchMaster(this.#host.product, payload);
    if ("error" in p) return log.warn(`sentinel-[${addr}]: ignoring malformed +switch-master: ${p.error}`);
    if ("otherMaster" in p) return log.debug(`sentinel-[${addr}]: +switch-master of ${p.otherMaster}: not ours`);
    const e = p.event;
    if (!this.#host.hasGroup(e.gid)) {
      return log.warn(`sentinel-[${addr}]: ignoring +switch-master of ${e.name}: no group-[${e.gid}] in the model`);
    }
    log.warn(`sentinel-[${addr}]: +switch-master ${e.name} ${e.from} → ${e.to}`);
    this.#trigger(`+switch-master from ${addr}`, true);
  }

  /** Runs a check now, or once more after the one in progress (checks coalesce). */
  #trigger(why: string, retry: boolean): void {
    if (this.#closed || !this.#host.active()) return;
    if (retry) this.#retriesLeft = this.#opts.retries;
    if (this.#checking) {
      this.#again = true;
      return;
    }
    this.#checking = (async () => {
      try {
        do {
          this.#again = false;
          if (this.#closed || !this.#host.active()) break;
          this.checks++;
          log.debug(`check (${why})`);
          const ok = await this.#host.check().catch((e) => {
            log.warn(`sentinels: ${(e as Error).message}`);
            return false;
          });
          if (!ok && this.#retriesLeft > 0) this.#scheduleRetry();
          if (ok) this.#stopRetries();
        } while (this.#again);
      } finally {
        this.#checking = undefined;
      }
    })();
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retriesLeft--;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#trigger("retry", false);
    }, this.#opts.retryMs);
  }

  #stopRetries(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#retriesLeft = 0;
  }
}
