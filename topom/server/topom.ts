/**
 * The Topom: one dashboard's live state. It loads the cluster model from the coordinator into a
 * {@link ModelCache} and follows the store's changes (model_watch.ts); the active dashboard (Raft leader or lock
 * holder) also runs the scheduler (slot steps through the proxy ack barrier, executors, promotions, sync actions),
 * records proxies' long-poll acknowledgements and polls stats. Followers keep the cache for reads.
 * @module
 */
import type { ProxyAckStats, TopomModel } from "../../models/mod.ts";
import { RevisionConflictError } from "../../store/errors.ts";
import { topomPath } from "../../store/paths.ts";
import { logger } from "../../util/log.ts";
import type { DashboardConfig } from "../config_keys.ts";
import { type Context, parseForwardMethod, type Write } from "../context.ts";
import { encodeJson, ModelCache, writeToOp } from "../model_cache.ts";
import { ModelWatch } from "./model_watch.ts";
import { type GuardedWrite, schedulerTick } from "../scheduler.ts";
import { checkResumable } from "../slot_actions.ts";
import { fencedAcks, type LeaseFence } from "../proxy_lease.ts";
import { ExecutorRuns } from "../executor/runs.ts";
import type { Coordinator } from "./coord.ts";
import type { SlotExecutor } from "../executor/slot_executor.ts";
import { runPromotion, SyncActions } from "./group_actions.ts";
import { SentinelHa, topomHaHost } from "./ha.ts";
import { loadLeaseFences, storeLeaseFences } from "./lease_fences.ts";
import { StatsPoller } from "./stats.ts";

const log = logger("topom");

/** Options of a {@link Topom}. */
export interface TopomOptions {
  config: DashboardConfig;
  coord: Coordinator;
  model: TopomModel;
  executor: SlotExecutor;
  /** Scheduler period (ms); it also runs on every model change and acknowledgement. Default 50. */
  tickMs?: number;
  /** Stats polling period (ms). Default 1000. */
  statsMs?: number;
}

/** The dashboard's state and loops. */
export class Topom {
  readonly config: DashboardConfig;
  readonly coord: Coordinator;
  readonly model: TopomModel;
  readonly executor: SlotExecutor;
  readonly stats: StatsPoller;
  /** Follows sentinel failovers while active (`+switch-master` subscriptions and a slow poll). */
  readonly ha: SentinelHa;
  cache: ModelCache;
  /** Revision of the last change to slots, groups or the sentinel: what proxies follow. */
  routingRevision = 0;
  /** Per proxy token: the revision it reported applied, and when. */
  readonly acks = new Map<string, ProxyAckStats>();
  /** Removed proxies whose dashboard lease may not have run out yet: the scheduler still waits for them. */
  readonly leaseFences = new Map<string, LeaseFence>();
  /** Last scheduler view, for stats: slot id → proxies holding it; group id → proxies holding its promotion. */
  holders: Record<number, string[]> = {};
  promoteHolders: Record<number, string[]> = {};
  lastProgress = "";
  /** Set once the model is loaded: until then the API answers 503 (but the store and Raft routes work). */
  ready = false;
  readonly #tickMs: number;
  readonly #waiters = new Set<() => void>();
  readonly #runs: ExecutorRuns;
  #lock: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #doneTimer: ReturnType<typeof setInterval> | undefined;
  readonly #stepAt = new Map<number, number>();
  /** Proxies whose next long-poll answer carries every slot (`proxy/reinit`). */
  readonly reinitPending = new Set<string>();
  readonly sync = new SyncActions(this);
  #ticking = false;
  #again = false;
  #wasLeader = false;
  /** Keeps {@link cache} equal to the store. */
  readonly #watch = new ModelWatch(this, () => this.#notify());
  #closed = false;
  /** API writes in progress: long-polls wait for them to complete. */
  #writing = 0;

  constructor(opts: TopomOptions) {
    this.config = opts.config;
    this.coord = opts.coord;
    this.model = opts.model;
    this.executor = opts.executor;
    this.#runs = new ExecutorRuns(opts.executor);
    this.cache = new ModelCache(opts.config.product_name);
    this.#tickMs = opts.tickMs ?? 50;
    this.stats = new StatsPoller(this, opts.statsMs ?? 1000);
    this.ha = new SentinelHa(topomHaHost(this), { pollMs: opts.config.sentinel_poll_period });
  }

  get product(): string {
    return this.config.product_name;
  }

