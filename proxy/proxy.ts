/**
 * The proxy process: the client listener, sessions, the slot router and the backend pools, and the controls the
 * admin API drives.
 * @module
 */
import type { ProxyModel, SentinelModel, Slot } from "../models/mod.ts";
import { trimIdleBufferPools } from "../util/buffer_pool.ts";
import { logger } from "../util/log.ts";
import { proxyToken } from "../util/xauth.ts";
import type { BackendInfo, ProxyControl } from "./admin/control.ts";
import type { PendingReply } from "../redis/conn.ts";
import { WriteAcks } from "./backend/write_acks.ts";
import { CommandTable } from "./commands/mod.ts";
import type { ProxyConfig } from "./core/config.ts";
import type { ProxyCore, SessionState } from "./core/core.ts";
import { Router } from "./forward/router.ts";
import { drain, Forwarder, type KeyRef, type MigrateOptions, redispatch, releaseHeld } from "./forward/forward.ts";
import { Session } from "./session.ts";
import { OperatorHooks } from "./core/ops.ts";
import { answerOpsQuery } from "./local/client_list.ts";
import { type ClientListening, listenClients, splitHostPort } from "./listen.ts";
import { configureRedisTls } from "../redis/dial.ts";
import { backendTls } from "../util/tls.ts";
import type { ClientSocket } from "./net/client_socket.ts";
import { ProxyStats } from "./core/stats.ts";
import { LoadStats } from "./stats/load.ts";
import type { LoadViewsJSON } from "../models/load_stats.ts";
import { errorReply } from "../redis/encode.ts";
import { decodeReply, errorText, isErrorReply } from "../redis/decode.ts";
import { trimReplyBuffers } from "../redis/reply_buffers.ts";

const log = logger("proxy");

const MAX_CLIENTS = errorReply("ERR max number of clients reached");
const NOT_ONLINE = errorReply("ERR codis-proxy is not online yet: it has no slot table");

/** A running codis-proxy. */
export class Proxy implements ProxyCore, ProxyControl {
  /** The configuration the proxy was made with. */
  readonly config: ProxyConfig;
  /** @internal The command table sessions look commands up in. */
  readonly commands: CommandTable;
  /** @internal Counters and latencies, as `GET /api/proxy/stats` reports them. */
  readonly stats: ProxyStats = new ProxyStats();
  /** @internal Per-slot statistics, hot keys and big keys (`GET /api/proxy/slots/stats/:xauth` ...). */
  readonly load: LoadStats;
  /** @internal The slot table and backend connections. */
  readonly router: Router;
  /** @internal `backend_write_acks` > 0: the write connections and the WAITs of acknowledged writes. */
  readonly writeAcks: WriteAcks | null;
  /** When the proxy was made, unix milliseconds. */
  readonly startTime: number = Date.now();
  /** @internal The slow log, MONITOR's feed and CLIENT PAUSE (proxy/core/ops.ts). */
  readonly ops: OperatorHooks;
  #listening: ClientListening | null = null;
  #idleSweep: ReturnType<typeof setInterval> | null = null;
  #sessions = new Set<Session>();
  #refused = new Set<ClientSocket>();
  #nextSessionId = 1;
  #sessionIdStep = 1;
  #online = false;
  #closed = false;
  #token = "";
  #proxyAddr = "";
  #adminAddr = "";
  #version = "7.0.0";
  #sentinels: SentinelModel = { out_of_sync: false };
  #shutdownHooks: (() => void)[] = [];
  #migrateOpts: MigrateOptions;
  /** @internal See {@link ProxyCore.forwarder}. */
  readonly forwarder: Forwarder;
  #commandsMerged = false;

