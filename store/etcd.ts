/**
 * etcd v3 store (npm:etcd3). Node paths are etcd keys as they are; revisions are etcd's (`mod_revision`,
 * `create_revision`, header revision); compare-and-set and create-if-absent are etcd transactions; watches are
 * etcd watches from `afterRevision + 1`; sessions are leases (ephemeral nodes are keys attached to the lease).
 *
 * Bookkeeping keys start with a NUL byte so that no `/...` prefix ever sees them:
 * - `\0seq{parent}`: the per-parent counter of in-order nodes (bumped in the same transaction as the create);
 * - `\0rid/{requestId}`: the exactly-once marker, written in the same transaction as the write it guards and
 *   attached to a 10-minute lease, so a retry within that window finds it and gets the first answer.
 *
 * Limits: an empty long-poll answer carries `afterRevision` (npm:etcd3 cannot request a progress notification,
 * and a header revision alone does not prove the watcher has caught up). A retried write whose first attempt
 * failed (e.g. ExistsError) is simply tried again.
 * @module
 */
import { Buffer } from "node:buffer";
import { Etcd3, type IKeyValue, type IRequestOp } from "etcd3";
import { EtcdSession } from "./etcd_session.ts";
import { OpenSessions } from "./session_base.ts";
import { type BatchOp, type ChangeBatch, checkBatch, checkPath, type CoordClient, directChildren } from "./client.ts";
import type { Session, SessionOptions, StoreNode, WatchEvent, WriteOptions } from "./client.ts";
import { sleep, watchByPolling } from "./client.ts";
import {
  ClosedError,
  CompactedError,
  ExistsError,
  InvalidArgumentError,
  NoQuorumError,
  NotFoundError,
  RevisionConflictError,
} from "./errors.ts";

/** An etcd key from a path. */
export const key = (s: string): Buffer => Buffer.from(s);
const ridKey = (rid: string) => key(`\0rid/${rid}`);
const RID_LEASE_SEC = 600;
/**
 * etcd refuses a request over `--max-request-bytes` (1.5 MiB by default), and npm:etcd3 then opens its circuit
 * breaker, failing every call for seconds: refuse it here, with a clear error. A value counts twice in an
 * update (see {@link putKeepingLease}), so the largest value an update takes is about 750 KiB.
 */
const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024 - 16 * 1024;

/** Bytes of keys and values a transaction sends (nested transactions included). */
function requestBytes(ops: IRequestOp[]): number {
  let n = 0;
  for (const o of ops) {
    if (o.request_put) n += (o.request_put.key?.length ?? 0) + (o.request_put.value?.length ?? 0);
    if (o.request_txn) n += requestBytes(o.request_txn.success ?? []) + requestBytes(o.request_txn.failure ?? []);
  }
  return n;
}

/** Exclusive end of the key range that starts with `prefix`. */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i]++;
      return out;
    }
  }
  return Buffer.from([0]);
}

/**
 * A put that keeps the key's lease: a plain etcd put detaches the key from its lease, which would turn an
 * ephemeral node written by update/cas/batch into a persistent one that outlives its owner. `ignore_lease` keeps
 * the lease but fails on an absent key, hence the nested transaction choosing between the two.
 */
function putKeepingLease(path: string, data: Uint8Array): IRequestOp {
  const k = key(path), value = Buffer.from(data);
  return {
    request_txn: {
      compare: [{ key: k, target: "Lease", result: "Equal", lease: 0 }],
      success: [{ request_put: { key: k, value } }],
      failure: [{ request_put: { key: k, value, ignore_lease: true } }],
    },
  };
}

