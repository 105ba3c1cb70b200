/**
 * A promise wrapper over one npm:node-zookeeper-client connection (one ZooKeeper session), typed with the few
 * calls the store uses. Writes go through MULTI so that the zxid of the write can be read from the reply
 * header: the library sets `connectionManager.zxid` just before it calls the MULTI callback, synchronously.
 * @module
 */
import { Buffer } from "node:buffer";
import zookeeper from "node-zookeeper-client";
import { InvalidArgumentError, NoQuorumError, SessionExpiredError, StoreError } from "./errors.ts";
import { StallTolerantTimeout } from "../util/stall_tolerant_timeout.ts";

/** ZooKeeper's node metadata (zxids are 8-byte big-endian buffers). */
export interface ZkStat {
  czxid: Buffer;
  mzxid: Buffer;
  pzxid: Buffer;
  version: number;
  ephemeralOwner: Buffer;
  numChildren: number;
}

/** An error from the library; `code` is ZooKeeper's (negative) error code. */
export interface ZkError extends Error {
  code: number;
}

type Cb<T> = (err: ZkError | null, v: T, stat: ZkStat) => void;
type Watcher = (ev: unknown) => void;

/** One queued op of a MULTI. */
export type ZkOp =
  | { op: "create"; path: string; data: Uint8Array; mode: number }
  | { op: "set"; path: string; data: Uint8Array; version: number }
  | { op: "remove"; path: string; version: number }
  | { op: "check"; path: string; version: number };

interface ZkTxn {
  create(path: string, data: Buffer, acls: unknown[], mode: number): ZkTxn;
  setData(path: string, data: Buffer, version: number): ZkTxn;
  remove(path: string, version: number): ZkTxn;
  check(path: string, version: number): ZkTxn;
  commit(cb: (err: ZkError | null, results: { type: number; path?: string; err?: number }[]) => void): void;
}

interface RawClient {
  connect(): void;
  close(): void;
  once(ev: string, fn: (...a: unknown[]) => void): void;
  on(ev: string, fn: (...a: unknown[]) => void): void;
  getSessionId(): Buffer;
  getSessionTimeout(): number;
  getData(path: string, ...rest: unknown[]): void;
  getChildren(path: string, ...rest: unknown[]): void;
  exists(path: string, ...rest: unknown[]): void;
  mkdirp(path: string, acls: unknown[], cb: (err: ZkError | null) => void): void;
  addAuthInfo(scheme: string, auth: Buffer): void;
  transaction(): ZkTxn;
  connectionManager: { zxid: Buffer; onSocketTimeout: () => void };
}

/** ZooKeeper error codes used here. */
export const ZK = {
  BAD_ARGUMENTS: -8,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NO_CHILDREN_FOR_EPHEMERALS: -108,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
  CONNECTION_LOSS: -4,
  PERSISTENT: 0,
  EPHEMERAL: 1,
  EPHEMERAL_SEQUENTIAL: 3,
} as const;

/** An 8-byte zxid as a number (exact below 2^53: epochs below 2^21). */
export function zxid(b: Buffer | undefined): number {
  if (!b || b.length < 8) return 0;
  return b.readUInt32BE(0) * 2 ** 32 + b.readUInt32BE(4);
}

/** One ZooKeeper session. */
export class ZkConn {
  /** Resolves when the session expires or the connection is closed. */
  readonly gone: Promise<void>;
  private markGone!: () => void;
  private closed = false;

  /** Pending while disconnected: gives the session up once the server has surely expired it. */
  private cutOff: ReturnType<typeof setTimeout> | undefined;

  private constructor(private readonly raw: RawClient, private readonly acls: unknown[]) {
    this.gone = new Promise((r) => this.markGone = r);
    raw.on("expired", () => this.markGone());
    raw.on("disconnected", () => {
      if (this.closed) return this.markGone();
      // The server expires the session one timeout after it last heard from us, no later than now. Reconnecting
      // within it keeps the session (a hiccup); otherwise a standby may already hold what our ephemeral nodes
      // held, so the session is given up then, instead of when the partition heals and the server says so.
      this.cutOff ??= setTimeout(() => {
        this.markGone();
        this.close().catch(() => {});
      }, this.sessionTimeoutMs);
    });
    raw.on("connected", () => {
      clearTimeout(this.cutOff);
      this.cutOff = undefined;
    });
    this.gone.then(() => clearTimeout(this.cutOff));
  }

  /**
   * Connects and waits for the session (or throws NoQuorumError after `timeoutMs`). With `auth` ("user:password",
   * Codis's `--zookeeper-auth`), the session authenticates with the digest scheme and creates nodes that only
   * that user can access (ZooKeeper's CREATOR_ALL_ACL).
   */
  static async open(connect: string, sessionTimeoutMs: number, timeoutMs = 10_000, auth?: string): Promise<ZkConn> {
    const raw = zookeeper.createClient(connect, {
      sessionTimeout: sessionTimeoutMs,
      spinDelay: 100,
      retries: 0,
    }) as unknown as RawClient;
    const acl = zookeeper.ACL as unknown as { CREATOR_ALL_ACL: unknown[]; OPEN_ACL_UNSAFE: unknown[] };
    const c = new ZkConn(raw, auth ? acl.CREATOR_ALL_ACL : acl.OPEN_ACL_UNSAFE);
    if (auth) raw.addAuthInfo("digest", Buffer.from(auth));
    await new Promise<void>((resolve, reject) => {
      // Stall tolerant: a session made while this process did not run is kept, not taken for a timeout.
      const t = new StallTolerantTimeout(timeoutMs, () => {
        c.close().finally(() => reject(new NoQuorumError(`zookeeper ${connect}: no session within ${timeoutMs} ms`)));
      });
      raw.once("connected", () => {
        t.clear();
        resolve();
      });
      raw.connect();
    });
    return c;
  }

