/**
 * The runtime around one member's {@link NamespaceStateMachine}: it proposes commands through a backend (Raft,
 * or direct application for the memory store), wakes long-polls when events are applied, and — on the leader
 * only — enforces session TTLs with a monotonic clock, committing each expiry as a `sessionExpire` command.
 *
 * Lease timers are re-armed from the applied state: every member notes a deadline when it applies a
 * `sessionOpen`/`keepAlive`, and a member that becomes leader first gives every session a fresh full TTL, so a
 * failover never expires a session that was being renewed.
 * @module
 */
import type { ApplyResult, Command } from "./namespace_commands.ts";
import type { AppliedCommand, NamespaceStateMachine } from "./namespace_state.ts";
import { ClosedError } from "./errors.ts";
import { Wakeups } from "./wakeups.ts";

/** How commands reach the state machine. */
export interface NamespaceBackend {
  /** Commits a command and resolves with the state machine's apply result for it. */
  propose(cmd: Command): Promise<ApplyResult>;
  /** Linearizable read barrier: resolves once the local state machine reflects every write committed before. */
  read(): Promise<void>;
  /** True while this member is the leader (only the leader expires sessions). */
  isLeader(): boolean;
}

/** Options of a {@link NamespaceHost}. */
export interface HostOptions {
  /** How often the leader checks session deadlines (default 100 ms). */
  reapIntervalMs?: number;
}

/** One member's namespace runtime. Clients (`NamespaceClient`) share it. */
export class NamespaceHost {
  private readonly deadlines = new Map<string, number>();
  private readonly expiring = new Set<string>();
  private readonly wakeups = new Wakeups();
  private readonly sessionWatchers = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;
  private readonly timer: ReturnType<typeof setInterval>;
  private wasLeader = false;
  private closed = false;

  constructor(readonly sm: NamespaceStateMachine, readonly backend: NamespaceBackend, opts: HostOptions = {}) {
    this.unsubscribe = sm.subscribe((a) => this.onApplied(a));
    this.timer = setInterval(() => this.reap(), opts.reapIntervalMs ?? 100);
  }

  /** Proposes a command; throws ClosedError after close. */
  propose(cmd: Command): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(new ClosedError("namespace host"));
    return this.backend.propose(cmd);
  }

  /** Linearizable read barrier. */
  read(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError("namespace host"));
    return this.backend.read();
  }

  /** Resolves on the next applied command that produced events, after `ms`, or on abort. Timers are cleared. */
  waitForEvents(ms: number, signal?: AbortSignal): Promise<void> {
    return this.closed ? Promise.resolve() : this.wakeups.wait(ms, signal);
  }

  /** Calls `fn` once when `session` is expired or closed by a committed command; returns a canceller. */
  onSessionGone(session: string, fn: () => void): () => void {
    let set = this.sessionWatchers.get(session);
    if (!set) this.sessionWatchers.set(session, set = new Set());
    set.add(fn);
    return () => set!.delete(fn);
  }

  /** Stops timers and wakes every waiter. The state machine is left as is. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe();
    this.wakeups.wakeAll();
    for (const set of this.sessionWatchers.values()) for (const fn of set) fn();
    this.sessionWatchers.clear();
  }

  private onApplied(a: AppliedCommand): void {
    const cmd = a.cmd;
    if ((cmd.op === "sessionOpen" || cmd.op === "keepAlive") && a.result.ok) {
      const ttl = this.sm.sessions.get(cmd.session);
      if (ttl !== undefined) this.deadlines.set(cmd.session, performance.now() + ttl);
    } else if (cmd.op === "sessionExpire") {
      this.deadlines.delete(cmd.session);
      this.expiring.delete(cmd.session);
      const set = this.sessionWatchers.get(cmd.session);
      this.sessionWatchers.delete(cmd.session);
      if (set) { for (const fn of set) fn(); }
    }
    if (a.events.length || cmd.op === "compact") this.wakeups.wakeAll();
  }

  private reap(): void {
    const leader = this.backend.isLeader();
    const now = performance.now();
    if (leader && !this.wasLeader) {
      // Fresh grace for everyone: our own deadlines may be stale or missing (e.g. after a snapshot restore).
      this.deadlines.clear();
      for (const [id, ttl] of this.sm.sessions) this.deadlines.set(id, now + ttl);
    }
    this.wasLeader = leader;
    if (!leader) return;
    for (const [id, ttl] of this.sm.sessions) {
      const d = this.deadlines.get(id);
      if (d === undefined) {
        this.deadlines.set(id, now + ttl);
        continue;
      }
      if (d > now || this.expiring.has(id)) continue;
      this.expiring.add(id);
      this.backend.propose({ op: "sessionExpire", session: id, reason: "expired" })
        .catch(() => {/* leadership lost or shutting down: the next leader decides */})
        .finally(() => this.expiring.delete(id));
    }
    for (const id of this.deadlines.keys()) if (!this.sm.sessions.has(id)) this.deadlines.delete(id);
  }
}
