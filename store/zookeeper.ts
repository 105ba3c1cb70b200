/**
 * ZooKeeper store (npm:node-zookeeper-client). Node paths are znodes; missing parents are created as empty
 * persistent znodes (so, unlike the other stores, a parent reads as an empty node). Revisions are zxids: a
 * node's createRevision/modRevision are its czxid/mzxid, a write returns the zxid of its transaction, and
 * `revision()` is the server's last zxid. Compare-and-set checks the mzxid and then writes with the znode's
 * version, so the write is still atomic.
 *
 * - Sessions are ZooKeeper sessions: every {@link Session} is its own connection whose session timeout is the
 *   TTL (negotiated within the server's min/max), and ephemeral nodes are ephemeral znodes on it. In-order
 *   nodes are EPHEMERAL_SEQUENTIAL (ZooKeeper's own per-parent counter).
 * - Watches: see `zookeeper_watch.ts` (rescans on one-shot watches; history starts with the first watch of a
 *   prefix; updates between two rescans coalesce).
 * - Exactly-once: a write with a request id also creates an ephemeral marker `/.codis-rid/{id}` in the same
 *   MULTI; a retry on the same session finds it and answers with the marker's czxid (the original zxid).
 *   Markers live as long as the session that wrote them, so a retry from another session is not recognised.
 * - Reads are served by the connected server; with a multi-server ensemble they can lag the leader (ZooKeeper
 *   would need `sync`, which the library does not offer). Deleting a node with children throws NotEmptyError.
 * @module
 */
import {
  type BatchOp,
  type ChangeBatch,
  checkBatch,
  checkPath,
  type CoordClient,
  parentOf,
  type Session,
  type SessionOptions,
  type StoreNode,
  watchByPolling,
  type WatchEvent,
  type WriteOptions,
} from "./client.ts";
import { sleep } from "./client.ts";
import {
  ClosedError,
  ExistsError,
  InvalidArgumentError,
  NotEmptyError,
  NotFoundError,
  RevisionConflictError,
  SessionExpiredError,
  StoreError,
} from "./errors.ts";
import { badArguments, ZK, ZkConn, type ZkOp, type ZkStat, zxid } from "./zookeeper_conn.ts";
import { OpenSessions } from "./session_base.ts";
import { ZkPrefixWatcher } from "./zookeeper_watch.ts";

const RID_DIR = "/.codis-rid";
/**
 * ZooKeeper drops the connection on a packet over `jute.maxbuffer` (1 MiB by default), which the caller would see
 * as a transient NoQuorumError and retry forever: refuse it here, with a clear error.
 */
const MAX_WRITE_BYTES = 1024 * 1024 - 16 * 1024;
const markerPath = (rid: string) => `${RID_DIR}/${encodeURIComponent(rid)}`;

/** Options of {@link ZooKeeperClient.connect}. */
export interface ZooKeeperOptions {
  /** Connect string, "host:port[,host:port...]". */
  connect: string;
  /** Session timeout of the client's own connection (default 30 s). */
  sessionTimeoutMs?: number;
  /** How long to wait for a session (default 10 s). */
  connectTimeoutMs?: number;
  /** "user:password" (Codis's `--zookeeper-auth`): digest authentication, nodes readable by that user only. */
  auth?: string;
}

type WriteResult = { code: number; zxid: number; paths: (string | undefined)[]; replay?: ZkStat };

/** CoordClient over ZooKeeper. */
export class ZooKeeperClient implements CoordClient {
  readonly kind = "zookeeper" as const;
  private closed = false;
  private readonly watchers = new Map<string, ZkPrefixWatcher>();
  private readonly sessions = new OpenSessions();
  private conn: ZkConn;

  private constructor(readonly opts: ZooKeeperOptions, zk: ZkConn) {
    this.conn = zk;
    this.follow(zk);
  }

  /** The client's own connection; replaced by one with a new session when the server expires the current one. */
  get zk(): ZkConn {
    return this.conn;
  }

  /** Connects a client. */
  static async connect(opts: ZooKeeperOptions): Promise<ZooKeeperClient> {
    const zk = await ZkConn.open(opts.connect, opts.sessionTimeoutMs ?? 30_000, opts.connectTimeoutMs, opts.auth);
    return new ZooKeeperClient(opts, zk);
  }

