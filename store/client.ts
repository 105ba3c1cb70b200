/**
 * The coordination interface: Codis's `models.Client` (create/update/delete/read/list/close, ephemeral and
 * ephemeral-in-order nodes) made async and extended with revisions, compare-and-set and gap-free watches.
 *
 * Semantics shared by every implementation:
 * - Paths are absolute, `/`-separated, without a trailing `/` (except the root `/`). Parents are implicit:
 *   create/update never fail for a missing parent.
 * - A revision is a positive integer that grows with every committed write; every node records the revision
 *   that created it (`createRevision`) and the one that last changed it (`modRevision`). For raft/memory/fs it
 *   is one global counter; for etcd it is etcd's revision; for ZooKeeper it is the zxid.
 * - Watches are "after" a revision (exclusive): events with `revision > after`, ordered, never split inside
 *   one revision. Asking for discarded history throws {@link CompactedError}; the caller re-reads and resumes.
 * - Ephemeral nodes belong to a {@link Session}; they vanish when the session expires (its owner stopped
 *   renewing for longer than the TTL) or is closed.
 * @module
 */
import { InvalidArgumentError, NoQuorumError, NotLeaderError } from "./errors.ts";

export * from "./errors.ts";

/** Which backend a client talks to. */
export type StoreKind = "memory" | "fs" | "etcd" | "zookeeper" | "raft";

/** Per-node metadata. */
export interface NodeStat {
  /** Revision of the write that created the node. */
  createRevision: number;
  /** Revision of the last write to the node; the value compare-and-set compares against. */
  modRevision: number;
  /** Number of writes since creation, 1 right after create (etcd's counting; ZooKeeper's dataVersion + 1). */
  version: number;
  /** Session id that owns the node when it is ephemeral. */
  session?: string;
}

/** A node's value with its metadata. */
export interface StoreNode {
  /** The node's full path. */
  path: string;
  /** The node's value. */
  data: Uint8Array;
  /** The node's metadata. */
  stat: NodeStat;
}

/** One change seen by a watch. */
export interface WatchEvent {
  /** Whether the node was written or deleted. */
  type: "put" | "delete";
  /** The node's full path. */
  path: string;
  /** Revision of the write that caused the event. */
  revision: number;
  /** The new value (put only). */
  data?: Uint8Array;
}

/** The answer of a long-poll. */
export interface ChangeBatch {
  /**
   * Resume point: the caller has now seen every change under the prefix up to this revision. For an empty
   * answer it is the current revision (a progress notification).
   */
  revision: number;
  /** The changes, in revision order. */
  events: WatchEvent[];
}

/** Options of a write. */
export interface WriteOptions {
  /**
   * Identifies one logical write. A write retried with the same id is applied at most once; the retry gets the
   * first attempt's result (or error). Ids must be unique per store; `${clientId}:${seq}` is the usual shape.
   */
  requestId?: string;
}

/** One operation of an atomic {@link CoordClient.batch}. Per path: at most one check and one change. */
export type BatchOp =
  | { op: "create"; path: string; data: Uint8Array }
  | { op: "update"; path: string; data: Uint8Array }
  | { op: "delete"; path: string }
  | { op: "check"; path: string; expected: number };

/** Options of {@link CoordClient.openSession}. */
export interface SessionOptions {
  /** How long the session survives without a renewal. */
  ttlMs: number;
  /** Renew in the background every ttl/3 (default true). */
  autoRenew?: boolean;
}

