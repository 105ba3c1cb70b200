/**
 * {@link CoordClient}s over the namespace's commands: {@link CommandClient} holds everything that is the same
 * whether the namespace is in this process or behind HTTP (writes, sessions, must/compaction checks), and
 * {@link NamespaceClient} reads a local {@link NamespaceHost} (memory and Raft stores). Every write carries a
 * request id (the caller's, or `${clientId}:${seq}`), so retrying a write after a NotLeader/NoQuorum error is
 * safe: the state machine applies it once and answers the retry from its table.
 * @module
 */
import {
  type BatchOp,
  type ChangeBatch,
  checkBatch,
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
} from "./client.ts";
import {
  ClosedError,
  CompactedError,
  errorFromInfo,
  NoQuorumError,
  NotFoundError,
  NotLeaderError,
  SessionExpiredError,
} from "./errors.ts";
import { OpenSessions, RenewedSession } from "./session_base.ts";
import { type ApplyResult, b64, type BatchCommandOp, type Command } from "./namespace_commands.ts";
import type { NamespaceHost } from "./namespace_host.ts";

/** Options of a {@link NamespaceClient}. */
export interface NamespaceClientOptions {
  /** Identity used in generated request ids (default: a random UUID). */
  clientId?: string;
  /** Attempts for a write that fails with NotLeader/NoQuorum (default 8, about 2 s of back-off in all). */
  attempts?: number;
}

/** A node as the namespace reports it. */
export type NodeView = StoreNode | undefined;

/** The shared client logic; subclasses say how commands are proposed and how state is read. */
export abstract class CommandClient implements CoordClient {
  abstract readonly kind: StoreKind;
  private readonly clientId: string;
  private readonly attempts: number;
  private seq = 0;
  protected closed = false;
  private readonly sessions = new OpenSessions();

  constructor(opts: NamespaceClientOptions = {}) {
    this.clientId = opts.clientId ?? crypto.randomUUID();
    this.attempts = opts.attempts ?? 8;
  }

  /** Commits a command and returns its apply result. */
  protected abstract propose(cmd: Command): Promise<ApplyResult>;
  /** Linearizable read of one node. */
  protected abstract readNode(path: string): Promise<NodeView>;
  /** Linearizable children listing, and whether `path` itself exists. */
  protected abstract listNode(path: string): Promise<{ children: string[]; exists: boolean }>;
  /** Linearizable current revision. */
  protected abstract currentRevision(): Promise<number>;
  /** The long-poll itself (after the closed check). */
  protected abstract changes(prefix: string, after: number, ms: number, signal?: AbortSignal): Promise<ChangeBatch>;
  /** Whether a session is still alive (used after stopRenewing to notice the expiry). */
  abstract sessionAlive(id: string): Promise<boolean>;
  /** Subscribes to a session's expiry when the backend can push it; returns a canceller. */
  onSessionGone(_id: string, _fn: () => void): () => void {
    return () => {};
  }