  /** Runs a MULTI on `conn`, creating missing parents once, and consulting/adding the request-id marker. */
  async run(conn: ZkConn, ops: ZkOp[], rid?: string): Promise<WriteResult> {
    this.check();
    const size = ops.reduce((n, o) => n + o.path.length + ("data" in o ? o.data.length : 0), 0);
    if (size > MAX_WRITE_BYTES) {
      throw new InvalidArgumentError(`zookeeper: a write of ${size} bytes is over ZooKeeper's limit (1 MiB)`);
    }
    const all = rid === undefined
      ? ops
      : [...ops, { op: "create", path: markerPath(rid), data: new Uint8Array(), mode: ZK.EPHEMERAL } as ZkOp];
    for (let attempt = 0;; attempt++) {
      const r = await conn.multi(all);
      if (r.code === ZK.NODE_EXISTS && rid !== undefined) {
        const m = await conn.exists(markerPath(rid));
        if (m) return { ...r, replay: m };
      }
      if (r.code !== ZK.NO_NODE || attempt >= 2) return r;
      // A parent is missing: create the parents of every created node (and of the marker), then retry.
      const creates = all.filter((o) => o.op === "create");
      if (!creates.length) return r;
      for (const o of creates) await conn.mkdirp(parentOf(o.path));
    }
  }

  /** Creates a node on `conn` with `mode`; returns the zxid and the created path. */
  async createOn(conn: ZkConn, path: string, data: Uint8Array, mode: number, rid?: string): Promise<WriteResult> {
    const r = await this.run(conn, [{ op: "create", path, data, mode }], rid);
    if (r.replay || r.code === 0) return r;
    if (r.code === ZK.NODE_EXISTS) throw new ExistsError(path);
    throw zkFailure(r.code, path);
  }

  async create(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    const r = await this.createOn(this.zk, path, data, ZK.PERSISTENT, opts?.requestId);
    return r.replay ? zxid(r.replay.czxid) : r.zxid;
  }

  async update(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    for (let attempt = 0; attempt < 10; attempt++) {
      const exists = await this.zk.exists(path);
      const op: ZkOp = exists
        ? { op: "set", path, data, version: -1 }
        : { op: "create", path, data, mode: ZK.PERSISTENT };
      const r = await this.run(this.zk, [op], opts?.requestId);
      if (r.replay) return zxid(r.replay.czxid);
      if (r.code === 0) return r.zxid;
      if (r.code !== ZK.NO_NODE && r.code !== ZK.NODE_EXISTS) throw zkFailure(r.code, path);
      // Raced with a concurrent create/delete: look again.
    }
    throw new StoreError("conflict", `zookeeper: update of ${path} kept racing with other writers`);
  }

  async delete(path: string, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    const r = await this.run(this.zk, [{ op: "remove", path, version: -1 }], opts?.requestId);
    if (r.replay) return zxid(r.replay.czxid);
    if (r.code === 0) return r.zxid;
    if (r.code === ZK.NO_NODE) return 0;
    throw zkFailure(r.code, path);
  }

  /**
   * One MULTI. "check" of a present node compares the mzxid and then pins the znode version in the MULTI; "check"
   * of absence is expressed as create+remove of the path inside the MULTI (it succeeds only if the path is free).
   */
  async batch(ops: BatchOp[], opts?: WriteOptions): Promise<number> {
    checkBatch(ops);
    for (let attempt = 0; attempt < 10; attempt++) {
      const multi: ZkOp[] = [];
      for (const o of ops) {
        const cur = await this.zk.exists(o.path);
        if (o.op === "create") {
          if (cur) throw new ExistsError(o.path);
          multi.push({ op: "create", path: o.path, data: o.data, mode: ZK.PERSISTENT });
        } else if (o.op === "update") {
          multi.push(
            cur
              ? { op: "set", path: o.path, data: o.data, version: cur.version }
              : { op: "create", path: o.path, data: o.data, mode: ZK.PERSISTENT },
          );
        } else if (o.op === "delete") {
          if (cur) multi.push({ op: "remove", path: o.path, version: cur.version });
        } else {
          const actual = zxid(cur?.mzxid);
          if (actual !== o.expected) throw new RevisionConflictError(o.path, o.expected, actual);
          if (cur) multi.push({ op: "check", path: o.path, version: cur.version });
          else {
            multi.push({ op: "create", path: o.path, data: new Uint8Array(), mode: ZK.PERSISTENT });
            multi.push({ op: "remove", path: o.path, version: -1 });
          }
        }
      }
      if (multi.length === 0) return await this.revision();
      const r = await this.run(this.zk, multi, opts?.requestId);
      if (r.replay) return zxid(r.replay.czxid);
      if (r.code === 0) return r.zxid;
      if (![ZK.NODE_EXISTS, ZK.NO_NODE, ZK.BAD_VERSION].includes(r.code as never)) throw zkFailure(r.code, ops[0].path);
      // Something changed between our reads and the MULTI: re-evaluate (the checks above throw typed errors).
    }
    throw new StoreError("conflict", "zookeeper: batch kept racing with other writers");
  }

