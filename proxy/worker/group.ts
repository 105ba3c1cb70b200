/**
 * Worker mode (`proxy_workers = N > 1`): the primary thread runs one full proxy and N - 1 worker threads run one each,
 * all listening on the same address with SO_REUSEPORT, so the kernel spreads client connections over N event loops
 * (N cores). {@link WorkerModeProxy} is what the admin API and the dashboard client see: one proxy, whose model
 * changes reach every thread before they count as applied, and whose stats are the sum of the threads'.
 * @module
 */
import type { SentinelModel, Slot } from "../../models/mod.ts";
import { logger } from "../../util/log.ts";
import type { BackendInfo, ProxyControl } from "../admin/control.ts";
import type { ProxyConfig } from "../core/config.ts";
import type { Proxy } from "../proxy.ts";
import { ProxyStats, type StatsSnapshot } from "../core/stats.ts";
import { type LoadViews, mergeLoadViews } from "../stats/load.ts";
import { sumWriteAckStats } from "../backend/write_acks.ts";
import type { OpsNotice, WorkerMessage, WorkerRequest } from "./protocol.ts";
import type { OperatorHooks, OpsAnswer, OpsQuery } from "../core/ops.ts";

const log = logger("workers");

/** Longest a worker may take to answer a request before the proxy gives up on it (e.g. a drain that never ends). */
const REQUEST_TIMEOUT_MS = 120_000;
/** Longest CLIENT LIST / CLIENT KILL waits for another thread's answer before leaving that thread out. */
const QUERY_TIMEOUT_MS = 2_000;

type Request = WorkerRequest extends infer R ? R extends { id: number } ? Omit<R, "id"> : never : never;

interface WorkerHandle {
  worker: Worker;
  stats: StatsSnapshot | null;
  backends: BackendInfo[];
  load: LoadViews | null;
  writeAcks: Record<string, number> | null;
  waiting: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
}

/** The worker threads of a proxy, and a request/answer channel to each. */
export class ProxyWorkers {
  #handles: WorkerHandle[] = [];
  #nextId = 1;
  #closed = false;
  #onFatal: (msg: string) => void = () => {};
  /** Monitors per thread: index 0 is the primary, i + 1 the worker #handles[i]. */
  #monitorCounts: number[] = [];
  #primaryOps: OperatorHooks | null = null;
  /** Questions sent to workers on behalf of a thread, by id: each worker's reply, or undefined on a timeout. */
  #queries = new Map<number, (answer: OpsAnswer | undefined) => void>();
  #nextQid = 1;

