/**
 * Prefix watches over ZooKeeper, which has no event history and only one-shot watches. A watcher keeps a
 * snapshot of the watched subtree, holds a one-shot data/child watch on every node in it, and on any trigger
 * rescans the subtree and turns the difference into events:
 * - a put carries the node's mzxid; a delete carries the zxid the server reported at the end of the rescan;
 * - revisions are made strictly increasing per watcher (`max(zxid, last + 1)`), so resuming after the last
 *   revision seen never skips or repeats an event even if a rescan sees an older zxid late;
 * - several updates of one node between two rescans coalesce into one put (the state converges, the
 *   intermediate values are not reported) — ZooKeeper's own watch semantics;
 * - history starts when the watcher is created: asking for an older revision is served only when nothing under
 *   the prefix changed since it (checked with the mzxid/pzxid of the first scan), else CompactedError;
 * - a watcher replacing one whose session expired continues its numbering ({@link ResumePoint}): its revisions may
 *   have run ahead of the server's zxids (several deletes of one transaction get one number each), so a change
 *   made since the old watcher's last scan compacts everything up to the old numbering instead of hiding below it.
 * @module
 */
import type { ChangeBatch, WatchEvent } from "./client.ts";
import { parentOf } from "./client.ts";
import { CompactedError } from "./errors.ts";
import { Wakeups } from "./wakeups.ts";
import { type ZkConn, zxid } from "./zookeeper_conn.ts";

const MAX_HISTORY = 10_000;

/** Where an expired watcher stopped: its last revision, and the highest mzxid/pzxid its last scan saw. */
export interface ResumePoint {
  revision: number;
  maxZxid: number;
}

/** One prefix watch on one connection. */
export class ZkPrefixWatcher {
  private snap = new Map<string, { mzxid: number; data: Uint8Array }>();
  private history: WatchEvent[] = [];
  private last = 0;
  /** The highest mzxid/pzxid of the last scan: any change of the subtree since raises it. */
  private seenZxid = 0;
  /** Requests with `after` below this are compacted. */
  private floor = 0;
  private dirty = false;
  private scanning: Promise<void> | undefined;
  private readonly wakeups = new Wakeups();
  private readonly root: string;
  private closed = false;
  private readonly trigger = () => this.kick();
  /** Set once the first scan finished. */
  readonly ready: Promise<void>;

  constructor(readonly zk: ZkConn, readonly prefix: string, private readonly resumeFrom?: ResumePoint) {
    this.root = prefix.endsWith("/") ? (prefix.length > 1 ? prefix.slice(0, -1) : "/") : parentOf(prefix);
    this.ready = this.firstScan();
  }

  /** The last revision handed out (at least the server's zxid at the last scan). */
  get revision(): number {
    return this.last;
  }

  /** Where a watcher that replaces this one (after its session expired) continues. */
  resumePoint(): ResumePoint {
    return { revision: this.last, maxZxid: this.seenZxid };
  }