  async cas(path: string, data: Uint8Array | null, expected: number, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    const rid = opts?.requestId;
    if (expected === 0) {
      const cur = await this.zk.exists(path);
      if (data === null) {
        if (cur) throw new RevisionConflictError(path, 0, zxid(cur.mzxid));
        throw new NotFoundError(path);
      }
      const r = await this.run(this.zk, [{ op: "create", path, data, mode: ZK.PERSISTENT }], rid);
      if (r.replay) return zxid(r.replay.czxid);
      if (r.code === 0) return r.zxid;
      if (r.code === ZK.NODE_EXISTS) {
        throw new RevisionConflictError(path, 0, zxid((await this.zk.exists(path))?.mzxid));
      }
      throw zkFailure(r.code, path);
    }
    const cur = await this.zk.exists(path);
    const actual = zxid(cur?.mzxid);
    if (!cur || actual !== expected) throw new RevisionConflictError(path, expected, actual);
    const op: ZkOp = data === null
      ? { op: "remove", path, version: cur.version }
      : { op: "set", path, data, version: cur.version };
    const r = await this.run(this.zk, [op], rid);
    if (r.replay) return zxid(r.replay.czxid);
    if (r.code === 0) return r.zxid;
    if (r.code === ZK.BAD_VERSION || r.code === ZK.NO_NODE) {
      throw new RevisionConflictError(path, expected, zxid((await this.zk.exists(path))?.mzxid));
    }
    throw zkFailure(r.code, path);
  }

  read(path: string, must: true): Promise<StoreNode>;
  read(path: string, must?: boolean): Promise<StoreNode | undefined>;
  async read(path: string, must = false): Promise<StoreNode | undefined> {
    checkPath(path);
    this.check();
    const got = await this.zk.getData(path);
    if (!got) {
      if (must) throw new NotFoundError(path);
      return undefined;
    }
    const s = got.stat;
    const stat: StoreNode["stat"] = {
      createRevision: zxid(s.czxid),
      modRevision: zxid(s.mzxid),
      version: s.version + 1,
    };
    if (zxid(s.ephemeralOwner) !== 0) stat.session = s.ephemeralOwner.toString("hex");
    return { path, data: got.data, stat };
  }

  async list(path: string, must = false): Promise<string[]> {
    checkPath(path);
    this.check();
    const got = await this.zk.getChildren(path);
    if (!got) {
      if (must) throw new NotFoundError(path);
      return [];
    }
    const base = path === "/" ? "/" : path + "/";
    return got.children.map((k) => base + k).filter((p) => p !== RID_DIR).sort();
  }

  async revision(): Promise<number> {
    this.check();
    const zxid = await this.zk.serverZxid();
    // A watcher's numbering can run ahead of the zxids (ZkPrefixWatcher): a resume point taken here must not fall
    // below revisions already handed out, or it would be compacted, or replay events from before it.
    let max = zxid;
    for (const w of this.watchers.values()) max = Math.max(max, w.revision);
    return max;
  }

