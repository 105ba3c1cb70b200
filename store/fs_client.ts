/**
 * The CoordClient of the filesystem store: a thin view of a shared {@link FsStore}.
 * @module
 */
import {
  type BatchOp,
  type ChangeBatch,
  checkBatch,
  checkPath,
  type CoordClient,
  type Session,
  type StoreNode,
  watchByPolling,
  type WatchEvent,
  type WriteOptions,
} from "./client.ts";
import { ClosedError, ExistsError, NotFoundError, RevisionConflictError, UnsupportedError } from "./errors.ts";
import type { FsStore } from "./fs.ts";

/** One client of an {@link FsStore}. */
export class FsClient implements CoordClient {
  readonly kind = "fs" as const;
  private closed = false;

  constructor(private readonly s: FsStore) {}

  async create(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    this.check(path);
    return await this.s.write(opts?.requestId, (ev) => {
      if (this.s.stat(path)) throw new ExistsError(path);
      return this.s.put(path, data, ev);
    });
  }

  async update(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    this.check(path);
    return await this.s.write(opts?.requestId, (ev) => this.s.put(path, data, ev));
  }

  async delete(path: string, opts?: WriteOptions): Promise<number> {
    this.check(path);
    return await this.s.write(opts?.requestId, (ev) => this.s.remove(path, ev));
  }

  /** Applied under the store's write queue; the files of a batch are written one by one (not crash-atomic). */
  async batch(ops: BatchOp[], opts?: WriteOptions): Promise<number> {
    this.check();
    checkBatch(ops);
    return await this.s.write(opts?.requestId, async (ev) => {
      for (const o of ops) {
        const actual = this.s.stat(o.path)?.[1] ?? 0;
        if (o.op === "create" && actual) throw new ExistsError(o.path);
        if (o.op === "check" && actual !== o.expected) throw new RevisionConflictError(o.path, o.expected, actual);
      }
      const mutates = ops.some((o) =>
        o.op === "create" || o.op === "update" || (o.op === "delete" && this.s.stat(o.path))
      );
      if (!mutates) return this.s.current();
      const rev = this.s.current() + 1;
      for (const o of ops) {
        if (o.op === "create" || o.op === "update") await this.s.put(o.path, o.data, ev, rev);
        else if (o.op === "delete") await this.s.remove(o.path, ev, rev);
      }
      return rev;
    });
  }

  async cas(path: string, data: Uint8Array | null, expected: number, opts?: WriteOptions): Promise<number> {
    this.check(path);
    return await this.s.write(opts?.requestId, (ev) => {
      const actual = this.s.stat(path)?.[1] ?? 0;
      if (actual !== expected) throw new RevisionConflictError(path, expected, actual);
      if (data === null) {
        if (!actual) throw new NotFoundError(path);
        return this.s.remove(path, ev);
      }
      return this.s.put(path, data, ev);
    });
  }

  read(path: string, must: true): Promise<StoreNode>;
  read(path: string, must?: boolean): Promise<StoreNode | undefined>;
  async read(path: string, must = false): Promise<StoreNode | undefined> {
    this.check(path);
    const n = await this.s.readNode(path);
    if (!n && must) throw new NotFoundError(path);
    return n;
  }

  async list(path: string, must = false): Promise<string[]> {
    this.check(path);
    const kids = await Promise.resolve(this.s.children(path));
    if (must && kids.length === 0 && !this.s.stat(path)) throw new NotFoundError(path);
    return kids;
  }

  async revision(): Promise<number> {
    this.check();
    return await Promise.resolve(this.s.current());
  }

  async waitForChanges(prefix: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<ChangeBatch> {
    this.check();
    return await this.s.changes(prefix, after, timeoutMs, signal);
  }

  watch(prefix: string, after: number, signal?: AbortSignal): AsyncIterable<WatchEvent> {
    return watchByPolling(this, prefix, after, signal);
  }

  async compact(revision: number): Promise<void> {
    this.check();
    await this.s.write(undefined, () => Promise.resolve(0));
    this.s.compact(revision);
  }

  openSession(): Promise<Session> {
    return Promise.reject(
      new UnsupportedError(
        "the filesystem store has no sessions, so ephemeral nodes (jodis registration, ephemeral locks) are " +
          "unavailable; use the raft (default), etcd or zookeeper coordinator",
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.s.release();
  }

  private check(path?: string): void {
    if (this.closed) throw new ClosedError();
    if (path !== undefined) checkPath(path);
  }
}