  /** The session id in hex. */
  get sessionId(): string {
    return this.raw.getSessionId().toString("hex");
  }

  /** The negotiated session timeout in ms. */
  get sessionTimeoutMs(): number {
    return this.raw.getSessionTimeout();
  }

  /** Data and stat, or undefined when the node is absent. */
  getData(path: string, watcher?: Watcher): Promise<{ data: Uint8Array; stat: ZkStat } | undefined> {
    return new Promise((resolve, reject) => {
      const cb: Cb<Buffer | undefined> = (err, data, stat) => {
        if (err?.code === ZK.NO_NODE) resolve(undefined);
        else if (err) reject(mapZkError(err));
        else resolve({ data: data ? new Uint8Array(data) : new Uint8Array(), stat });
      };
      if (watcher) this.raw.getData(path, watcher, cb);
      else this.raw.getData(path, cb);
    });
  }

  /** Child names and the parent's stat, or undefined when the node is absent. */
  getChildren(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: ZkStat } | undefined> {
    return new Promise((resolve, reject) => {
      const cb: Cb<string[]> = (err, children, stat) => {
        if (err?.code === ZK.NO_NODE) resolve(undefined);
        else if (err) reject(mapZkError(err));
        else resolve({ children, stat });
      };
      if (watcher) this.raw.getChildren(path, watcher, cb);
      else this.raw.getChildren(path, cb);
    });
  }

  /** The stat, or undefined; with a watcher, also watches for creation. */
  exists(path: string, watcher?: Watcher): Promise<ZkStat | undefined> {
    return new Promise((resolve, reject) => {
      const cb = (err: ZkError | null, stat: ZkStat | null) => {
        if (err) reject(mapZkError(err));
        else resolve(stat ?? undefined);
      };
      if (watcher) this.raw.exists(path, watcher, cb);
      else this.raw.exists(path, cb);
    });
  }

  /** Creates `path` and missing ancestors as empty persistent nodes (no error when it exists). */
  mkdirp(path: string): Promise<void> {
    if (path === "/") return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.raw.mkdirp(
        path,
        this.acls,
        (err) => err && err.code !== ZK.NODE_EXISTS ? reject(mapZkError(err)) : resolve(),
      )
    );
  }

  /**
   * Runs ops atomically. Resolves with the per-op results and the zxid of the transaction, or with the error
   * code of the failing op (`code`), without throwing for ZooKeeper-level failures.
   */
  multi(ops: ZkOp[]): Promise<{ code: number; zxid: number; paths: (string | undefined)[] }> {
    return new Promise((resolve, reject) => {
      let tx = this.raw.transaction();
      for (const o of ops) {
        if (o.op === "create") tx = tx.create(o.path, Buffer.from(o.data), this.acls, o.mode);
        else if (o.op === "set") tx = tx.setData(o.path, Buffer.from(o.data), o.version);
        else if (o.op === "remove") tx = tx.remove(o.path, o.version);
        else tx = tx.check(o.path, o.version);
      }
      tx.commit((err, results) => {
        const z = zxid(this.raw.connectionManager.zxid);
        if (err && (err.code === ZK.CONNECTION_LOSS || err.code === ZK.SESSION_EXPIRED || !err.code)) {
          reject(mapZkError(err));
        } else resolve({ code: err?.code ?? 0, zxid: z, paths: (results ?? []).map((r) => r.path) });
      });
    });
  }

  /** The server's last processed zxid, as seen in the reply to a fresh request. */
  async serverZxid(): Promise<number> {
    await this.exists("/");
    return zxid(this.raw.connectionManager.zxid);
  }

  /** Simulates a dead owner: no more pings, so the server expires the session after its timeout. */
  stopPinging(): void {
    this.raw.connectionManager.onSocketTimeout = () => {};
  }

  /** Closes the session (its ephemeral nodes go at once) and waits for the socket to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const t = setTimeout(() => this.markGone(), 3000);
    this.raw.close();
    await this.gone;
    clearTimeout(t);
  }
}

/** Maps connection-level failures to NoQuorumError/SessionExpiredError. */
export function mapZkError(err: ZkError): Error {
  if (err.code === ZK.BAD_ARGUMENTS) return badArguments(err.message);
  if (err.code === ZK.NO_AUTH) return new StoreError("invalid", `zookeeper: not authorized (${err.message})`);
  if (err.code === ZK.SESSION_EXPIRED) return new SessionExpiredError("zookeeper session");
  if (err.code === ZK.CONNECTION_LOSS) return new NoQuorumError(`zookeeper: ${err.message}`);
  return err;
}

/** ZooKeeper refused a path or value: it allows no control characters nor U+D800–U+F8FF (so no emoji) in paths. */
export function badArguments(detail: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `zookeeper refused the request (${detail}): paths may not hold control characters or U+D800-U+F8FF`,
  );
}
