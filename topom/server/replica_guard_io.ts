/**
 * The I/O of {@link replicaGuardActions} (topom/replica_guard.ts): after each stats round of the active dashboard,
 * `replica-priority 0` on the replicas that have not synced, a returning master made a replica at once, the
 * priority given back once synced. The priorities to give back are stored (topom/replica_guard_record.ts) before the
 * 0 is set, so a dashboard that takes over after a leader change gives them back; a replica found at 0 that the
 * record does not list is left so (it may be an operator's choice), with a warning.
 * @module
 */
import { logger } from "../../util/log.ts";
import type { Context, Write } from "../context.ts";
import { replicaOf } from "../executor/mod.ts";
import { forgottenGuards, type GuardAction, replicaGuardActions, type SentinelView } from "../replica_guard.ts";
import type { RedisStats } from "../../models/mod.ts";
import { textOf } from "../../redis/decode.ts";
import { redisCall, redisCalls } from "./redis.ts";
import { replicaGuardWrites } from "../replica_guard_record.ts";

const log = logger("ha");

/** The guard's steps, and its record as this round sees it. */
export class ReplicaGuard {
  /** Servers set to `replica-priority 0` by the guard, with the priority to give back: the stored record as of this
   * round's model, plus this round's changes. */
  guarded: Map<string, string> = new Map();
  /** Servers found at priority 0 without our doing, warned about once. */
  readonly #warned = new Set<string>();
  /** Record writes, one at a time, each storing the record as it is when it runs: the last one stored is the latest. */
  #stored: Promise<void> = Promise.resolve();
  /** What the store holds, as of this round's model and the writes since. */
  #inStore: ReadonlyMap<string, string> = new Map();

  constructor(
    private readonly auth: () => string,
    private readonly write: (writes: readonly Write[]) => Promise<void>,
    private readonly timeoutMs = 1000,
  ) {}

  /** Stores {@link guarded} when it differs from the stored record. */
  #store(): Promise<void> {
    const next = this.#stored.then(async () => {
      const snapshot = new Map(this.guarded);
      await this.write(replicaGuardWrites(this.#inStore, snapshot));
      this.#inStore = snapshot;
    });
    this.#stored = next.catch(() => {});
    return next;
  }

  /** Decides and runs this round's steps from the stats round's answers. */
  async round(
    product: string,
    ctx: Context,
    servers: Readonly<Record<string, RedisStats>>,
    sentinels: Readonly<Record<string, RedisStats>>,
  ): Promise<void> {
    await this.#stored;
    this.guarded = new Map(ctx.replicaGuard);
    this.#inStore = ctx.replicaGuard;
    const forgotten = forgottenGuards(ctx, this.guarded);
    for (const addr of forgotten) this.guarded.delete(addr);
    if (forgotten.length > 0) await this.#store();
    const infos = new Map(Object.entries(servers).map(([addr, s]) => [addr, s.error ? undefined : s.stats]));
    const views: SentinelView[] = (ctx.sentinel.servers ?? []).map((a) => {
      const s = sentinels[a];
      return s && !s.error ? s.sentinel ?? {} : null;
    });
    const actions = replicaGuardActions(product, ctx, infos, views, this.guarded);
    await Promise.all(actions.map((a) => this.#run(a).catch((e) => log.warn(`group-[${a.gid}]: ${a.addr}: ${e}`))));
  }

  async #run(a: GuardAction): Promise<void> {
    if (a.kind === "restore") {
      const replies = await redisCalls(a.addr, this.auth(), [
        { args: ["CONFIG", "SET", "replica-priority", a.priority] },
        // Into its config file too, should a CONFIG REWRITE (REPLICAOF's, Sentinel's) have stored the 0 there: a
        // restart must not bring the 0 back without this memory. Best effort (no config file: nothing to fix).
        { args: ["CONFIG", "REWRITE"] },
      ], this.timeoutMs);
      if (replies[0] instanceof Error) throw replies[0];
      this.guarded.delete(a.addr);
      await this.#store();
      log.info(`group-[${a.gid}]: ${a.addr} has synced: replica-priority ${a.priority} again`);
      return;
    }
    if (a.kind === "repoint") {
      // REPLICAOF first: its CONFIG REWRITE then stores the priority the server had, not the guard's 0.
      log.warn(`group-[${a.gid}]: ${a.addr} ${a.why}, the sentinels know it as a replica: REPLICAOF ${a.master}`);
      await replicaOf(a.addr, a.master, this.auth(), { timeoutMs: 2000, killClients: true });
    }
    if (!this.guarded.has(a.addr)) await this.#guard(a.gid, a.addr, a.why);
  }

  async #guard(gid: number, addr: string, why: string): Promise<void> {
    const got = await redisCall(addr, this.auth(), ["CONFIG", "GET", "replica-priority"], 0, this.timeoutMs);
    const priority = Array.isArray(got) && got.length >= 2 ? textOf(got[1]) : "100";
    if (priority === "0") {
      if (!this.#warned.has(addr)) {
        this.#warned.add(addr);
        log.warn(`group-[${gid}]: ${addr} has replica-priority 0 (not set by this dashboard): left so`);
      }
      return;
    }
    // Stored first: a dashboard taking over between the two steps finds the priority to give back.
    this.guarded.set(addr, priority);
    await this.#store();
    await redisCall(addr, this.auth(), ["CONFIG", "SET", "replica-priority", "0"], 0, this.timeoutMs);
    log.warn(`group-[${gid}]: ${addr} ${why}: replica-priority 0 until it has synced (was ${priority})`);
  }
}
