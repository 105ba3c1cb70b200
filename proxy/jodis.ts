/**
 * Jodis registration, as Codis's proxy does it: while the proxy is online and `jodis_addr` is set, an ephemeral node
 * `/jodis/{product}/proxy-{token}` (or Codis 2's `/zk/codis/db_{product}/proxy/{token}` with `jodis_compatible`)
 * holds `{"addr", "admin", "start", "token", "state": "online"}` in ZooKeeper or etcd. Jodis-style clients watch the
 * folder and spread their connections over the online proxies. The node goes with the coordinator session, so a
 * proxy that dies disappears after `jodis_timeout`; one that stops deletes it at once.
 * @module
 */
import { type CoordClient, ExistsError, openCoordinator, type Session } from "../store/mod.ts";
import { logger } from "../util/log.ts";

const log = logger("jodis");

/** What a Jodis node says about the proxy. */
export interface JodisInfo {
  addr: string;
  admin: string;
  start: string;
  token: string;
}

/** Registration settings, from the proxy config. */
export interface JodisOptions {
  /** `jodis_name`: zookeeper or etcd. */
  name: string;
  /** `jodis_addr`. */
  addr: string;
  /** `jodis_auth`, user:password (never logged). */
  auth?: string;
  /** `jodis_timeout` in ms: the session TTL. */
  timeoutMs: number;
  /** `jodis_compatible`: Codis 2's path. */
  compatible: boolean;
  product: string;
}

/** The node path for a proxy token. */
export function jodisPath(product: string, token: string, compatible: boolean): string {
  return compatible ? `/zk/codis/db_${product}/proxy/${token}` : `/jodis/${product}/proxy-${token}`;
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** Keeps the proxy's Jodis node in place until {@link JodisRegistrar.stop}. */
export class JodisRegistrar {
  readonly path: string;
  #opts: JodisOptions;
  #info: JodisInfo;
  #abort = new AbortController();
  #client: CoordClient | null = null;
  #session: Session | null = null;
  #loop: Promise<void> | null = null;

  constructor(opts: JodisOptions, info: JodisInfo) {
    this.#opts = opts;
    this.#info = info;
    this.path = jodisPath(opts.product, info.token, opts.compatible);
  }

  /** Starts registering in the background; resolves once the node exists the first time (or the first attempt failed). */
  start(): Promise<void> {
    let first: () => void = () => {};
    const registered = new Promise<void>((r) => first = r);
    this.#loop = this.#run(() => first());
    return registered;
  }

  async #run(onFirst: () => void): Promise<void> {
    const signal = this.#abort.signal;
    let backoff = MIN_BACKOFF_MS;
    while (!signal.aborted) {
      try {
        await this.#register();
        onFirst();
        backoff = MIN_BACKOFF_MS;
        log.info(`registered ${this.path} in ${this.#opts.name} ${this.#opts.addr}`);
        // Held until the coordinator session is lost (expiry, a partition that outlasts the TTL) or stop().
        await Promise.race([this.#session!.lost, new Promise((r) => signal.addEventListener("abort", r))]);
        if (!signal.aborted) log.warn(`jodis session lost; registering ${this.path} again`);
      } catch (e) {
        onFirst();
        if (signal.aborted) break;
        log.warn(`jodis registration of ${this.path} failed: ${(e as Error).message}; retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
      await this.#release();
    }
  }

  async #register(): Promise<void> {
    const o = this.#opts;
    this.#client ??= await openCoordinator({ name: o.name, addr: o.addr, auth: o.auth, timeoutMs: 5000 });
    this.#session = await this.#client.openSession({ ttlMs: o.timeoutMs });
    const data = new TextEncoder().encode(JSON.stringify({ ...this.#info, state: "online" }, null, 4));
    try {
      await this.#session.createEphemeral(this.path, data);
    } catch (e) {
      if (!(e instanceof ExistsError)) throw e;
      // Left by this proxy's previous life (same addresses, same token) until its session expires: replace it.
      await this.#client.delete(this.path);
      await this.#session.createEphemeral(this.path, data);
    }
  }

  async #release(): Promise<void> {
    const s = this.#session;
    this.#session = null;
    await s?.close().catch(() => {});
  }

  /** Deletes the node (by ending the session) and closes the coordinator client. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop?.catch(() => {});
    await this.#release();
    await this.#client?.close().catch(() => {});
    this.#client = null;
  }
}
