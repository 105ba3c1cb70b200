/**
 * The replicated hierarchical namespace as a pure, deterministic state machine (run by Raft, or directly by the
 * memory store). Everything here depends only on the sequence of applied commands: no clocks, no randomness.
 * Lease expiry is decided outside (by the leader, see `store/namespace_host.ts`) and arrives as a command.
 *
 * - One global `revision`, advanced by every write that changes the tree (failed writes do not advance it).
 * - Bounded event history for watches; `compactRevision` is the newest revision whose events were dropped.
 * - Sessions own ephemeral nodes; expiring a session deletes them all in one revision.
 * - Request ids make retried writes exactly-once (a bounded FIFO table of results).
 * @module
 */
import type { Entry, StateMachine } from "../raft/types.ts";
import type { WatchEvent } from "./client.ts";
import { directChildren, parentOf, sequenceSuffix } from "./client.ts";
import type { ErrorInfo } from "./errors.ts";
import { type ApplyResult, b64, type Command, decodeCommand, unb64 } from "./namespace_commands.ts";

/** A stored node. */
export interface NodeRecord {
  data: Uint8Array;
  create: number;
  mod: number;
  version: number;
  session?: string;
}

/** What listeners hear after each applied command. */
export interface AppliedCommand {
  index: number;
  cmd: Command;
  result: ApplyResult;
  events: WatchEvent[];
}

/** Tuning knobs (must be identical on every member). */
export interface NamespaceOptions {
  /** Events kept for watches (default 10 000); older revisions become compacted. */
  maxHistory?: number;
  /** Request ids remembered for exactly-once (default 10 000). */
  maxDedupe?: number;
}

interface SnapshotV1 {
  v: 1;
  revision: number;
  compactRevision: number;
  appliedIndex: number;
  nodes: [string, string, number, number, number, string | null][];
  sessions: [string, number][];
  seq: [string, number][];
  history: [number, "put" | "delete", string, string | null][];
  dedupe: [string, ApplyResult][];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The namespace state machine. */
export class NamespaceStateMachine implements StateMachine {
  revision = 0;
  compactRevision = 0;
  appliedIndex = 0;
  readonly nodes = new Map<string, NodeRecord>();
  /** session id → TTL in ms (the TTL is data; the clock that enforces it lives in the leader). */
  readonly sessions = new Map<string, number>();
  private readonly sessionNodes = new Map<string, Set<string>>();
  private readonly seq = new Map<string, number>();
  private history: WatchEvent[] = [];
  private readonly dedupe = new Map<string, ApplyResult>();
  private readonly listeners = new Set<(a: AppliedCommand) => void>();
  private readonly maxHistory: number;
  private readonly maxDedupe: number;

  constructor(opts: NamespaceOptions = {}) {
    this.maxHistory = opts.maxHistory ?? 10_000;
    this.maxDedupe = opts.maxDedupe ?? 10_000;
  }

