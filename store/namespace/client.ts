/**
 * {@link CoordClient} over a {@link NamespaceHost}: the client side shared by the memory store and the Raft
 * store. Every write carries a request id (the caller's, or `${clientId}:${seq}`), so retrying a write after a
 * NotLeader/NoQuorum error is safe: the state machine applies it once and answers the retry from its table.
 * @module
 */
import {
  type ChangeBatch,
  checkPath,
  type CoordClient,
  type Session,
  type SessionOptions,
  sleep,
  type StoreKind,
  type StoreNode,
  watchByPolling,
  type WatchEvent,
  type WriteOptions,
} from "../client.ts";
import {
  ClosedError,
  CompactedError,
  errorFromInfo,
  NoQuorumError,
  NotFoundError,
  NotLeaderError,
  SessionExpiredError,
} from "../errors.ts";
import { type ApplyResult, b64, type Command } from "./commands.ts";
import type { NamespaceHost } from "./host.ts";

/** Options of a {@link NamespaceClient}. */
export interface NamespaceClientOptions {
  /** Identity used in generated request ids (default: a random UUID). */
  clientId?: string;
  /** Attempts for a write that fails with NotLeader/NoQuorum (default 5). */
  attempts?: number;
}

/** The CoordClient of the memory and Raft stores. */
export class NamespaceClient implements CoordClient {
  private readonly clientId: string;
  private readonly attempts: number;
  private seq = 0;
  private closed = false;
  private readonly sessions = new Set<NamespaceSession>();

  constructor(readonly host: NamespaceHost, readonly kind: StoreKind, opts: NamespaceClientOptions = {}) {
    this.clientId = opts.clientId ?? crypto.randomUUID();
    this.attempts = opts.attempts ?? 5;
  }

  /** Proposes a write (with retries under one request id) and returns its successful result or throws. */
  async write(cmd: Command, opts?: WriteOptions): Promise<ApplyResult & { ok: true }> {
    if (this.closed) throw new ClosedError();
    const withRid: Command = { ...cmd, rid: opts?.requestId ?? `${this.clientId}:${++this.seq}` };
    for (let attempt = 1;; attempt++) {
      try {
        const r = await this.host.propose(withRid);
        if (!r.ok) throw errorFromInfo(r.error);
        return r;
      } catch (e) {
        const retriable = e instanceof NotLeaderError || e instanceof NoQuorumError;
        if (!retriable || attempt >= this.attempts) throw e;
        await sleep(50 * attempt);
      }
    }
  }

  async create(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    return (await this.write({ op: "create", path, data: b64(data) }, opts)).revision;
  }

  async update(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    return (await this.write({ op: "update", path, data: b64(data) }, opts)).revision;
  }

  async delete(path: string, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    return (await this.write({ op: "delete", path }, opts)).revision;
  }

  async cas(path: string, data: Uint8Array | null, expected: number, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    return (await this.write({ op: "cas", path, data: data === null ? null : b64(data), expected }, opts)).revision;
  }

  read(path: string, must: true): Promise<StoreNode>;
  read(path: string, must?: boolean): Promise<StoreNode | undefined>;
  async read(path: string, must = false): Promise<StoreNode | undefined> {
    checkPath(path);
    await this.barrier();
    const n = this.host.sm.get(path);
    if (!n) {
      if (must) throw new NotFoundError(path);
      return undefined;
    }
    const stat = { createRevision: n.create, modRevision: n.mod, version: n.version } as StoreNode["stat"];
    if (n.session !== undefined) stat.session = n.session;
    return { path, data: n.data, stat };
  }

  async list(path: string, must = false): Promise<string[]> {
    checkPath(path);
    await this.barrier();
    const kids = this.host.sm.children(path);
    if (must && kids.length === 0 && !this.host.sm.get(path)) throw new NotFoundError(path);
    return kids;
  }

  async revision(): Promise<number> {
    await this.barrier();
    return this.host.sm.revision;
  }

  async waitForChanges(prefix: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<ChangeBatch> {
    await this.barrier();
    const deadline = performance.now() + Math.max(0, timeoutMs);
    for (let round = 0; round < 100_000; round++) {
      const sm = this.host.sm;
      if (after < sm.compactRevision) throw new CompactedError(after, sm.compactRevision);
      const got = sm.eventsAfter(prefix, after);
      if (got.events.length) return got;
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted || this.closed) return { revision: Math.max(after, sm.revision), events: [] };
      await this.host.waitForEvents(left, signal);
    }
    return { revision: Math.max(after, this.host.sm.revision), events: [] };
  }

  watch(prefix: string, after: number, signal?: AbortSignal): AsyncIterable<WatchEvent> {
    return watchByPolling(this, prefix, after, signal);
  }

  async compact(revision: number): Promise<void> {
    await this.write({ op: "compact", revision });
  }

  async openSession(opts: SessionOptions): Promise<Session> {
    if (this.closed) throw new ClosedError();
    const id = crypto.randomUUID();
    await this.write({ op: "sessionOpen", session: id, ttlMs: opts.ttlMs });
    const s = new NamespaceSession(this, id, opts.ttlMs, opts.autoRenew ?? true);
    this.sessions.add(s);
    s.lost.then(() => this.sessions.delete(s));
    return s;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.sessions].map((s) => s.close()));
    this.closed = true;
  }

  private async barrier(): Promise<void> {
    if (this.closed) throw new ClosedError();
    await this.host.read();
  }
}

class NamespaceSession implements Session {
  readonly lost: Promise<void>;
  private markLost!: () => void;
  private timer: ReturnType<typeof setInterval> | undefined;
  private gone = false;
  private readonly cancelWatch: () => void;

  constructor(private readonly c: NamespaceClient, readonly id: string, readonly ttlMs: number, autoRenew: boolean) {
    this.lost = new Promise((r) => this.markLost = r);
    this.cancelWatch = c.host.onSessionGone(id, () => this.finish());
    if (autoRenew) {
      this.timer = setInterval(() => this.renew().catch(() => {}), Math.max(10, Math.floor(ttlMs / 3)));
    }
  }

  async createEphemeral(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    this.check();
    return (await this.c.write({ op: "create", path, data: b64(data), session: this.id }, opts)).revision;
  }

  async createEphemeralInOrder(prefix: string, data: Uint8Array, opts?: WriteOptions): Promise<string> {
    checkPath(prefix + "0");
    this.check();
    const r = await this.c.write(
      { op: "create", path: prefix, data: b64(data), session: this.id, inOrder: true },
      opts,
    );
    return r.path!;
  }

  async renew(): Promise<void> {
    this.check();
    try {
      await this.c.write({ op: "keepAlive", session: this.id });
    } catch (e) {
      if (e instanceof SessionExpiredError) this.finish();
      throw e;
    }
  }

  stopRenewing(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    if (this.gone) return;
    this.stopRenewing();
    try {
      await this.c.write({ op: "sessionExpire", session: this.id, reason: "closed" });
    } finally {
      this.finish();
    }
  }

  private check(): void {
    if (this.gone) throw new SessionExpiredError(this.id);
  }

  private finish(): void {
    if (this.gone) return;
    this.gone = true;
    this.stopRenewing();
    this.cancelWatch();
    this.markLost();
  }
}