  /** A proxy that is not listening yet, serving the built-in command table unless given another. */
  constructor(config: ProxyConfig, commands: CommandTable = CommandTable.builtin()) {
    this.config = config;
    this.commands = commands;
    this.ops = new OperatorHooks(config);
    this.ops.answerQuery = (q) => answerOpsQuery(this, q);
    this.#migrateOpts = { auth: config.product_auth, timeoutMs: 5000 };
    this.load = new LoadStats(config);
    this.stats.onSample = (now) => {
      this.load.sample(now);
      trimReplyBuffers(); // (an idle proxy keeps no pooled reply buffers: redis/reply_buffers.ts)
      trimIdleBufferPools(); // reused read buffers are not held by an idle proxy (util/buffer_pool.ts)
    };
    // Set here as well as at start-up, so that worker threads (each its own isolate) dial Redis the same way.
    configureRedisTls(backendTls(config));
    const backendOpts = {
      auth: config.product_auth,
      maxPipeline: config.backend_max_pipeline,
      minBackoffMs: 50,
      maxBackoffMs: 5000,
      connectTimeoutMs: config.backend_connect_timeout,
      pingPeriodMs: config.backend_ping_period,
      recvTimeoutMs: config.backend_recv_timeout,
      keepAlive: config.backend_keepalive_period > 0,
    };
    this.router = new Router(config.backend_primary_parallel, backendOpts, config.backend_replica_parallel);
    this.writeAcks = config.backend_write_acks > 0
      ? new WriteAcks(
        { replicas: config.backend_write_acks, timeoutMs: config.backend_write_acks_timeout },
        // A WAIT blocks its connection for up to the timeout: the reply timeout must allow for it.
        {
          ...backendOpts,
          recvTimeoutMs: backendOpts.recvTimeoutMs && backendOpts.recvTimeoutMs + config.backend_write_acks_timeout,
        },
      )
      : null;
    // load_stats off: no request is counted per slot (a request never tagged with a slot costs nothing more).
    const tally = config.load_stats ? this.load : null;
    this.forwarder = new Forwarder(this.router, config, this.#migrateOpts, this.writeAcks, tally);
  }

  /**
   * Starts listening for clients (`listen.ts`). Resolves with the bound address (for `proto_type = "unix"`: host
   * "unix", port 0, and `proxy_addr` is the socket's path).
   */
  async listen(): Promise<{ host: string; port: number }> {
    const listening = await listenClients(this.config, (sock) => this.#accept(sock));
    this.#listening = listening;
    this.#proxyAddr = listening.advertised;
    this.stats.start();
    this.#startIdleSweep();
    return listening.bound;
  }

  #startIdleSweep(): void {
    const idleMs = this.config.session_recv_timeout;
    const sendMs = this.config.session_send_timeout;
    if (idleMs > 0 || sendMs > 0) {
      // One sweep for every session instead of timers re-armed on every read and write.
      const shortest = Math.min(idleMs > 0 ? idleMs : Infinity, sendMs > 0 ? sendMs : Infinity);
      const every = Math.max(10, Math.min(1000, shortest / 4));
      let last = Date.now();
      let skipped = false;
      this.#idleSweep = setInterval(() => {
        const now = Date.now();
        // A sweep that comes late, because the process did not run (stopped, starved, its machine paused or short of
        // memory), runs before the reads and writes that came meanwhile: it would take clients that kept sending or
        // reading for idle or stuck ones. That one judges nothing; the next one does.
        const late = now - last > 2 * every;
        last = now;
        if (late && !skipped) return void (skipped = true);
        skipped = false;
        for (const s of this.#sessions) s.checkIdle(now, idleMs, sendMs);
      }, every);
    }
  }

  /** `jodis_path` of the model, once the proxy is registered in Jodis. */
  jodisPath: string | undefined = undefined;

  /** `--host-proxy`: the client address to advertise (model and token) instead of the bound one, e.g. behind NAT. */
  advertiseProxyAddr(addr: string): void {
    splitHostPort(addr);
    this.#proxyAddr = addr;
  }

  /** Records the admin address (for the model and the token) once the admin server is bound. */
  setAdminAddr(addr: string): void {
    this.#adminAddr = addr;
    this.#token = proxyToken(this.config.product_name, this.#proxyAddr, addr);
  }

  /** Called on shutdown through the admin API, so the process can exit. */
  onShutdown(hook: () => void): void {
    this.#shutdownHooks.push(hook);
  }

