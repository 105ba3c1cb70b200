/**
 * Filesystem store: single node, Codis's layout. Node `/codis3/demo/topom` is the file
 * `{root}/data/codis3/demo/topom`; a node with children is a directory (so a node cannot hold data and have
 * children at once). Writes go through `{root}/temp` and a rename, so readers never see half a file.
 *
 * - Lock: `{root}/data.lck` is created exclusively and holds the owner's pid; a lock whose pid is no longer
 *   running is taken over. One process owns a root; clients inside it share one {@link FsStore}.
 * - Revisions are kept in `{root}/index.json` (global revision plus create/mod revision and version per node),
 *   rewritten atomically after each write. Files found on disk but missing from the index (written by hand or
 *   by Codis) are adopted at open with a fresh revision each.
 * - Watch history and the exactly-once table live in memory: history starts when the store is opened (older
 *   revisions are compacted) and request ids are remembered by this process only.
 * - No sessions: ephemeral nodes are refused with UnsupportedError.
 * @module
 */
import { type ChangeBatch, type CoordClient, directChildren, type StoreNode, type WatchEvent } from "./client.ts";
import { ClosedError, CompactedError, InvalidArgumentError, StoreError } from "./errors.ts";
import { FsClient } from "./fs_client.ts";
import { Wakeups } from "./wakeups.ts";

interface IndexFile {
  revision: number;
  nodes: Record<string, [number, number, number]>;
}

const MAX_HISTORY = 10_000;
const MAX_DEDUPE = 10_000;

/** A filesystem-backed store owning `{root}`. */
export class FsStore {
  private revision = 0;
  private compactRevision = 0;
  private readonly stats = new Map<string, [number, number, number]>();
  private history: WatchEvent[] = [];
  private readonly dedupe = new Map<string, number | StoreError>();
  private readonly wakeups = new Wakeups();
  private queue: Promise<unknown> = Promise.resolve();
  private refs = 0;
  private closed = false;

  private constructor(readonly root: string) {}

  /** Opens (creating if needed) the store under `root` and takes its lock. */
  static async open(root: string): Promise<FsStore> {
    const s = new FsStore(root);
    await Deno.mkdir(`${root}/data`, { recursive: true });
    await Deno.mkdir(`${root}/temp`, { recursive: true });
    await s.lock();
    try {
      await s.load();
    } catch (e) {
      await Deno.remove(`${root}/data.lck`).catch(() => {});
      throw e;
    }
    return s;
  }

  /** A client of this store; the store is released when every client is closed. */
  client(): CoordClient {
    if (this.closed) throw new ClosedError("filesystem store");
    this.refs++;
    return new FsClient(this);
  }