/** A lease/session that ephemeral nodes are bound to. */
export interface Session {
  /** Backend-specific id (namespace session id, etcd lease id in hex, ZooKeeper session id in hex). */
  readonly id: string;
  /** The TTL granted (backends may round it up). */
  readonly ttlMs: number;
  /** Resolves once the session is known to be gone (expired, revoked or closed). Never rejects. */
  readonly lost: Promise<void>;
  /** Creates a node deleted with the session. Throws ExistsError when the path is taken. Returns the revision. */
  createEphemeral(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number>;
  /**
   * Creates `prefix` + a 10-digit, zero-padded counter kept per parent (ZooKeeper's sequential naming), bound to
   * the session. Returns the created path.
   */
  createEphemeralInOrder(prefix: string, data: Uint8Array, opts?: WriteOptions): Promise<string>;
  /** Renews the lease once. Throws SessionExpiredError when it is already gone. */
  renew(): Promise<void>;
  /** Stops background renewal without revoking: the session then expires after its TTL (an owner that died). */
  stopRenewing(): void;
  /** Revokes the session now; its nodes are deleted. Idempotent. */
  close(): Promise<void>;
}

/** The coordination client. Every method may throw NoQuorumError/NotLeaderError on replicated backends. */
export interface CoordClient {
  /** Which store this client talks to. */
  readonly kind: StoreKind;
  /** Creates a node; throws ExistsError when it exists. Returns the new revision. */
  create(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number>;
  /** Creates or overwrites a node. Returns the new revision. */
  update(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number>;
  /** Deletes a node (only that node, not its children). Returns the revision, or 0 when it did not exist. */
  delete(path: string, opts?: WriteOptions): Promise<number>;
  /**
   * Compare-and-set on a node's modRevision: `expected` 0 means "must not exist"; `data` null deletes.
   * Throws RevisionConflictError on mismatch. Returns the new revision.
   */
  cas(path: string, data: Uint8Array | null, expected: number, opts?: WriteOptions): Promise<number>;
  /**
   * Applies every op or none, at one revision: `create` fails when the node exists, `check` when its modRevision
   * is not `expected` (0: must be absent), `delete` of an absent node is a no-op. Throws the first failing op's
   * ExistsError/RevisionConflictError. Returns the revision of the batch (the current one if nothing changed).
   */
  batch(ops: BatchOp[], opts?: WriteOptions): Promise<number>;
  /** Reads a node; undefined when absent, or NotFoundError with `must`. Linearizable. */
  read(path: string, must: true): Promise<StoreNode>;
  /** Reads a node; undefined when absent, or NotFoundError with `must`. Linearizable. */
  read(path: string, must?: boolean): Promise<StoreNode | undefined>;
  /** Sorted full paths of the direct children of `path`; [] when none, or NotFoundError with `must`. */
  list(path: string, must?: boolean): Promise<string[]>;
  /** The current revision (linearizable). */
  revision(): Promise<number>;
  /**
   * Long-poll: waits up to `timeoutMs` for changes to paths starting with `prefix` (a plain string prefix) with
   * revision > `afterRevision`, and returns them; an empty answer carries the current revision.
   */
  waitForChanges(prefix: string, afterRevision: number, timeoutMs: number, signal?: AbortSignal): Promise<ChangeBatch>;
  /** Streams changes under `prefix` after `afterRevision` until `signal` aborts (or an error such as CompactedError). */
  watch(prefix: string, afterRevision: number, signal?: AbortSignal): AsyncIterable<WatchEvent>;
  /** Discards watch history up to `revision` (maintenance and tests). */
  compact(revision: number): Promise<void>;
  /** Opens a session for ephemeral nodes. The filesystem store throws UnsupportedError. */
  openSession(opts: SessionOptions): Promise<Session>;
  /** Closes the client and every session it opened (their ephemeral nodes go). Idempotent. */
  close(): Promise<void>;
}

/** Throws InvalidArgumentError unless `path` is absolute, without empty segments or a trailing slash. */
export function checkPath(path: string): void {
  if (path === "/") return;
  if (!path.startsWith("/") || path.endsWith("/") || path.includes("//") || path.includes("\0")) {
    throw new InvalidArgumentError(`invalid path ${JSON.stringify(path)}: must be absolute, no empty segments`);
  }
}

/** The parent of a path ("/" for a top-level node). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Validates a batch: paths well-formed; at most one check and one change per path. */
export function checkBatch(ops: BatchOp[]): void {
  const seen = new Set<string>();
  for (const o of ops) {
    checkPath(o.path);
    const k = `${o.op === "check" ? "check" : "change"} ${o.path}`;
    if (seen.has(k)) throw new InvalidArgumentError(`batch: more than one ${k.split(" ")[0]} of ${o.path}`);
    seen.add(k);
  }
}

/** Formats the counter of an in-order node like ZooKeeper does (10 digits, zero-padded). */
export function sequenceSuffix(n: number): string {
  return String(n).padStart(10, "0");
}

/** Sorted direct children of `dir` (full paths) among `paths`, which may include deeper descendants. */
export function directChildren(dir: string, paths: Iterable<string>): string[] {
  const base = dir === "/" ? "/" : dir + "/";
  const out = new Set<string>();
  for (const p of paths) {
    if (!p.startsWith(base) || p.length === base.length) continue;
    const rest = p.slice(base.length);
    const j = rest.indexOf("/");
    out.add(base + (j < 0 ? rest : rest.slice(0, j)));
  }
  return [...out].sort();
}

/**
 * A `watch()` built on `waitForChanges()`: long-polls in a loop, yielding events in order. Used by every
 * implementation so that the stream and the long-poll share one code path (and one set of guarantees).
 * NoQuorum/NotLeader errors are retried from the same revision; other errors (CompactedError) end the stream.
 */
export async function* watchByPolling(
  client: Pick<CoordClient, "waitForChanges">,
  prefix: string,
  afterRevision: number,
  signal?: AbortSignal,
  pollMs = 5_000,
): AsyncGenerator<WatchEvent> {
  let after = afterRevision;
  let failures = 0;
  while (!signal?.aborted) {
    let batch: ChangeBatch;
    try {
      batch = await client.waitForChanges(prefix, after, pollMs, signal);
      failures = 0;
    } catch (e) {
      if (signal?.aborted) return;
      // An election or a lost connection is transient: resume from the same revision, so nothing is missed.
      if ((e instanceof NoQuorumError || e instanceof NotLeaderError) && ++failures < 1000) {
        await sleep(Math.min(1000, 50 * failures), signal);
        continue;
      }
      throw e;
    }
    for (const ev of batch.events) yield ev;
    after = Math.max(after, batch.revision);
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. The timer is always cleared. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