  /** Proposes a write (with retries under one request id) and returns its successful result or throws. */
  async write(cmd: Command, opts?: WriteOptions): Promise<ApplyResult & { ok: true }> {
    if (this.closed) throw new ClosedError();
    const withRid: Command = { ...cmd, rid: opts?.requestId ?? `${this.clientId}:${++this.seq}` };
    for (let attempt = 1;; attempt++) {
      try {
        const r = await this.propose(withRid);
        if (!r.ok) throw errorFromInfo(r.error);
        return r;
      } catch (e) {
        // A known leader elsewhere will not change by waiting here: let the caller redirect at once.
        const retriable = (e instanceof NotLeaderError && !e.leaderAddr) || e instanceof NoQuorumError;
        if (!retriable || attempt >= this.attempts) throw e;
        await sleep(Math.min(500, 50 * attempt));
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

  async batch(ops: BatchOp[], opts?: WriteOptions): Promise<number> {
    checkBatch(ops);
    const wire: BatchCommandOp[] = ops.map((o) =>
      o.op === "create" || o.op === "update" ? { op: o.op, path: o.path, data: b64(o.data) } : o
    );
    return (await this.write({ op: "batch", ops: wire }, opts)).revision;
  }

  async cas(path: string, data: Uint8Array | null, expected: number, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    return (await this.write({ op: "cas", path, data: data === null ? null : b64(data), expected }, opts)).revision;
  }

  read(path: string, must: true): Promise<StoreNode>;
  read(path: string, must?: boolean): Promise<StoreNode | undefined>;
  async read(path: string, must = false): Promise<StoreNode | undefined> {
    checkPath(path);
    this.check();
    const n = await this.readNode(path);
    if (!n && must) throw new NotFoundError(path);
    return n;
  }

  async list(path: string, must = false): Promise<string[]> {
    checkPath(path);
    this.check();
    const { children, exists } = await this.listNode(path);
    if (must && children.length === 0 && !exists) throw new NotFoundError(path);
    return children;
  }

  async revision(): Promise<number> {
    this.check();
    return await this.currentRevision();
  }

  async waitForChanges(prefix: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<ChangeBatch> {
    this.check();
    return await this.changes(prefix, after, timeoutMs, signal);
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
    return this.sessions.add(new NamespaceSession(this, id, opts.ttlMs, opts.autoRenew ?? true));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sessions.closeAll();
    this.closed = true;
  }

  protected check(): void {
    if (this.closed) throw new ClosedError();
  }
}

/** The CoordClient of the memory and Raft stores: reads the local host after its read barrier. */
export class NamespaceClient extends CommandClient {
  constructor(readonly host: NamespaceHost, readonly kind: StoreKind, opts: NamespaceClientOptions = {}) {
    super(opts);
  }

  protected propose(cmd: Command): Promise<ApplyResult> {
    return this.host.propose(cmd);
  }

  /** The read barrier, retried through elections (a read has no side effect). */
  private async barrier(): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        return await this.host.read();
      } catch (e) {
        const retriable = e instanceof NotLeaderError || e instanceof NoQuorumError;
        if (!retriable || attempt >= 3 || this.closed) throw e;
        await sleep(100 * attempt);
      }
    }
  }

  protected async readNode(path: string): Promise<NodeView> {
    await this.barrier();
    const n = this.host.sm.get(path);
    if (!n) return undefined;
    const stat: StoreNode["stat"] = { createRevision: n.create, modRevision: n.mod, version: n.version };
    if (n.session !== undefined) stat.session = n.session;
    return { path, data: n.data, stat };
  }

  protected async listNode(path: string): Promise<{ children: string[]; exists: boolean }> {
    await this.barrier();
    return { children: this.host.sm.children(path), exists: this.host.sm.get(path) !== undefined };
  }

  protected async currentRevision(): Promise<number> {
    await this.barrier();
    return this.host.sm.revision;
  }

  protected async changes(
    prefix: string,
    after: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ChangeBatch> {
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

  async sessionAlive(id: string): Promise<boolean> {
    await this.barrier();
    return this.host.sm.sessions.has(id);
  }

  override onSessionGone(id: string, fn: () => void): () => void {
    return this.host.onSessionGone(id, fn);
  }
}

class NamespaceSession extends RenewedSession {
  private readonly cancelWatch: () => void;

  constructor(private readonly c: CommandClient, readonly id: string, readonly ttlMs: number, autoRenew: boolean) {
    super();
    this.cancelWatch = c.onSessionGone(id, () => this.finish());
    if (autoRenew) this.renewEvery(Math.max(10, Math.floor(ttlMs / 3)));
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

  protected stillAlive(): Promise<boolean> {
    return this.c.sessionAlive(this.id);
  }

  protected expiryPollMs(): number {
    return Math.max(50, Math.min(250, this.ttlMs / 4));
  }

  protected async revoke(): Promise<void> {
    await this.c.write({ op: "sessionExpire", session: this.id, reason: "closed" });
  }

  protected release(): void {
    this.cancelWatch();
  }
}