  /** Releases one client reference; the last one removes the lock. */
  async release(): Promise<void> {
    if (--this.refs > 0 || this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    this.wakeups.wakeAll();
    await Deno.remove(`${this.root}/data.lck`).catch(() => {});
  }

  /** Serialises one write: apply, persist the index, record events, wake long-polls. */
  write(rid: string | undefined, fn: (events: WatchEvent[]) => Promise<number>): Promise<number> {
    const run = async () => {
      if (this.closed) throw new ClosedError("filesystem store");
      if (rid !== undefined && this.dedupe.has(rid)) {
        const prior = this.dedupe.get(rid)!;
        if (prior instanceof StoreError) throw prior;
        return prior;
      }
      const events: WatchEvent[] = [];
      let result: number | StoreError;
      try {
        result = await fn(events);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        result = e;
      }
      if (events.length) {
        await this.saveIndex();
        this.history.push(...events);
        if (this.history.length > MAX_HISTORY) {
          const cut = this.history.length - MAX_HISTORY;
          this.compactRevision = Math.max(this.compactRevision, this.history[cut - 1].revision);
          this.history = this.history.slice(cut);
        }
        this.wakeups.wakeAll();
      }
      if (rid !== undefined) {
        this.dedupe.set(rid, result);
        if (this.dedupe.size > MAX_DEDUPE) this.dedupe.delete(this.dedupe.keys().next().value!);
      }
      if (result instanceof StoreError) throw result;
      return result;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  /** Writes `data` at `path` with a new revision (the caller holds the write queue). */
  async put(path: string, data: Uint8Array, events: WatchEvent[], at?: number): Promise<number> {
    const file = this.file(path);
    const dir = file.slice(0, file.lastIndexOf("/"));
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch {
      throw new InvalidArgumentError(`filesystem store: a parent of ${path} is a node with data`);
    }
    const st = await Deno.stat(file).catch(() => undefined);
    if (st?.isDirectory) throw new InvalidArgumentError(`filesystem store: ${path} has children and cannot hold data`);
    const tmp = `${this.root}/temp/${crypto.randomUUID()}`;
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, file);
    const rev = at ?? this.revision + 1;
    this.revision = Math.max(this.revision, rev);
    const cur = this.stats.get(path);
    this.stats.set(path, cur ? [cur[0], rev, cur[2] + 1] : [rev, rev, 1]);
    events.push({ type: "put", path, revision: rev, data });
    return rev;
  }

  /** Deletes the node at `path` (and empty parent directories). Returns 0 when absent. */
  async remove(path: string, events: WatchEvent[], at?: number): Promise<number> {
    if (!this.stats.has(path)) return 0;
    await Deno.remove(this.file(path)).catch(() => {});
    this.stats.delete(path);
    const rev = at ?? this.revision + 1;
    this.revision = Math.max(this.revision, rev);
    events.push({ type: "delete", path, revision: rev });
    for (let p = path.slice(0, path.lastIndexOf("/")); p.length > 0; p = p.slice(0, p.lastIndexOf("/"))) {
      try {
        await Deno.remove(this.file(p));
      } catch {
        break; // not empty
      }
    }
    return rev;
  }

  /** The stat of a node, or undefined. */
  stat(path: string): [number, number, number] | undefined {
    return this.stats.get(path);
  }

  async readNode(path: string): Promise<StoreNode | undefined> {
    const s = this.stats.get(path);
    if (!s) return undefined;
    const data = await Deno.readFile(this.file(path)).catch(() => undefined);
    if (!data) return undefined;
    return { path, data, stat: { createRevision: s[0], modRevision: s[1], version: s[2] } };
  }

  children(path: string): string[] {
    return directChildren(path, this.stats.keys());
  }

  current(): number {
    return this.revision;
  }

  /** Events under `prefix` after `after`, or waits for them up to `ms`. */
  async changes(prefix: string, after: number, ms: number, signal?: AbortSignal): Promise<ChangeBatch> {
    const deadline = performance.now() + Math.max(0, ms);
    for (let round = 0; round < 100_000; round++) {
      if (this.closed) throw new ClosedError("filesystem store");
      if (after < this.compactRevision) throw new CompactedError(after, this.compactRevision);
      const events = this.history.filter((e) => e.revision > after && e.path.startsWith(prefix));
      if (events.length) return { revision: this.revision, events };
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted) break;
      await this.wakeups.wait(left, signal);
    }
    return { revision: Math.max(after, this.revision), events: [] };
  }

  compact(revision: number): void {
    const rev = Math.min(revision, this.revision);
    if (rev <= this.compactRevision) return;
    this.compactRevision = rev;
    this.history = this.history.filter((e) => e.revision > rev);
  }

  private file(path: string): string {
    return `${this.root}/data${path === "/" ? "" : path}`;
  }

  private async lock(): Promise<void> {
    const lockFile = `${this.root}/data.lck`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await Deno.writeTextFile(lockFile, String(Deno.pid), { createNew: true });
        return;
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        const pid = Number((await Deno.readTextFile(lockFile).catch(() => "")).trim());
        const alive = pid > 0 && await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
        if (alive) {
          throw new StoreError("exists", `filesystem store ${this.root} is locked by running process ${pid}`);
        }
        await Deno.remove(lockFile).catch(() => {});
      }
    }
    throw new StoreError("exists", `filesystem store ${this.root}: could not take ${lockFile}`);
  }

  private async load(): Promise<void> {
    const idx: IndexFile = await Deno.readTextFile(`${this.root}/index.json`).then(
      (t) => JSON.parse(t) as IndexFile,
      () => ({ revision: 0, nodes: {} }),
    );
    this.revision = idx.revision;
    const onDisk: string[] = [];
    const walk = async (dir: string, path: string, depth: number) => {
      if (depth > 64) return;
      for await (const e of Deno.readDir(dir)) {
        const p = `${path}/${e.name}`;
        if (e.isDirectory) await walk(`${dir}/${e.name}`, p, depth + 1);
        else if (e.isFile) onDisk.push(p);
      }
    };
    await walk(`${this.root}/data`, "", 0);
    let adopted = false;
    for (const p of onDisk.sort()) {
      const s = idx.nodes[p];
      if (s) this.stats.set(p, s);
      else {
        const rev = ++this.revision;
        this.stats.set(p, [rev, rev, 1]);
        adopted = true;
      }
    }
    if (adopted || onDisk.length !== Object.keys(idx.nodes).length) await this.saveIndex();
    this.compactRevision = this.revision;
  }

  private async saveIndex(): Promise<void> {
    const idx: IndexFile = { revision: this.revision, nodes: Object.fromEntries(this.stats) };
    const tmp = `${this.root}/temp/index.${crypto.randomUUID()}`;
    await Deno.writeTextFile(tmp, JSON.stringify(idx));
    await Deno.rename(tmp, `${this.root}/index.json`);
  }
}

/** Opens a single client on `root` (the store is released when the client closes). */
export async function openFsClient(root: string): Promise<CoordClient> {
  return (await FsStore.open(root)).client();
}