  /** Starts `count` workers, each serving `slots` on `config.proxy_addr`; resolves once every one listens. */
  static async start(
    config: ProxyConfig,
    count: number,
    init: { slots: Slot[]; version: string; online: boolean; threads: number; logLevel?: string; logFile?: string },
    onFatal: (msg: string) => void = () => {},
  ): Promise<ProxyWorkers> {
    const w = new ProxyWorkers();
    w.#onFatal = onFatal;
    for (let i = 0; i < count; i++) w.#spawn();
    try {
      await Promise.all(w.#handles.map((h, i) =>
        w.#ask(h, {
          op: "init",
          config,
          slots: init.slots,
          version: init.version,
          online: init.online,
          index: i + 1,
          count: init.threads,
          logLevel: init.logLevel,
          logFile: init.logFile,
        })
      ));
    } catch (e) {
      w.terminate();
      throw e;
    }
    return w;
  }

  #spawn(): void {
    const worker = new Worker(new URL("./worker_main.ts", import.meta.url), { type: "module" });
    const h: WorkerHandle = { worker, stats: null, backends: [], load: null, writeAcks: null, waiting: new Map() };
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      if (m.op === "report") {
        h.stats = m.stats;
        h.backends = m.backends;
        h.load = m.load ?? null;
        h.writeAcks = m.writeAcks ?? null;
        return;
      }
      if (m.op !== "done") return this.#notice(this.#handles.indexOf(h) + 1, m);
      const w = h.waiting.get(m.id);
      if (w === undefined) return;
      h.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve();
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      log.error(`proxy worker failed: ${e.message}`);
      for (const w of h.waiting.values()) w.reject(new Error(`proxy worker failed: ${e.message}`));
      h.waiting.clear();
      // A dead thread would hold model changes forever (they wait for every thread) and drop its clients: the
      // process stops instead, so that a supervisor restarts it whole, as a crashed Codis proxy would be.
      if (!this.#closed) this.#onFatal(`proxy worker failed: ${e.message}`);
    };
    this.#handles.push(h);
  }

  #ask(h: WorkerHandle, req: Request): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("proxy workers are closed"));
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        h.waiting.delete(id);
        reject(new Error(`proxy worker did not answer ${req.op} within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      h.waiting.set(id, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      h.worker.postMessage({ ...req, id } as WorkerRequest);
    });
  }

  /**
   * Shares MONITOR and CLIENT PAUSE between the primary's proxy (`ops`) and the workers: each thread's monitors see
   * the commands of every thread, and a pause on one thread holds them all.
   */
  linkOps(ops: OperatorHooks): void {
    this.#primaryOps = ops;
    ops.setPeers({
      monitors: (count) => this.#notice(0, { op: "monitors", count }),
      line: (line) => this.#notice(0, { op: "monitorLine", line }),
      pause: (ms, mode) => this.#notice(0, { op: "pause", ms, mode }),
      unpause: () => this.#notice(0, { op: "unpause" }),
      ask: (query) => this.#gather(0, query),
    });
  }

  /** Asks every thread but `from`; a thread that does not answer within QUERY_TIMEOUT_MS is left out. */
  async #gather(from: number, query: OpsQuery): Promise<OpsAnswer[]> {
    const asked: Promise<OpsAnswer | undefined>[] = [];
    for (let t = 0; t <= this.#handles.length; t++) {
      if (t === from) continue;
      if (t === 0) {
        if (this.#primaryOps !== null) asked.push(Promise.resolve(this.#primaryOps.answerQuery(query)));
        continue;
      }
      if (this.#closed) continue;
      const qid = this.#nextQid++;
      const worker = this.#handles[t - 1].worker;
      asked.push(
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            this.#queries.delete(qid);
            resolve(undefined);
          }, QUERY_TIMEOUT_MS);
          this.#queries.set(qid, (a) => {
            clearTimeout(timer);
            resolve(a);
          });
          worker.postMessage({ op: "query", qid, query } satisfies OpsNotice);
        }),
      );
    }
    return (await Promise.all(asked)).filter((a): a is OpsAnswer => a !== undefined);
  }

  /** A notice from thread `from`: relayed to the threads it concerns. */
  #notice(from: number, m: OpsNotice): void {
    const threads = this.#handles.length + 1;
    if (m.op === "ask") {
      this.#gather(from, m.query).then((answers) => this.#tell(from, { op: "answer", qid: m.qid, answers }));
      return;
    }
    if (m.op === "reply") {
      this.#queries.get(m.qid)?.(m.answer);
      this.#queries.delete(m.qid);
      return;
    }
    if (m.op === "monitors") {
      this.#monitorCounts[from] = m.count;
      let total = 0;
      for (let t = 0; t < threads; t++) total += this.#monitorCounts[t] ?? 0;
      for (let t = 0; t < threads; t++) {
        if (t !== from) this.#tell(t, { op: "monitors", count: total - (this.#monitorCounts[t] ?? 0) });
      }
      return;
    }
    for (let t = 0; t < threads; t++) {
      if (t === from || (m.op === "monitorLine" && !(this.#monitorCounts[t] > 0))) continue;
      this.#tell(t, m);
    }
  }

  #tell(thread: number, m: OpsNotice): void {
    if (thread > 0) {
      if (!this.#closed) this.#handles[thread - 1].worker.postMessage(m);
      return;
    }
    const ops = this.#primaryOps;
    if (ops === null) return;
    if (m.op === "monitors") ops.setRemoteMonitors(m.count);
    else if (m.op === "monitorLine") ops.deliver(m.line);
    else if (m.op === "pause") ops.pause.pause(m.ms, m.mode);
    else if (m.op === "unpause") ops.pause.unpause();
  }

  /** Sends `req` to every worker; resolves when all have done it. */
  async all(req: Request): Promise<void> {
    await Promise.all(this.#handles.map((h) => this.#ask(h, req)));
  }

  /** The latest stats each worker reported (every second). */
  snapshots(): StatsSnapshot[] {
    return this.#handles.flatMap((h) => h.stats ? [h.stats] : []);
  }

  /** The `backend_write_acks` counters each worker last reported (every second), when the setting is on. */
  writeAckStats(): Record<string, number>[] {
    return this.#handles.flatMap((h) => h.writeAcks ? [h.writeAcks] : []);
  }

  /** The load views each worker last reported (every second). */
  loadViews(): LoadViews[] {
    return this.#handles.flatMap((h) => h.load ? [h.load] : []);
  }

  /** The backend states each worker last reported. */
  backends(): BackendInfo[][] {
    return this.#handles.map((h) => h.backends);
  }

  /** Asks every worker to shut down, then ends the threads. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    await Promise.race([
      this.all({ op: "shutdown" }).catch(() => {}),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    this.terminate();
  }

  terminate(): void {
    this.#closed = true;
    for (const h of this.#handles) h.worker.terminate();
  }
}

/** Sums the backend rows of several threads by address. */
function mergeBackends(lists: BackendInfo[][]): BackendInfo[] {
  const out = new Map<string, BackendInfo>();
  for (const list of lists) {
    for (const b of list) {
      const o = out.get(b.addr);
      if (o === undefined) {
        out.set(b.addr, { ...b });
        continue;
      }
      o.conns += b.conns;
      o.pending += b.pending;
      if (o.state !== b.state) o.state = o.state === "down" || b.state === "down" ? "down" : "connecting";
    }
  }
  return [...out.values()];
}

/** The proxy as the admin API and the dashboard client see it in worker mode: the primary plus its workers. */
export class WorkerModeProxy implements ProxyControl {
  constructor(
    readonly config: ProxyConfig,
    readonly primary: Proxy,
    readonly workers: ProxyWorkers,
  ) {
    workers.linkOps(primary.ops);
  }

  /** The sum of every thread's stats (the workers' as of their last report, at most a second old). */
  get stats(): ProxyStats {
    return ProxyStats.sum([this.primary.stats.snapshot(), ...this.workers.snapshots()]);
  }

  async resetStats(): Promise<void> {
    this.primary.stats.reset();
    this.primary.load.reset();
    await this.workers.all({ op: "resetStats" });
  }

  /** Every thread's `backend_write_acks` counters summed (the workers' as of their last report); the setting once. */
  writeAckStats(): Record<string, number> | undefined {
    const own = this.primary.writeAckStats();
    return own && sumWriteAckStats(own, this.workers.writeAckStats());
  }

  /** Every thread's load views merged (the workers' as of their last report, at most a second old). */
  loadViews(): LoadViews {
    return mergeLoadViews([this.primary.loadViews(), ...this.workers.loadViews()], this.config.hotkeys_top_k);
  }

  model() {
    return this.primary.model();
  }

  slots(): Slot[] {
    return this.primary.slots();
  }

  /** Applies the change on every thread: it counts as applied (and may be acknowledged) only once all have drained. */
  async fillSlots(slots: Slot[]): Promise<void> {
    await Promise.all([this.primary.fillSlots(slots), this.workers.all({ op: "fillSlots", slots })]);
  }

  /** The dashboard lease, for every thread (see Proxy.setLease). */
  async setLease(until: number, leaseMs: number, expired = false): Promise<void> {
    await Promise.all([
      this.primary.setLease(until, leaseMs, expired),
      this.workers.all({ op: "setLease", until, leaseMs, expired }),
    ]);
  }

  async start(): Promise<void> {
    await this.workers.all({ op: "start" });
    this.primary.start();
  }

  isOnline(): boolean {
    return this.primary.isOnline();
  }

  isClosed(): boolean {
    return this.primary.isClosed();
  }

  async shutdown(): Promise<void> {
    await this.workers.shutdown();
    await this.primary.shutdown();
  }

  backends(): BackendInfo[] {
    return mergeBackends([this.primary.backends(), ...this.workers.backends()]);
  }

  async setSentinels(s: SentinelModel): Promise<void> {
    this.primary.setSentinels(s);
    await this.workers.all({ op: "setSentinels", sentinels: s });
  }

  sentinelStats() {
    return this.primary.sentinelStats();
  }

  dashboardStats(): Record<string, unknown> | undefined {
    return this.primary.dashboardStats();
  }
}