  /** Events after `after`, waiting up to `ms` for some. */
  async changes(after: number, ms: number, signal?: AbortSignal): Promise<ChangeBatch> {
    await this.ready;
    const deadline = performance.now() + Math.max(0, ms);
    for (let round = 0; round < 100_000; round++) {
      if (after < this.floor) throw new CompactedError(after, this.floor);
      if (this.scanning) await this.scanning;
      const events = this.history.filter((e) => e.revision > after);
      if (events.length) return { revision: events[events.length - 1].revision, events };
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted || this.closed) break;
      await this.wakeups.wait(left, signal);
    }
    return { revision: Math.max(after, this.last), events: [] };
  }

  /** Drops history up to `revision`. */
  compact(revision: number): void {
    this.floor = Math.max(this.floor, Math.min(revision, this.last));
    this.history = this.history.filter((e) => e.revision > this.floor);
  }

  /** Wakes waiters; one-shot watches left on the server fire into a closed watcher harmlessly. */
  close(): void {
    this.closed = true;
    this.wakeups.wakeAll();
  }

  private async firstScan(): Promise<void> {
    const { nodes, maxZxid, asOf } = await this.scan();
    this.snap = nodes;
    this.seenZxid = maxZxid;
    this.floor = maxZxid;
    const prev = this.resumeFrom;
    // Changed since the expired watcher's last scan: a caller caught up with its numbering missed that change.
    if (prev && maxZxid > prev.maxZxid) this.floor = Math.max(this.floor, prev.revision + 1);
    this.last = Math.max(asOf, maxZxid, this.floor, prev?.revision ?? 0);
  }

  private kick(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.scanning) return;
    this.scanning = (async () => {
      try {
        await this.ready;
        for (let i = 0; i < 1000 && this.dirty && !this.closed; i++) {
          this.dirty = false;
          await this.rescan();
        }
      } catch {
        this.dirty = true; // connection trouble: the next trigger or request retries
      } finally {
        this.scanning = undefined;
      }
    })();
  }

  private async rescan(): Promise<void> {
    const { nodes, asOf, maxZxid } = await this.scan();
    this.seenZxid = Math.max(this.seenZxid, maxZxid);
    const fresh: WatchEvent[] = [];
    for (const [path, n] of nodes) {
      const old = this.snap.get(path);
      if (!old || old.mzxid !== n.mzxid) fresh.push({ type: "put", path, revision: n.mzxid, data: n.data });
    }
    for (const path of this.snap.keys()) {
      if (!nodes.has(path)) fresh.push({ type: "delete", path, revision: asOf });
    }
    this.snap = nodes;
    fresh.sort((a, b) => a.revision - b.revision || a.path.localeCompare(b.path));
    for (const e of fresh) {
      e.revision = Math.max(e.revision, this.last + 1);
      this.last = e.revision;
      this.history.push(e);
    }
    this.last = Math.max(this.last, asOf);
    if (this.history.length > MAX_HISTORY) {
      const cut = this.history.length - MAX_HISTORY;
      this.floor = Math.max(this.floor, this.history[cut - 1].revision);
      this.history = this.history.slice(cut);
    }
    if (fresh.length) this.wakeups.wakeAll();
  }

  /** Reads the subtree under `root` that can match the prefix, leaving a one-shot watch on each node read. */
  private async scan(): Promise<
    { nodes: Map<string, { mzxid: number; data: Uint8Array }>; maxZxid: number; asOf: number }
  > {
    const nodes = new Map<string, { mzxid: number; data: Uint8Array }>();
    let maxZxid = 0;
    const relevant = (p: string) => p.startsWith(this.prefix) || this.prefix.startsWith(p + "/") || p === "/";
    const walk = async (path: string, depth: number): Promise<void> => {
      const got = await this.zk.getData(path, this.trigger);
      if (!got) return;
      maxZxid = Math.max(maxZxid, zxid(got.stat.mzxid), zxid(got.stat.pzxid));
      if (path.startsWith(this.prefix)) nodes.set(path, { mzxid: zxid(got.stat.mzxid), data: got.data });
      const kids = await this.zk.getChildren(path, this.trigger);
      if (!kids || depth > 32) return;
      maxZxid = Math.max(maxZxid, zxid(kids.stat.pzxid));
      const base = path === "/" ? "/" : path + "/";
      await Promise.all(kids.children.map((k) => base + k).filter(relevant).map((p) => walk(p, depth + 1)));
    };
    const rootStat = await this.zk.exists(this.root, this.trigger);
    if (rootStat) await walk(this.root, 0);
    else {
      // The root does not exist yet: its parent's pzxid says when it last lost or gained children.
      const up = await this.zk.exists(parentOf(this.root));
      maxZxid = Math.max(maxZxid, zxid(up?.pzxid));
    }
    const asOf = await this.zk.serverZxid();
    return { nodes, maxZxid, asOf };
  }
}
