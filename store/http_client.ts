/**
 * A {@link CoordClient} for processes outside the Raft group (proxies, codis-admin, codis-fe): it talks to any
 * member over HTTP (`store/http.ts`). Writes may go to any member: followers forward them to the leader. On a
 * network error, 503 or 421 the client moves to the next member and retries under the same request id, so the
 * write still applies once. Sessions are namespace sessions; the client renews them over HTTP.
 * @module
 */
import { type ChangeBatch, type StoreNode, type WatchEvent } from "./client.ts";
import { NoQuorumError, NotLeaderError, StoreError } from "./errors.ts";
import { STORE_BASE_PATH, storeRequest, type WireEvent, type WireNode } from "./http.ts";
import { CommandClient, type NamespaceClientOptions, type NodeView } from "./namespace_client.ts";
import { type ApplyResult, type Command, unb64 } from "./namespace_commands.ts";

/** Options of {@link HttpStoreClient}. */
export interface HttpStoreOptions extends NamespaceClientOptions {
  /** HTTP addresses ("host:port") of the members. */
  endpoints: string[];
  /** The cluster secret. */
  secret: string;
  basePath?: string;
  /** Per-request timeout for non-poll requests (default 10 s). */
  timeoutMs?: number;
}

/** CoordClient over the members' HTTP store routes. */
export class HttpStoreClient extends CommandClient {
  readonly kind = "raft" as const;
  private current = 0;

  constructor(private readonly opts: HttpStoreOptions) {
    super(opts);
    if (!opts.endpoints.length) throw new StoreError("invalid", "store http client: no endpoints");
  }

  /** Sends a request to the current member, moving on to the next one on transport-level failures. */
  private async call<T>(
    method: "GET" | "POST",
    route: string,
    o: { query?: Record<string, string>; body?: unknown; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    const eps = this.opts.endpoints;
    let last: unknown;
    for (let i = 0; i < eps.length; i++) {
      const addr = eps[(this.current + i) % eps.length];
      try {
        const r = await storeRequest<T>(addr, this.opts.secret, method, route, {
          ...o,
          timeoutMs: o.timeoutMs ?? this.opts.timeoutMs,
          basePath: this.opts.basePath ?? STORE_BASE_PATH,
        });
        this.current = (this.current + i) % eps.length;
        return r;
      } catch (e) {
        if (o.signal?.aborted) throw e;
        if (e instanceof StoreError && !(e instanceof NotLeaderError || e instanceof NoQuorumError)) throw e;
        last = e;
      }
    }
    throw last instanceof StoreError ? last : new NoQuorumError(`store: no member answered (${String(last)})`);
  }

  protected propose(cmd: Command): Promise<ApplyResult> {
    return this.call<ApplyResult>("POST", "/propose", { body: cmd });
  }

  protected async readNode(path: string): Promise<NodeView> {
    const r = await this.call<{ node: WireNode | null }>("GET", "/node", { query: { path } });
    if (!r.node) return undefined;
    const n: StoreNode = { path: r.node.path, data: unb64(r.node.data), stat: r.node.stat };
    return n;
  }

  protected async listNode(path: string): Promise<{ children: string[]; exists: boolean }> {
    return await this.call("GET", "/list", { query: { path } });
  }

  protected async currentRevision(): Promise<number> {
    return (await this.call<{ revision: number }>("GET", "/revision")).revision;
  }

  protected async changes(prefix: string, after: number, ms: number, signal?: AbortSignal): Promise<ChangeBatch> {
    const r = await this.call<{ revision: number; events: WireEvent[] }>("GET", "/changes", {
      query: { prefix, after: String(after), timeout: String(Math.max(0, Math.floor(ms))) },
      timeoutMs: ms + 10_000,
      signal,
    }).catch((e) => {
      if (signal?.aborted) return { revision: after, events: [] };
      throw e;
    });
    const events: WatchEvent[] = r.events.map((w) => {
      const e: WatchEvent = { type: w.type, path: w.path, revision: w.revision };
      if (w.data !== undefined) e.data = unb64(w.data);
      return e;
    });
    return { revision: r.revision, events };
  }

  async sessionAlive(id: string): Promise<boolean> {
    return (await this.call<{ alive: boolean }>("GET", "/session", { query: { id } })).alive;
  }
}