  #accept(sock: ClientSocket): void {
    if (this.#closed) return void sock.destroy();
    if (!this.#online) return this.#refuse(sock, NOT_ONLINE);
    const max = this.config.proxy_max_clients;
    if (max > 0 && this.#sessions.size >= max) { // 0: no limit, as the key's doc says
      this.stats.fail();
      return this.#refuse(sock, MAX_CLIENTS);
    }
    const s = new Session(this, sock, this.#nextSessionId);
    this.#nextSessionId += this.#sessionIdStep;
    this.#sessions.add(s);
    this.stats.sessionOpened();
  }

  /** Answers one error and closes; tracked so that shutdown never waits on a peer that keeps it open. */
  #refuse(sock: ClientSocket, reply: Uint8Array): void {
    this.#refused.add(sock);
    sock.start({ onData: () => {}, onEnd: () => sock.destroy(), onClose: () => this.#refused.delete(sock) });
    sock.end(reply);
  }

  /** @internal Called by a session when it ends. */
  sessionClosed(s: SessionState): void {
    if (this.#sessions.delete(s as Session)) this.stats.sessionClosed();
  }

  /** Live client sessions. */
  sessionCount(): number {
    return this.#sessions.size;
  }

  /** @internal The live client sessions. */
  sessions(): Iterable<SessionState> {
    return this.#sessions;
  }

  /** The per-slot statistics, hot keys and big keys (admin API). */
  loadViews(): LoadViewsJSON {
    return this.load.views();
  }

  /** Clears the load statistics (with `PUT /api/proxy/stats/reset`). */
  resetLoad(): void {
    this.load.reset();
  }

  /** See {@link ProxyCore.clientCounts}: one pass over the sessions, for INFO. */
  clientCounts(): { blocked: number; pubsub: number } {
    let blocked = 0, pubsub = 0;
    for (const s of this.#sessions) {
      if (s.blocked) blocked++;
      if (s.subscribed) pubsub++;
    }
    return { blocked, pubsub };
  }

  /** @internal See {@link ProxyCore.send}: the {@link Forwarder} (`forward/forward.ts`) sends it. */
  send(slot: number, raw: Uint8Array, reply: PendingReply, keys: KeyRef | null = null, replicaOk = false): void {
    this.forwarder.send(slot, raw, reply, keys, replicaOk);
  }

  /** @internal Proxy facts for INFO. */
  info(): ReturnType<ProxyCore["info"]> {
    return {
      version: this.#version,
      startTime: this.startTime,
      token: this.#token,
      productName: this.config.product_name,
      proxyAddr: this.#proxyAddr,
    };
  }

  /**
   * Merges a backend's own `COMMAND` reply into the table once, so that commands the built-in snapshot lacks
   * (modules, newer servers) get their real arity and key positions.
   */
  #mergeBackendCommands(): void {
    const pool = this.router.pools.values().next().value;
    if (!pool) return;
    this.#commandsMerged = true;
    pool.conns[0].call(0, ["COMMAND"]).then((raw) => {
      if (isErrorReply(raw)) throw new Error(errorText(raw));
      const r = this.commands.mergeCommandReply(decodeReply(raw));
      if (r.added.length > 0) log.info(`command table: ${r.added.length} command(s) learned from ${pool.addr}`);
    }).catch((e) => {
      this.#commandsMerged = false;
      log.warn(`could not read COMMAND from ${pool.addr}: ${(e as Error).message}`);
    });
  }

  /** Worker mode: this thread's session ids are `first`, `first + step`, ... so that ids are unique per process. */
  setSessionIds(first: number, step: number): void {
    this.#nextSessionId = first;
    this.#sessionIdStep = step;
  }

  /** Sets the Redis version INFO and HELLO report (the backends' own). */
  setVersion(v: string): void {
    this.#version = v;
  }

  // ---- ProxyControl ----

  model(): ProxyModel {
    return {
      token: this.#token,
      start_time: new Date(this.startTime).toISOString(),
      admin_addr: this.#adminAddr,
      proto_type: this.config.proto_type,
      proxy_addr: this.#proxyAddr,
      product_name: this.config.product_name,
      pid: Deno.pid,
      pwd: Deno.cwd(),
      sys: `${Deno.build.os} ${Deno.build.arch}`,
      hostname: Deno.hostname(),
      datacenter: this.config.proxy_datacenter,
      ...(this.config.dashboard_lease_timeout > 0 ? { dashboard_lease_ms: this.config.dashboard_lease_timeout } : {}),
      ...(this.jodisPath ? { jodis_path: this.jodisPath } : {}),
    };
  }

  slots(): Slot[] {
    return this.router.models();
  }

  /**
   * Replaces the routing of the given slots and resolves once requests in flight to their previous backends have
   * completed, so that acknowledging the revision tells the dashboard no old route is still in use.
   */
  async fillSlots(slots: Slot[]): Promise<void> {
    const res = this.router.fill(slots);
    for (const id of res.changed) {
      const route = this.router.slots[id];
      releaseHeld(route, (raw, reply, keys) => redispatch(route, raw, reply, keys, this.#migrateOpts));
    }
    if (res.changed.length === 0) return;
    if (!this.#commandsMerged) this.#mergeBackendCommands();
    await drain(res, this.router.slots);
    for (const p of res.retired) {
      if (p.refs > 0) continue;
      p.close();
      this.writeAcks?.forget(p);
    }
  }

  /**
   * The dashboard lease (proxy/lease.ts): serve until `until` (performance.timeOrigin + performance.now() ms, so
   * that worker threads share it). `expired`: the lease ran out; every slot's route is dropped as well, so that
   * the paths that do not go through {@link send} (transactions, blocking commands, fan-outs) stop too; the next
   * full model restores them.
   */
  async setLease(until: number, leaseMs: number, expired = false): Promise<void> {
    this.router.leaseMs = leaseMs;
    this.router.servingUntil = until - performance.timeOrigin;
    this.router.leaseExpired = expired || performance.now() > this.router.servingUntil;
    if (expired) await this.fillSlots(this.router.slots.map((r) => ({ id: r.id })));
  }

  start(): void {
    if (this.#closed) throw new Error("proxy is closed");
    this.#online = true;
  }

  /** Whether the proxy serves clients (after {@link Proxy.start}, before shutdown). */
  isOnline(): boolean {
    return this.#online;
  }

  /** Whether the proxy was shut down. */
  isClosed(): boolean {
    return this.#closed;
  }

  /** @internal State of each backend address, for /metrics. */
  backends(): BackendInfo[] {
    return [...this.router.pools.values()].map((p) => {
      const states = p.conns.map((c) => c.state);
      const state = states.every((s) => s === "connected")
        ? "connected"
        : states.some((s) => s === "connecting")
        ? "connecting"
        : "down";
      return { addr: p.addr, state, conns: p.conns.length, pending: p.conns.reduce((n, c) => n + c.inflight, 0) };
    });
  }

  writeAckStats(): Record<string, number> | undefined {
    return this.writeAcks?.stats.toJSON(this.writeAcks.opts);
  }

  /** Set when the proxy follows a dashboard; its state shows in stats. */
  dashboard: { status(): object } | null = null;

  dashboardStats(): Record<string, unknown> | undefined {
    return this.dashboard?.status() as Record<string, unknown> | undefined;
  }

  setSentinels(s: SentinelModel): void {
    this.#sentinels = s;
  }

  /** @internal The sentinel block of the stats JSON. */
  sentinelStats(): { servers?: string[] } {
    return { servers: this.#sentinels.servers };
  }

  /** Stops accepting clients, closes every session and backend connection. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#online = false;
    this.stats.stop();
    if (this.#idleSweep !== null) clearInterval(this.#idleSweep);
    this.#listening?.stopAccepting();
    this.ops.close();
    for (const s of this.#sessions) s.close();
    for (const sock of this.#refused) sock.destroy();
    await this.#listening?.close();
    this.router.close();
    await Promise.resolve();
    log.info("proxy closed");
    for (const hook of this.#shutdownHooks) hook();
  }
}