  /** `slots/action/interval` (µs), as stored in the product's `slot-action` node (followed like the model). */
  get interval(): number {
    return this.cache.slotAction().interval;
  }

  /** `slots/action/disabled`, as stored in the product's `slot-action` node. */
  get disabled(): boolean {
    return this.cache.slotAction().disabled;
  }

  /** API writes in progress (long-polls wait for them). */
  get writing(): number {
    return this.#writing;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Loads the model, then follows changes and starts the loops. */
  async start(): Promise<void> {
    await this.#watch.restart();
    this.ready = true;
    this.coord.onChange(() => this.kick());
    this.#timer = setInterval(() => this.kick(), this.#tickMs);
    // The executor has no completion callback: look for finished slots often (a map lookup each), so that
    // `migrating → finished` does not wait for the next full scheduler pass.
    this.#doneTimer = setInterval(() => {
      if (this.#runs.newlyDone()) this.kick();
    }, 5);
    this.stats.start();
    this.ha.start();
    this.kick();
  }

  /** Stops the loops and wakes every long-poll. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#doneTimer);
    this.#watch.stop();
    this.stats.stop();
    const haClosed = this.ha.close();
    this.#notify();
    // Bounded: a loop stuck in the store client's back-off ends on its own.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#watch.ended(),
      new Promise((r) => timer = setTimeout(r, 1000)),
    ]);
    clearTimeout(timer);
    await Promise.race([this.#lock.catch(() => {}), new Promise((r) => timer = setTimeout(r, 2000))]);
    clearTimeout(timer);
    await haClosed;
    await this.executor.close();
  }

  /** Whether this dashboard is the active one. */
  isLeader(): boolean {
    return this.coord.isLeader();
  }

  /** A context over the current model. */
  context(): Context {
    return this.cache.context({ forwardMethod: parseForwardMethod(this.config.migration_method) });
  }

  /** Runs `fn` with the model lock held (API mutations and scheduler passes never interleave). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Drops the cache and reads everything again (`reload`); call it with the model lock held ({@link exclusive}). */
  async reload(): Promise<void> {
    await this.#watch.restart();
    this.#notify();
  }