function toNode(path: string, kv: IKeyValue): StoreNode {
  const stat: StoreNode["stat"] = {
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
  if (kv.lease && kv.lease !== "0") stat.session = String(kv.lease);
  return { path, data: new Uint8Array(kv.value), stat };
}

/** Maps transport failures to NoQuorumError so callers see one "retry later" error. */
export function mapError(e: unknown): unknown {
  const msg = String((e as Error)?.message ?? e);
  if (/unavailable|no connection|deadline|ECONNREFUSED|leader|circuit breaker/i.test(msg)) {
    return new NoQuorumError(`etcd: ${msg}`);
  }
  return e;
}

/** Options of {@link EtcdClient}. */
export interface EtcdOptions {
  /** Endpoints, "host:port" or URLs. */
  endpoints: string[];
  /** Dial timeout in ms (default 3000). */
  dialTimeoutMs?: number;
  /** "user:password" (Codis's `--etcd-auth`). */
  auth?: string;
}

/** CoordClient over etcd v3. */
export class EtcdClient implements CoordClient {
  readonly kind = "etcd" as const;
  readonly etcd: Etcd3;
  private closed = false;
  private readonly sessions = new OpenSessions();
  private ridLease: { id: Promise<string>; at: number } | undefined;

  constructor(opts: EtcdOptions) {
    const hosts = opts.endpoints.map((e) => e.includes("://") ? e : `http://${e}`);
    const i = opts.auth?.indexOf(":") ?? -1;
    const auth = opts.auth && i > 0 ? { username: opts.auth.slice(0, i), password: opts.auth.slice(i + 1) } : undefined;
    this.etcd = new Etcd3({ hosts, dialTimeout: opts.dialTimeoutMs ?? 3000, auth });
  }

  /** Runs `ops` if every compare holds; with a request id, also records/consults the exactly-once marker. */
  async txn(
    compare: Parameters<Etcd3["kv"]["txn"]>[0]["compare"] & object,
    success: IRequestOp[],
    failure: IRequestOp[],
    rid?: string,
    markerValue = "",
  ): Promise<{ ok: true; revision: number } | { ok: false; replay?: IKeyValue; failure: IKeyValue[][] }> {
    this.check();
    const size = requestBytes(success);
    if (size > MAX_REQUEST_BYTES) {
      throw new InvalidArgumentError(`etcd: a write of ${size} bytes is over etcd's request limit (1.5 MiB)`);
    }
    const cmp = [...compare];
    const succ = [...success];
    const fail = [...failure];
    if (rid !== undefined) {
      cmp.push({ key: ridKey(rid), target: "Version", result: "Equal", version: 0 });
      succ.push({ request_put: { key: ridKey(rid), value: Buffer.from(markerValue), lease: await this.ridLeaseId() } });
      fail.push({ request_range: { key: ridKey(rid) } });
    }
    let res;
    try {
      res = await this.etcd.kv.txn({ compare: cmp, success: succ, failure: fail });
    } catch (e) {
      throw mapError(e);
    }
    if (res.succeeded) return { ok: true, revision: Number(res.header.revision) };
    const ranges = res.responses.map((r) => r.response_range?.kvs ?? []);
    const replay = rid !== undefined ? ranges.pop()![0] : undefined;
    return { ok: false, replay, failure: ranges };
  }

  async create(path: string, data: Uint8Array, opts?: WriteOptions, lease?: string): Promise<number> {
    checkPath(path);
    const r = await this.txn(
      [{ key: key(path), target: "Create", result: "Equal", create_revision: 0 }],
      [{ request_put: { key: key(path), value: Buffer.from(data), lease: lease ?? 0 } }],
      [],
      opts?.requestId,
    );
    if (r.ok) return r.revision;
    if (r.replay) return Number(r.replay.mod_revision);
    throw new ExistsError(path);
  }

  async update(path: string, data: Uint8Array, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    const r = await this.txn([], [putKeepingLease(path, data)], [], opts?.requestId);
    if (r.ok) return r.revision;
    return Number(r.replay!.mod_revision);
  }

  async delete(path: string, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    const r = await this.txn(
      [{ key: key(path), target: "Create", result: "Greater", create_revision: 0 }],
      [{ request_delete_range: { key: key(path) } }],
      [],
      opts?.requestId,
    );
    if (r.ok) return r.revision;
    return r.replay ? Number(r.replay.mod_revision) : 0;
  }

  async batch(ops: BatchOp[], opts?: WriteOptions): Promise<number> {
    checkBatch(ops);
    const compare: Parameters<EtcdClient["txn"]>[0] = [];
    const success: IRequestOp[] = [];
    for (const o of ops) {
      if (o.op === "create") {
        compare.push({ key: key(o.path), target: "Create", result: "Equal", create_revision: 0 });
        success.push({ request_put: { key: key(o.path), value: Buffer.from(o.data) } });
      } else if (o.op === "update") success.push(putKeepingLease(o.path, o.data));
      else if (o.op === "delete") success.push({ request_delete_range: { key: key(o.path) } });
      else compare.push({ key: key(o.path), target: "Mod", result: "Equal", mod_revision: o.expected });
    }
    const guarded = ops.filter((o) => o.op === "create" || o.op === "check");
    const r = await this.txn(
      compare,
      success,
      guarded.map((o) => ({ request_range: { key: key(o.path) } })),
      opts?.requestId,
    );
    if (r.ok) return r.revision;
    if (r.replay) return Number(r.replay.mod_revision);
    guarded.forEach((o, i) => {
      const actual = Number(r.failure[i]?.[0]?.mod_revision ?? 0);
      if (o.op === "create" && actual) throw new ExistsError(o.path);
      if (o.op === "check" && actual !== o.expected) throw new RevisionConflictError(o.path, o.expected, actual);
    });
    throw new RevisionConflictError(guarded[0]?.path ?? "?", 0, 0);
  }

  async cas(path: string, data: Uint8Array | null, expected: number, opts?: WriteOptions): Promise<number> {
    checkPath(path);
    const op: IRequestOp = data === null ? { request_delete_range: { key: key(path) } } : putKeepingLease(path, data);
    const r = await this.txn(
      [{ key: key(path), target: "Mod", result: "Equal", mod_revision: expected }],
      expected === 0 && data === null ? [] : [op],
      [{ request_range: { key: key(path) } }],
      opts?.requestId,
    );
    if (r.ok) {
      if (expected === 0 && data === null) throw new NotFoundError(path);
      return r.revision;
    }
    if (r.replay) return Number(r.replay.mod_revision);
    throw new RevisionConflictError(path, expected, Number(r.failure[0]?.[0]?.mod_revision ?? 0));
  }

  read(path: string, must: true): Promise<StoreNode>;
  read(path: string, must?: boolean): Promise<StoreNode | undefined>;
  async read(path: string, must = false): Promise<StoreNode | undefined> {
    checkPath(path);
    this.check();
    const res = await this.etcd.kv.range({ key: key(path) }).catch((e) => Promise.reject(mapError(e)));
    const kv = res.kvs[0];
    if (!kv) {
      if (must) throw new NotFoundError(path);
      return undefined;
    }
    return toNode(path, kv);
  }

  async list(path: string, must = false): Promise<string[]> {
    checkPath(path);
    this.check();
    const base = path === "/" ? "/" : path + "/";
    const res = await this.etcd.kv.range({ key: key(base), range_end: prefixEnd(base), keys_only: true })
      .catch((e) => Promise.reject(mapError(e)));
    const kids = directChildren(path, res.kvs.map((kv) => kv.key.toString()));
    if (must && kids.length === 0 && !(await this.read(path))) throw new NotFoundError(path);
    return kids;
  }

  async revision(): Promise<number> {
    this.check();
    const res = await this.etcd.kv.range({ key: key("\0"), limit: 1 }).catch((e) => Promise.reject(mapError(e)));
    return Number(res.header.revision);
  }

  async waitForChanges(prefix: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<ChangeBatch> {
    this.check();
    const watcher = await this.etcd.watch().prefix(prefix).startRevision(String(after + 1)).create()
      .catch((e) => Promise.reject(mapError(e)));
    try {
      const got = await new Promise<WatchEvent[] | Error>((resolve) => {
        const done = (v: WatchEvent[] | Error) => {
          clearTimeout(t);
          signal?.removeEventListener("abort", onAbort);
          resolve(v);
        };
        const onAbort = () => done([]);
        const t = setTimeout(onAbort, Math.max(0, timeoutMs));
        signal?.addEventListener("abort", onAbort, { once: true });
        watcher.on("data", (res) => {
          const evs: WatchEvent[] = res.events.map((ev) => {
            const e: WatchEvent = {
              type: ev.type === "Delete" ? "delete" : "put",
              path: ev.kv.key.toString(),
              revision: Number(ev.kv.mod_revision),
            };
            if (e.type === "put") e.data = new Uint8Array(ev.kv.value);
            return e;
          });
          if (evs.length) done(evs);
        });
        watcher.on("error", (err) => done(err));
      });
      if (got instanceof Error) throw await this.explainWatchError(got, after);
      if (got.length === 0) return { revision: after, events: [] };
      return { revision: got[got.length - 1].revision, events: got };
    } finally {
      await watcher.cancel().catch(() => {});
    }
  }

  watch(prefix: string, after: number, signal?: AbortSignal): AsyncIterable<WatchEvent> {
    return watchByPolling(this, prefix, after, signal);
  }

  async compact(revision: number): Promise<void> {
    this.check();
    await this.etcd.kv.compact({ revision, physical: true }).catch((e) => {
      if (!/compacted/.test(String(e?.message))) throw mapError(e);
    });
  }

  async openSession(opts: SessionOptions): Promise<Session> {
    this.check();
    const ttlSec = Math.max(1, Math.ceil(opts.ttlMs / 1000));
    const lease = this.etcd.lease(ttlSec, { autoKeepAlive: false });
    lease.on("lost", () => {});
    const id = await lease.grant().catch((e) => Promise.reject(mapError(e)));
    const ttl = await this.etcd.leaseClient.leaseTimeToLive({ ID: id });
    return this.sessions.add(new EtcdSession(this, lease, id, Number(ttl.grantedTTL) * 1000, opts.autoRenew ?? true));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sessions.closeAll();
    this.closed = true;
    if (this.ridLease) {
      const id = await this.ridLease.id.catch(() => undefined);
      if (id) await this.etcd.leaseClient.leaseRevoke({ ID: id }).catch(() => {});
    }
    this.etcd.close();
  }

  /** Whether lease `id` is still alive. */
  async leaseAlive(id: string): Promise<boolean> {
    const r = await this.etcd.leaseClient.leaseTimeToLive({ ID: id });
    return Number(r.TTL) > 0;
  }

  check(): void {
    if (this.closed) throw new ClosedError();
  }

  private ridLeaseId(): Promise<string> {
    // Markers only need to outlive client retries; a fresh lease every 5 minutes keeps every marker >= 5 min.
    if (!this.ridLease || Date.now() - this.ridLease.at > (RID_LEASE_SEC / 2) * 1000) {
      const id = this.etcd.leaseClient.leaseGrant({ TTL: RID_LEASE_SEC, ID: 0 }).then((r) => String(r.ID));
      this.ridLease = { id, at: Date.now() };
    }
    return this.ridLease.id;
  }

  private async explainWatchError(err: Error, after: number): Promise<unknown> {
    const hi = await this.revision();
    const readable = (rev: number) =>
      this.etcd.kv.range({ key: key("\0"), revision: rev, limit: 1 }).then(() => true, () => false);
    if (await readable(after + 1)) return mapError(err);
    let lo = after + 1, h = hi; // lo is compacted, h is readable
    for (let i = 0; i < 64 && h - lo > 1; i++) {
      const mid = Math.floor((lo + h) / 2);
      if (await readable(mid)) h = mid;
      else lo = mid;
    }
    return new CompactedError(after, h - 1);
  }
}

/** Waits until an etcd endpoint answers a range request, or throws after `timeoutMs`. */
export async function waitForEtcd(client: EtcdClient, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.revision();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}
