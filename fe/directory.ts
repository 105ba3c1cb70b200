/**
 * The FE's map from product name to its dashboards' admin addresses, loaded from one source (a JSON list file,
 * a store, or the dashboards themselves) and reloaded at most every 5 s, as Codis's FE does.
 * @module
 */
import { logger } from "../util/log.ts";

const log = logger("fe-directory");

/** Product name → dashboard admin addresses ("host:port"), the first one preferred. */
export type ProductMap = Map<string, string[]>;

/** Loads the current product map; throws when the source cannot be read. */
export type ProductLoader = () => Promise<ProductMap>;

/** Options of {@link ProductDirectory}. */
export interface DirectoryOptions {
  /** A reload happens at most this often (default 5000 ms). */
  maxAgeMs?: number;
}

/**
 * Caches a {@link ProductLoader}'s answer. A failed reload keeps the last good map (and is logged once per
 * distinct error), so a briefly unreachable store does not empty the page.
 */
export class ProductDirectory {
  #map: ProductMap = new Map();
  #loadedAt = -Infinity;
  #inflight: Promise<void> | undefined;
  #lastError = "";
  readonly #maxAgeMs: number;

  constructor(private readonly loader: ProductLoader, opts: DirectoryOptions = {}) {
    this.#maxAgeMs = opts.maxAgeMs ?? 5000;
  }

  /** Reloads when the map is older than the maximum age; concurrent callers share one load. */
  async refresh(force = false): Promise<void> {
    if (!force && performance.now() - this.#loadedAt < this.#maxAgeMs) return;
    this.#inflight ??= (async () => {
      try {
        this.#map = await this.loader();
        if (this.#lastError) log.info("product list reloaded");
        this.#lastError = "";
      } catch (e) {
        const msg = (e as Error).message ?? String(e);
        if (msg !== this.#lastError) log.warn(`reloading the product list: ${msg}`);
        this.#lastError = msg;
      } finally {
        this.#loadedAt = performance.now();
        this.#inflight = undefined;
      }
    })();
    await this.#inflight;
  }

  /** Sorted product names (after a reload if due). */
  async names(): Promise<string[]> {
    await this.refresh();
    return [...this.#map.keys()].sort();
  }

  /** A product's dashboards, or undefined for an unknown product (after a reload if due). */
  async lookup(product: string): Promise<string[] | undefined> {
    await this.refresh();
    const d = this.#map.get(product);
    return d ? [...d] : undefined;
  }

  /** The last load's error message ("" after a good load). */
  get lastError(): string {
    return this.#lastError;
  }
}

/** Adds `addrs` to `name`'s entry of `m`, keeping order and dropping duplicates. */
export function addDashboards(m: ProductMap, name: string, addrs: string[]): void {
  const cur = m.get(name) ?? [];
  for (const a of addrs) if (a && !cur.includes(a)) cur.push(a);
  if (cur.length > 0) m.set(name, cur);
}
