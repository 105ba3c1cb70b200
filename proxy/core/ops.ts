/**
 * The proxy's operator state: its slow log, MONITOR's feed and CLIENT PAUSE. The per-request path tests one field,
 * {@link OperatorHooks.active}, and does nothing more while no monitor is attached and no pause is in force. In
 * worker mode the threads share monitors and pauses through {@link OpsPeers} (proxy/worker/ relays them).
 * @module
 */
import { ClientPause, type PauseMode } from "./client_pause.ts";
import type { ProxyOpsConfig } from "./config_ops_keys.ts";
import { MonitorFeed, monitorLine } from "./monitor_feed.ts";
import { SlowLog } from "./slowlog.ts";

/** CLIENT KILL's filters (the new form), as plain data that can cross threads. */
export interface ClientFilter {
  id?: number;
  type?: string;
  addr?: string;
  laddr?: string;
  user?: string;
  skipMe: boolean;
}

/** What one thread asks every other thread (worker mode): its CLIENT LIST lines, or to kill matching sessions. */
export type OpsQuery =
  | { kind: "clientList"; type: string | null; ids: number[] | null }
  | { kind: "clientKill"; filter: ClientFilter };

/** A thread's answer to an {@link OpsQuery}: CLIENT LIST text, or the number of sessions killed. */
export type OpsAnswer = string | number;

/** The proxy's other threads (worker mode), as one thread's operator state reaches them. */
export interface OpsPeers {
  /** Asks every other thread; resolves with the answers of those that answered in time. */
  ask(q: OpsQuery): Promise<OpsAnswer[]>;
  /** This thread has `count` monitors now. */
  monitors(count: number): void;
  /** A command line for the monitors of the other threads. */
  line(line: Uint8Array): void;
  pause(ms: number, mode: PauseMode): void;
  unpause(): void;
}

/** One proxy's (one thread's) slow log, monitors and pause. */
export class OperatorHooks {
  /** Non-zero while a monitor is attached (here or on another thread) or a pause is in force: the one check. */
  active = 0;
  readonly slowlog: SlowLog;
  readonly monitors: MonitorFeed;
  readonly pause: ClientPause;
  #remoteMonitors = 0;
  #peers: OpsPeers | null = null;
  /** Answers another thread's question about this thread's sessions (set by the proxy). */
  answerQuery: (q: OpsQuery) => OpsAnswer = () => 0;

  constructor(cfg: ProxyOpsConfig) {
    this.slowlog = new SlowLog(cfg.slowlog_log_slower_than, cfg.slowlog_max_len);
    this.monitors = new MonitorFeed(() => {
      this.#update();
      this.#peers?.monitors(this.monitors.size);
    });
    this.pause = new ClientPause(() => this.#update());
  }

  #update(): void {
    this.active = (this.monitors.size > 0 || this.#remoteMonitors > 0 ? 1 : 0) | (this.pause.mode !== 0 ? 2 : 0);
  }

  /** True while some monitor, on this thread or another, wants the commands. */
  get feeding(): boolean {
    return (this.active & 1) !== 0;
  }

  /** Sends one command, received now from `addr`, to every monitor of the proxy. */
  feed(addr: string, argv: readonly Uint8Array[]): void {
    const line = monitorLine(performance.timeOrigin + performance.now(), addr, argv);
    if (this.monitors.size > 0) this.monitors.push(line);
    if (this.#remoteMonitors > 0) this.#peers?.line(line);
  }

  /** CLIENT PAUSE: this thread and (worker mode) the others. */
  clientPause(ms: number, mode: PauseMode): void {
    this.pause.pause(ms, mode);
    this.#peers?.pause(ms, mode);
  }

  /** CLIENT UNPAUSE: this thread and (worker mode) the others. */
  clientUnpause(): void {
    this.pause.unpause();
    this.#peers?.unpause();
  }

  /** The other threads' answers to `q`; none outside worker mode. */
  askOthers(q: OpsQuery): Promise<OpsAnswer[]> {
    return this.#peers === null ? Promise.resolve([]) : this.#peers.ask(q);
  }

  /** True in worker mode: CLIENT LIST and CLIENT KILL ask the other threads too. */
  get threaded(): boolean {
    return this.#peers !== null;
  }

  /** Worker mode: how this thread reaches the others. */
  setPeers(peers: OpsPeers): void {
    this.#peers = peers;
    if (this.monitors.size > 0) peers.monitors(this.monitors.size);
  }

  /** Worker mode: the other threads have `count` monitors. */
  setRemoteMonitors(count: number): void {
    this.#remoteMonitors = count;
    this.#update();
  }

  /** Worker mode: a command line from another thread, for this thread's monitors. */
  deliver(line: Uint8Array): void {
    this.monitors.push(line);
  }

  close(): void {
    this.pause.close();
  }
}
