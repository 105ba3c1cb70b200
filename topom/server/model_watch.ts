/**
 * How a {@link Topom} keeps its {@link ModelCache} equal to the store: read the product's whole model once, then
 * follow the store's change feed from the read's revision. Every dashboard runs it, leader or not, so that any
 * of them can answer reads and long-polls.
 *
 * Each (re)start bumps a generation; a load or loop of an older generation stops applying anything. That is what
 * lets {@link ModelWatch.restart} replace a loop stuck in the store client's retry back-off (e.g. across a
 * leadership change) without waiting for it, and keeps an older event from landing over a fresher read.
 * @module
 */
import { CompactedError } from "../../store/errors.ts";
import { groupDir, productDir, proxyDir, sentinelPath, slotsDir } from "../../store/paths.ts";
import { logger } from "../../util/log.ts";
import { ModelCache } from "../model_cache.ts";
import { slotActionPath } from "../slot_action_settings.ts";
import { replicaGuardPath } from "../replica_guard_record.ts";
import type { Coordinator } from "./coord.ts";

const log = logger("topom");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The part of a Topom the watch reads and updates. */
export interface ModelWatchHost {
  readonly product: string;
  readonly coord: Coordinator;
  /** Once true, every loop ends. */
  readonly closed: boolean;
  /** Replaced by each full load; updated in place by each change. */
  cache: ModelCache;
  /** Raised to the revision of every change to slots, groups or the sentinel (what proxies follow). */
  routingRevision: number;
}

/** Loads and follows one product's model for its host; see the module documentation. */
export class ModelWatch {
  #ac = new AbortController();
  #gen = 0;
  readonly #loops = new Set<Promise<void>>();

  /** `changed` runs after every batch of applied changes (wake long-polls, schedule a pass). */
  constructor(private readonly host: ModelWatchHost, private readonly changed: () => void) {}

  /**
   * Stops following the store, reads everything, and follows again from the read's revision. Restarting the
   * watch with the load keeps an older event from being applied over a fresher read, and replaces a long-poll
   * that may be stuck behind a leadership change.
   */
  async restart(): Promise<void> {
    // The old loop may sit in the store client's retry back-off for seconds: do not wait for it, just make it
    // stop applying (its generation is no longer current).
    this.#ac.abort();
    this.#ac = new AbortController();
    const gen = ++this.#gen;
    const rev = await this.#load(gen);
    if (gen !== this.#gen) return;
    const done = this.#loop(rev, this.#ac.signal, gen);
    this.#loops.add(done);
    done.finally(() => this.#loops.delete(done));
  }

  /** Aborts the current loop's long-poll (the host being closed ends it for good). */
  stop(): void {
    this.#ac.abort();
  }

  /** Resolves when every loop started so far has ended (unbounded: a caller that must not hang races it). */
  ended(): Promise<unknown> {
    return Promise.all([...this.#loops]);
  }

  /** Reads the whole model; installs it only while watch generation `gen` is current. */
  async #load(gen: number): Promise<number> {
    const { product } = this.host;
    const c = this.host.coord.client;
    const rev = await c.revision();
    const fresh = new ModelCache(product);
    for (const dir of [slotsDir(product), groupDir(product), proxyDir(product)]) {
      const paths = await c.list(dir);
      const nodes = await Promise.all(paths.map((p) => c.read(p)));
      fresh.load(nodes.filter((n) => n !== undefined));
    }
    for (const path of [sentinelPath(product), slotActionPath(product), replicaGuardPath(product)]) {
      const n = await c.read(path);
      if (n) fresh.load([n]);
    }
    fresh.load([], rev);
    let routing = fresh.sentinelRevision();
    for (let sid = 0; sid < 1024; sid++) routing = Math.max(routing, fresh.slotRevision(sid));
    for (const g of fresh.model().groups) routing = Math.max(routing, fresh.groupRevision(g.id));
    if (gen !== this.#gen) return rev;
    this.host.cache = fresh;
    this.host.routingRevision = Math.max(this.host.routingRevision, routing);
    return rev;
  }

  async #loop(after: number, signal: AbortSignal, gen: number): Promise<void> {
    const host = this.host;
    const prefix = productDir(host.product) + "/";
    const current = () => !signal.aborted && !host.closed && gen === this.#gen;
    while (current()) {
      try {
        const b = await host.coord.client.waitForChanges(prefix, after, 10_000, signal);
        if (!current()) break;
        for (const e of b.events) {
          if (host.cache.applyEvent(e) && host.cache.isRoutingPath(e.path)) {
            host.routingRevision = Math.max(host.routingRevision, e.revision);
          }
          after = Math.max(after, e.revision);
        }
        after = Math.max(after, b.revision);
        if (b.events.length > 0) this.changed();
      } catch (e) {
        if (!current()) break;
        if (e instanceof CompactedError) {
          let reloaded = true;
          after = await this.#load(gen).catch((err) => {
            log.debug(`watch: reload after compaction: ${(err as Error).message}`);
            reloaded = false;
            return after;
          });
          if (!current()) break;
          if (reloaded) this.changed();
          // A store that keeps refusing the reload must not turn this into a busy loop.
          else await sleep(200);
        } else {
          log.debug(`watch: ${(e as Error).message}`);
          await sleep(200);
        }
      }
    }
  }
}