  /** Registers a listener called synchronously after every applied command; returns the unsubscribe function. */
  subscribe(fn: (a: AppliedCommand) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Raft entry point. Conf entries and empty (leader no-op) entries only advance the applied index. */
  apply(entry: Entry): ApplyResult | undefined {
    this.appliedIndex = Math.max(this.appliedIndex, entry.index);
    if (entry.type !== "normal" || entry.data.length === 0) return undefined;
    let cmd: Command;
    try {
      cmd = decodeCommand(entry.data);
    } catch (e) {
      return { ok: false, error: { code: "invalid", message: String(e) } };
    }
    return this.applyCommand(cmd, entry.index);
  }

  /** Applies one decoded command (the memory store calls this directly). */
  applyCommand(cmd: Command, index = this.appliedIndex + 1): ApplyResult {
    this.appliedIndex = Math.max(this.appliedIndex, index);
    if (cmd.rid !== undefined) {
      const prior = this.dedupe.get(cmd.rid);
      if (prior) return prior;
    }
    const events: WatchEvent[] = [];
    const result = this.execute(cmd, events);
    if (cmd.rid !== undefined) {
      this.dedupe.set(cmd.rid, result);
      if (this.dedupe.size > this.maxDedupe) this.dedupe.delete(this.dedupe.keys().next().value!);
    }
    if (events.length) {
      this.history.push(...events);
      this.trimHistory();
    }
    const applied = { index, cmd, result, events };
    for (const fn of this.listeners) fn(applied);
    return result;
  }

  /** A node, or undefined. */
  get(path: string): NodeRecord | undefined {
    return this.nodes.get(path);
  }

  /** Sorted full paths of the direct children of `path` (O(n) scan: the tree is small). */
  children(path: string): string[] {
    return directChildren(path, this.nodes.keys());
  }

  /** True when a node exists at `path` or below it. */
  hasSubtree(path: string): boolean {
    if (this.nodes.has(path)) return true;
    return this.children(path).length > 0;
  }

  /**
   * Events under `prefix` with revision > `after`, at most about `limit` (never splitting a revision), and the
   * resume revision. Throws nothing: callers check `after < compactRevision` first.
   */
  eventsAfter(prefix: string, after: number, limit = 1000): { revision: number; events: WatchEvent[] } {
    const h = this.history;
    let lo = 0, hi = h.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (h[mid].revision <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: WatchEvent[] = [];
    for (let i = lo; i < h.length; i++) {
      if (out.length >= limit && h[i].revision !== out[out.length - 1].revision) {
        return { revision: out[out.length - 1].revision, events: out };
      }
      if (h[i].path.startsWith(prefix)) out.push(h[i]);
    }
    return { revision: this.revision, events: out };
  }

  /** Serialises the whole namespace, sessions, history and exactly-once table. */
  snapshot(): Uint8Array {
    const s: SnapshotV1 = {
      v: 1,
      revision: this.revision,
      compactRevision: this.compactRevision,
      appliedIndex: this.appliedIndex,
      nodes: [...this.nodes].map(([p, n]) => [p, b64(n.data), n.create, n.mod, n.version, n.session ?? null]),
      sessions: [...this.sessions],
      seq: [...this.seq],
      history: this.history.map((e) => [e.revision, e.type, e.path, e.data ? b64(e.data) : null]),
      dedupe: [...this.dedupe],
    };
    return enc.encode(JSON.stringify(s));
  }

  /** Replaces the whole state with a snapshot. Listeners are kept (they belong to the host, not the state). */
  restore(data: Uint8Array): void {
    const s = JSON.parse(dec.decode(data)) as SnapshotV1;
    if (s.v !== 1) throw new Error(`unknown namespace snapshot version ${s.v}`);
    this.revision = s.revision;
    this.compactRevision = s.compactRevision;
    this.appliedIndex = s.appliedIndex;
    this.nodes.clear();
    this.sessions.clear();
    this.sessionNodes.clear();
    this.seq.clear();
    this.dedupe.clear();
    for (const [id, ttl] of s.sessions) {
      this.sessions.set(id, ttl);
      this.sessionNodes.set(id, new Set());
    }
    for (const [p, d, create, mod, version, session] of s.nodes) {
      const n: NodeRecord = { data: unb64(d), create, mod, version };
      if (session !== null) {
        n.session = session;
        this.sessionNodes.get(session)?.add(p);
      }
      this.nodes.set(p, n);
    }
    for (const [k, v] of s.seq) this.seq.set(k, v);
    this.history = s.history.map(([revision, type, path, d]) => {
      const e: WatchEvent = { type, path, revision };
      if (d !== null) e.data = unb64(d);
      return e;
    });
    for (const [k, v] of s.dedupe) this.dedupe.set(k, v);
    // Wake long-polls: their revision may now be compacted or already covered.
    const note: AppliedCommand = {
      index: this.appliedIndex,
      cmd: { op: "compact", revision: this.compactRevision },
      result: { ok: true, revision: this.revision },
      events: [],
    };
    for (const fn of this.listeners) fn(note);
  }

  private execute(cmd: Command, events: WatchEvent[]): ApplyResult {
    switch (cmd.op) {
      case "create": {
        if (cmd.session !== undefined && !this.sessions.has(cmd.session)) {
          return fail({ code: "session_expired", sessionId: cmd.session });
        }
        let path = cmd.path;
        if (cmd.inOrder) {
          const parent = parentOf(cmd.path);
          let n = this.seq.get(parent) ?? 0;
          for (let i = 0; i < 1000 && this.nodes.has(cmd.path + sequenceSuffix(n)); i++) n++;
          this.seq.set(parent, n + 1);
          path = cmd.path + sequenceSuffix(n);
        }
        if (this.nodes.has(path)) return fail({ code: "exists", path });
        const rev = this.put(path, unb64(cmd.data), events, cmd.session);
        return { ok: true, revision: rev, path };
      }
      case "update":
        return { ok: true, revision: this.put(cmd.path, unb64(cmd.data), events) };
      case "delete": {
        if (!this.nodes.has(cmd.path)) return { ok: true, revision: 0 };
        this.revision++;
        this.remove(cmd.path, events);
        return { ok: true, revision: this.revision };
      }
      case "cas": {
        const cur = this.nodes.get(cmd.path);
        const actual = cur?.mod ?? 0;
        if (actual !== cmd.expected) {
          return fail({ code: "conflict", path: cmd.path, expected: cmd.expected, actual });
        }
        if (cmd.data === null) {
          if (!cur) return fail({ code: "not_found", path: cmd.path });
          this.revision++;
          this.remove(cmd.path, events);
          return { ok: true, revision: this.revision };
        }
        return { ok: true, revision: this.put(cmd.path, unb64(cmd.data), events) };
      }
      case "sessionOpen":
        if (!this.sessions.has(cmd.session)) {
          this.sessions.set(cmd.session, cmd.ttlMs);
          this.sessionNodes.set(cmd.session, new Set());
        }
        return { ok: true, revision: this.revision };
      case "keepAlive":
        if (!this.sessions.has(cmd.session)) return fail({ code: "session_expired", sessionId: cmd.session });
        return { ok: true, revision: this.revision };
      case "sessionExpire": {
        const owned = this.sessionNodes.get(cmd.session);
        if (!owned) return { ok: true, revision: this.revision };
        this.sessions.delete(cmd.session);
        this.sessionNodes.delete(cmd.session);
        if (owned.size) {
          this.revision++;
          for (const p of [...owned].sort()) this.remove(p, events);
        }
        return { ok: true, revision: this.revision };
      }
      case "compact":
        this.compactTo(Math.min(cmd.revision, this.revision));
        return { ok: true, revision: this.revision };
      case "batch": {
        // Validate everything against the state before the batch, then apply at one revision.
        for (const o of cmd.ops) {
          const cur = this.nodes.get(o.path);
          if (o.op === "create" && cur) return fail({ code: "exists", path: o.path });
          if (o.op === "check" && (cur?.mod ?? 0) !== o.expected) {
            return fail({ code: "conflict", path: o.path, expected: o.expected, actual: cur?.mod ?? 0 });
          }
        }
        const mutates = cmd.ops.some((o) =>
          o.op === "create" || o.op === "update" || (o.op === "delete" && this.nodes.has(o.path))
        );
        if (!mutates) return { ok: true, revision: this.revision };
        const rev = ++this.revision;
        for (const o of cmd.ops) {
          if (o.op === "create" || o.op === "update") this.put(o.path, unb64(o.data), events, undefined, rev);
          else if (o.op === "delete") this.remove(o.path, events);
        }
        return { ok: true, revision: rev };
      }
      default:
        return fail({ code: "invalid", message: `unknown op ${(cmd as { op: string }).op}` });
    }
  }

  /** Writes a node at a new revision; returns that revision. */
  private put(path: string, data: Uint8Array, events: WatchEvent[], session?: string, at?: number): number {
    const rev = at ?? ++this.revision;
    const cur = this.nodes.get(path);
    if (cur) {
      cur.data = data;
      cur.mod = rev;
      cur.version++;
    } else {
      const n: NodeRecord = { data, create: rev, mod: rev, version: 1 };
      if (session !== undefined) {
        n.session = session;
        this.sessionNodes.get(session)!.add(path);
      }
      this.nodes.set(path, n);
    }
    events.push({ type: "put", path, revision: rev, data });
    return rev;
  }

  /** Deletes a node at the current revision (the caller advanced it). */
  private remove(path: string, events: WatchEvent[]): void {
    const cur = this.nodes.get(path);
    if (!cur) return;
    this.nodes.delete(path);
    if (cur.session !== undefined) this.sessionNodes.get(cur.session)?.delete(path);
    events.push({ type: "delete", path, revision: this.revision });
  }

  private trimHistory(): void {
    if (this.history.length <= this.maxHistory) return;
    let cut = this.history.length - this.maxHistory;
    // Never keep half of a revision: extend the cut to the end of the revision it lands in.
    while (cut < this.history.length && this.history[cut].revision === this.history[cut - 1].revision) cut++;
    this.compactRevision = Math.max(this.compactRevision, this.history[cut - 1].revision);
    this.history = this.history.slice(cut);
  }

  private compactTo(rev: number): void {
    if (rev <= this.compactRevision) return;
    this.compactRevision = rev;
    let i = 0;
    while (i < this.history.length && this.history[i].revision <= rev) i++;
    if (i) this.history = this.history.slice(i);
  }
}

function fail(error: ErrorInfo): ApplyResult {
  return { ok: false, error };
}
