/**
 * An HTTP client for a proxy's admin API (ours or Codis's), as the dashboard and codis-admin use it.
 * @module
 */
import type { ProxyModel, SentinelModel, Slot } from "../../models/mod.ts";
import { proxyXAuth } from "../../util/xauth.ts";
import type { StatsJSON } from "../../models/proxy_stats.ts";
import type { LoadViewsJSON } from "../../models/load_stats.ts";
import { adminFetch, adminUrl } from "../../util/admin_calls.ts";

/** A failed admin call: the HTTP status and the server's `Cause`. */
export class ProxyApiError extends Error {
  override name = "ProxyApiError";
  constructor(readonly status: number, readonly reason: string, readonly url: string) {
    super(`proxy admin ${url.replace(/\/api\/proxy\/([a-z/]+?)\/[0-9a-f]{32}/, "/api/proxy/$1/***")}: ${reason}`);
  }
}

/** Options of {@link ProxyAdminClient}. */
export interface ProxyAdminClientOptions {
  productName: string;
  productAuth: string;
  /** Per-call timeout (Codis's dashboard uses a few seconds). */
  timeoutMs?: number;
}

/**
 * A client bound to one proxy admin address ("HOST:PORT"). Learns the token from GET /api/proxy/model on first
 * use (or from {@link setToken}) and computes the xauth from it.
 */
export class ProxyAdminClient {
  readonly base: string;
  #xauth: string | undefined;

  constructor(readonly addr: string, readonly opts: ProxyAdminClientOptions) {
    this.base = adminUrl(addr, "");
  }

  /** Uses a known token instead of asking the proxy for its model. */
  setToken(token: string): void {
    this.#xauth = proxyXAuth(this.opts.productName, this.opts.productAuth, token);
  }

  async #call<T>(method: "GET" | "PUT", path: string, body?: unknown): Promise<T> {
    const url = this.base + path;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.opts.timeoutMs ?? 5000);
    try {
      const res = await adminFetch(url, {
        method,
        signal: ac.signal,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text === "" ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      // Codis answers errors with status 800 (and 1500); ours with 4xx/5xx. Both carry {Cause}.
      if (res.status !== 200) {
        const cause = (json as { Cause?: string } | undefined)?.Cause ?? (text || `HTTP ${res.status}`);
        throw new ProxyApiError(res.status, cause, url);
      }
      return json as T;
    } catch (e) {
      if (e instanceof ProxyApiError) throw e;
      const msg = ac.signal.aborted ? "timed out" : (e as Error).message;
      throw new ProxyApiError(0, msg, url);
    } finally {
      clearTimeout(timer);
    }
  }

  async #auth(): Promise<string> {
    if (this.#xauth === undefined) this.setToken((await this.model()).token);
    return this.#xauth!;
  }

  /** GET /api/proxy/model. */
  model(): Promise<ProxyModel> {
    return this.#call("GET", "/api/proxy/model");
  }
  /** GET /api/proxy/xping/:xauth — checks product name, product auth and token. */
  async xping(): Promise<void> {
    await this.#call("GET", `/api/proxy/xping/${await this.#auth()}`);
  }
  /** GET /api/proxy/stats/:xauth[/:flags]. */
  async stats(flags = 0): Promise<StatsJSON> {
    const x = await this.#auth();
    return this.#call("GET", flags ? `/api/proxy/stats/${x}/${flags}` : `/api/proxy/stats/${x}`);
  }
  /** GET /api/proxy/slots/:xauth. */
  async slots(): Promise<Slot[]> {
    return this.#call("GET", `/api/proxy/slots/${await this.#auth()}`);
  }
  /** GET /api/proxy/load/:xauth: per-slot statistics, hot keys and big keys. */
  async load(): Promise<LoadViewsJSON> {
    return this.#call("GET", `/api/proxy/load/${await this.#auth()}`);
  }
  /** PUT /api/proxy/start/:xauth. */
  async start(): Promise<void> {
    await this.#call("PUT", `/api/proxy/start/${await this.#auth()}`);
  }
  /** PUT /api/proxy/stats/reset/:xauth. */
  async resetStats(): Promise<void> {
    await this.#call("PUT", `/api/proxy/stats/reset/${await this.#auth()}`);
  }
  /** PUT /api/proxy/forcegc/:xauth. */
  async forceGC(): Promise<void> {
    await this.#call("PUT", `/api/proxy/forcegc/${await this.#auth()}`);
  }
  /** PUT /api/proxy/shutdown/:xauth. */
  async shutdown(): Promise<void> {
    await this.#call("PUT", `/api/proxy/shutdown/${await this.#auth()}`);
  }
  /** PUT /api/proxy/loglevel/:xauth/:value. */
  async logLevel(level: string): Promise<void> {
    await this.#call("PUT", `/api/proxy/loglevel/${await this.#auth()}/${encodeURIComponent(level)}`);
  }
  /** PUT /api/proxy/fillslots/:xauth. */
  async fillSlots(slots: Slot[]): Promise<void> {
    await this.#call("PUT", `/api/proxy/fillslots/${await this.#auth()}`, slots);
  }
  /** PUT /api/proxy/sentinels/:xauth. */
  async setSentinels(s: SentinelModel): Promise<void> {
    await this.#call("PUT", `/api/proxy/sentinels/${await this.#auth()}`, s);
  }
  /** PUT /api/proxy/sentinels/:xauth/rewatch. */
  async rewatchSentinels(): Promise<void> {
    await this.#call("PUT", `/api/proxy/sentinels/${await this.#auth()}/rewatch`);
  }
}