  async waitForChanges(prefix: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<ChangeBatch> {
    this.check();
    let w = this.watchers.get(prefix);
    if (w && w.zk !== this.zk) {
      // The session it watched with expired: its history ends there; a new watcher starts one, continuing its
      // numbering (an older resume point then gets CompactedError if anything changed meanwhile, and the caller
      // re-reads).
      w.close();
      const resume = w.resumePoint();
      this.watchers.set(prefix, w = new ZkPrefixWatcher(this.zk, prefix, resume));
    }
    if (!w) this.watchers.set(prefix, w = new ZkPrefixWatcher(this.zk, prefix));
    return await w.changes(after, timeoutMs, signal);
  }

  watch(prefix: string, after: number, signal?: AbortSignal): AsyncIterable<WatchEvent> {
    return watchByPolling(this, prefix, after, signal);
  }

  async compact(revision: number): Promise<void> {
    this.check();
    await Promise.all([...this.watchers.values()].map((w) => w.ready.catch(() => {})));
    for (const w of this.watchers.values()) w.compact(revision);
  }

  async openSession(opts: SessionOptions): Promise<Session> {
    this.check();
    const conn = await ZkConn.open(this.opts.connect, opts.ttlMs, this.opts.connectTimeoutMs, this.opts.auth);
    const s = new ZkSession(this, conn);
    if (opts.autoRenew === false) s.stopRenewing();
    return this.sessions.add(s);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    await Promise.allSettled([...this.watchers.values()].map((w) => w.ready));
    await this.sessions.closeAll();
    await this.zk.close();
  }

  private check(): void {
    if (this.closed) throw new ClosedError();
  }

  /**
   * A dashboard or proxy keeps one client for its whole life: when the server expires the client's session (a
   * partition longer than the session timeout), open a new one rather than failing every call from then on.
   */
  private follow(conn: ZkConn): void {
    conn.gone.then(async () => {
      if (this.closed || this.conn !== conn) return;
      await conn.close().catch(() => {});
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          const next = await ZkConn.open(
            this.opts.connect,
            this.opts.sessionTimeoutMs ?? 30_000,
            this.opts.connectTimeoutMs,
            this.opts.auth,
          );
          if (this.closed) return void await next.close();
          this.conn = next;
          for (const w of this.watchers.values()) w.close();
          this.follow(next);
          return;
        } catch {
          await sleep(Math.min(2000, 100 * 2 ** attempt));
        }
      }
    });
  }
}

class ZkSession implements Session {
  readonly id: string;
  readonly ttlMs: number;
  readonly lost: Promise<void>;

  constructor(private readonly c: ZooKeeperClient, private readonly conn: ZkConn) {
    this.id = conn.sessionId;
    this.ttlMs = conn.sessionTimeoutMs;
    this.lost = conn.gone;
  }

  async createEphemeral(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    const r = await this.c.createOn(this.conn, path, data, ZK.EPHEMERAL, opts?.requestId);
    return r.replay ? zxid(r.replay.czxid) : r.zxid;
  }

  async createEphemeralInOrder(prefix: string, data: Uint8Array, opts?: WriteOptions): Promise<string> {
    checkPath(prefix + "0");
    const r = await this.c.createOn(this.conn, prefix, data, ZK.EPHEMERAL_SEQUENTIAL, opts?.requestId);
    if (!r.replay) return r.paths[0]!;
    // A retry: find the node the first attempt created (same transaction, so same czxid).
    const parent = parentOf(prefix + "0");
    const name = prefix.slice(parent === "/" ? 1 : parent.length + 1);
    const kids = (await this.conn.getChildren(parent))?.children ?? [];
    for (const k of kids.filter((k) => k.startsWith(name))) {
      const p = (parent === "/" ? "/" : parent + "/") + k;
      const st = await this.conn.exists(p);
      if (st && zxid(st.czxid) === zxid(r.replay.czxid)) return p;
    }
    throw new NotFoundError(`${prefix}* (created by request ${opts?.requestId}, since deleted)`);
  }

  async renew(): Promise<void> {
    if (await Promise.race([this.lost.then(() => true), Promise.resolve(false)])) {
      throw new SessionExpiredError(this.id);
    }
    await this.conn.exists("/");
  }

  stopRenewing(): void {
    this.conn.stopPinging();
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

function zkFailure(code: number, path: string): StoreError {
  if (code === ZK.BAD_ARGUMENTS) return badArguments(JSON.stringify(path));
  if (code === ZK.NOT_EMPTY) return new NotEmptyError(path);
  if (code === ZK.NO_CHILDREN_FOR_EPHEMERALS) {
    return new InvalidArgumentError(`zookeeper: ${path}: an ephemeral node cannot have children`);
  }
  if (code === ZK.NO_NODE) return new NotFoundError(path);
  return new StoreError("invalid", `zookeeper error ${code} on ${path}`);
}