  #notify(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
    this.kick();
  }

  /** Waits for the next model change or acknowledgement, at most `ms`. */
  waitChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(t);
        this.#waiters.delete(finish);
        signal?.removeEventListener("abort", finish);
        resolve();
      };
      const t = setTimeout(finish, ms);
      this.#waiters.add(finish);
      signal?.addEventListener("abort", finish, { once: true });
      if (this.#closed) finish();
    });
  }

  /** Waits until the cache has applied `revision` (at most 5 s). */
  async waitApplied(revision: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while (this.cache.revision < revision && Date.now() < deadline && !this.#closed) {
      await this.waitChange(deadline - Date.now());
    }
  }

  /**
   * Stores `writes` in order and waits until the cache reflects them. Consecutive slot writes are independent
   * nodes and go out in parallel chunks. Long-polls do not answer until the whole list is stored, so a proxy
   * never sees half of one operation.
   */
  async write(writes: readonly Write[]): Promise<void> {
    if (writes.length === 0) return;
    let rev = 0;
    const put = async (w: Write) => {
      const op = writeToOp(this.product, w);
      const r = op.op === "put"
        ? await this.coord.client.update(op.path, op.data)
        : await this.coord.client.delete(op.path);
      rev = Math.max(rev, r);
    };
    this.#writing++;
    try {
      for (let i = 0; i < writes.length;) {
        let j = i + 1;
        if (writes[i].kind === "slot") { while (j < writes.length && j - i < 128 && writes[j].kind === "slot") j++; }
        await Promise.all(writes.slice(i, j).map(put));
        i = j;
      }
      if (rev) await this.waitApplied(rev);
    } finally {
      this.#writing--;
      this.#notify();
    }
  }

  /** Stores one write if its node is still at the expected revision; false when someone changed it. */
  async casWrite(g: GuardedWrite): Promise<boolean> {
    const op = writeToOp(this.product, g.write);
    try {
      const rev = await this.coord.client.cas(op.path, op.op === "put" ? op.data : null, g.expectRevision);
      await this.waitApplied(rev);
      return true;
    } catch (e) {
      if (e instanceof RevisionConflictError) return false;
      throw e;
    }
  }

  /**
   * `slots/action/resume`: runs slot `sid`'s paused move again (after the operator fixed the cause). Call it on the
   * active dashboard with the model lock held ({@link exclusive}); throws TopomError when the slot is not paused.
   */
  resumeSlot(sid: number): void {
    const m = this.context().getSlotMapping(sid);
    checkResumable(m, this.executor.progress(sid), this.disabled);
    log.info(`slot-[${sid}] resumed by the operator`);
    this.executor.resume(sid);
    this.#runs.resumed(sid);
    this.lastProgress = `[OK] Slot[${String(sid).padStart(4, "0")}] resumed`;
    this.kick();
  }

  /** `proxy/reinit`: the proxy's next (or pending) poll gets every slot. */
  reinitProxy(token: string): void {
    this.reinitPending.add(token);
    this.#notify();
  }

  /** Records a proxy's acknowledgement (its long-poll's `applied`). */
  ack(token: string, revision: number): void {
    const old = this.acks.get(token);
    if (!old || old.revision !== revision) log.debug(`proxy-[${token}] applied ${revision}`);
    this.acks.set(token, { revision: Math.max(0, revision), last_seen: Date.now() });
    if (!old || old.revision !== revision) this.kick();
  }

  /** Asks for a scheduler pass soon (coalesced). */
  kick(): void {
    if (this.#closed) return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    this.#ticking = true;
    (async () => {
      try {
        do {
          this.#again = false;
          await this.exclusive(() => this.#tick());
        } while (this.#again && !this.#closed);
      } catch (e) {
        log.warn(`scheduler: ${(e as Error).message}`);
      } finally {
        this.#ticking = false;
      }
    })();
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    if (!this.isLeader()) {
      if (this.#wasLeader) {
        log.info("lost leadership: stopping executors");
        this.#wasLeader = false;
        this.#runs.stopAll();
      }
      return;
    }
    if (!this.#wasLeader) {
      log.info(`active dashboard at ${this.model.admin_addr}; resuming from revision ${this.cache.revision}`);
      const t0 = performance.now();
      await this.reload();
      log.debug(`model reloaded in ${(performance.now() - t0).toFixed(0)} ms, revision ${this.cache.revision}`);
      await this.sync.requeue();
      await loadLeaseFences(this);
      // Only now: a reload or requeue that failed is tried again on the next tick, not skipped for the whole term.
      this.#wasLeader = true;
      if (this.coord.kind === "raft") {
        await this.coord.client.update(topomPath(this.product), encodeJson(this.model)).catch(() => 0);
      }
    }
    const ctx = this.context();
    const acks = [...ctx.proxies.keys()].map((token) => ({ token, revision: this.acks.get(token)?.revision ?? 0 }));
    const fenced = fencedAcks(this.leaseFences.values(), performance.now());
    for (const token of fenced.ended) {
      log.info(`proxy-[${token}] was removed and its dashboard lease has run out: no longer waited for`);
      this.leaseFences.delete(token);
    }
    if (fenced.ended.length > 0) await storeLeaseFences(this);
    for (const a of fenced.acks) if (!ctx.proxies.has(a.token)) acks.push(a);
    const plan = schedulerTick(ctx, {
      parallel: this.config.migration_parallel_slots,
      disabled: this.disabled,
      acks,
      slotRevision: (sid) => this.cache.slotRevision(sid),
      groupRevision: (gid) => this.cache.groupRevision(gid),
      executorDone: (sid) => this.executor.done(sid),
    });
    this.holders = plan.holders;
    this.promoteHolders = plan.promoteHolders;
    const progress = this.#runs.apply(ctx, plan.blockedExecutors, plan.runExecutors);
    if (progress !== undefined) this.lastProgress = progress;
    const now = Date.now();
    for (const w of plan.slotWrites) {
      if (w.write.kind === "slot") {
        // slots/action/interval: the least time between two steps of one slot.
        const sid = w.write.slot.id;
        if (this.interval > 0 && now - (this.#stepAt.get(sid) ?? 0) < this.interval / 1000) continue;
        if (this.interval > 0) this.#stepAt.set(sid, now);
        else this.#stepAt.delete(sid);
        const s = w.write.slot;
        this.lastProgress = `[OK] Slot[${String(s.id).padStart(4, "0")}] ${s.action.state || "done"}`;
        log.debug(`slot-[${s.id}] → ${s.action.state || "done"}`);
      }
      await this.casWrite(w);
    }
    for (const p of plan.promotions) await runPromotion(this, ctx, p);
    await this.sync.startNext(ctx);
  }
}
