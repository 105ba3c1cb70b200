/**
 * A TCP forwarder that injects network faults in user space, for tests and the chaos tool: it listens in front of one
 * server, learns who opened each connection (a name from `identify`, e.g. the host whose process holds the other
 * end) and asks a {@link LinkPolicy} what the link between that opener and the server suffers, per direction and at
 * every chunk, so a change applies to the connections already open too:
 *
 * - `cut: "stall"`: a silent partition as a firewall's DROP makes it: the direction stops being read (the sender's
 *   buffers fill, as TCP's window would), nothing is lost, and it flows again on heal. A new connection (its
 *   handshake needs both directions) waits for both to be open before the server sees it. Unlike a dropped SYN, the
 *   opener's connect() itself succeeds at once: the kernel completes the handshake with the forwarder.
 * - `cut: "reset"`: a REJECT: connections across the link are closed and new ones closed as soon as accepted.
 * - `cut: "discard"`: bytes are read and thrown away, connections stay open (a stream is out of step afterwards).
 * - `delayMs` ± `jitterMs` per chunk, in order.
 * - `lossPercent`: a byte stream cannot lose bytes, so a lost packet costs what TCP makes of it: the chunk is late by
 *   a retransmission timeout (200 ms, doubling for each further loss drawn), a new connection by a SYN's (1 s, ...).
 * @module
 */
import { acceptUntilClosed, closeQuietly } from "./conns.ts";

/** The faults on one direction of a link. */
export interface Faults {
  cut: false | "stall" | "reset" | "discard";
  delayMs: number;
  jitterMs: number;
  lossPercent: number;
}

/** No fault. */
export const CLEAR: Readonly<Faults> = Object.freeze({ cut: false, delayMs: 0, jitterMs: 0, lossPercent: 0 });

/** Which faults apply between whom; a forwarder re-reads it after every change it announces. */
export interface LinkPolicy {
  /**
   * Faults on the bytes `dir` of a connection `opener` made to `server`: "up" from the opener to the server, "down"
   * back.
   */
  faults(opener: string, server: string, dir: "up" | "down"): Faults;
  /** Calls `cb` after each change; returns the unsubscribe function. */
  subscribe(cb: () => void): () => void;
}

/** A {@link LinkPolicy} held in a table of directed links (`from` → `to`, by name). */
export class LinkTable implements LinkPolicy {
  readonly #links = new Map<string, Faults>();
  readonly #listeners = new Set<() => void>();

  /** Sets the faults on bytes from `from` to `to` (a partial list: the rest are cleared). */
  set(from: string, to: string, faults: Partial<Faults>): void {
    this.#links.set(`${from}>${to}`, { ...CLEAR, ...faults });
    this.#changed();
  }

  /** Clears every link. */
  clear(): void {
    this.#links.clear();
    this.#changed();
  }

  faults(opener: string, server: string, dir: "up" | "down"): Faults {
    return this.#links.get(dir === "up" ? `${opener}>${server}` : `${server}>${opener}`) ?? CLEAR;
  }

  subscribe(cb: () => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  #changed(): void {
    for (const cb of [...this.#listeners]) cb();
  }
}

/** What a {@link startFaultForwarder} is given. */
export interface FaultForwarderOptions {
  /** Address to listen on (port 0: a free one). */
  listen: { hostname: string; port: number };
  /** The server behind it. */
  target: { hostname: string; port: number };
  /** The server's name in the policy. */
  server: string;
  policy: LinkPolicy;
  /** Names the opener of an accepted connection (default: "client"). */
  identify?: (conn: Deno.Conn) => string | Promise<string>;
  /** A float in [0, 1) for jitter and loss (a seeded one makes a run repeatable). */
  random?: () => number;
  /** Sees every chunk that arrives, before any fault applies to it (a test can look for what a client sent). */
  onChunk?: (dir: "up" | "down", chunk: Uint8Array) => void;
}

/** A running forwarder. */
export interface FaultForwarder {
  /** `host:port` it listens on. */
  readonly addr: string;
  readonly port: number;
  /** Connections it carries now. */
  readonly connections: number;
  /** What it did so far. */
  readonly stats: ForwarderStats;
  /** Stops listening and closes every connection; resolves once its loops ended. */
  close(): Promise<void>;
}

/** Counts of a forwarder's work and the faults it applied. */
export interface ForwarderStats {
  /** Connections accepted. */
  accepted: number;
  /** Chunks and new connections held by a stall (each counted once however long it waited). */
  stalled: number;
  /** Connections closed or refused by a reset. */
  reset: number;
  /** Chunks and new connections made late by delay or loss. */
  late: number;
}

const RTO_MS = 200;
const SYN_RTO_MS = 1000;
const MAX_RETRANSMITS = 5;

/** Extra time a loss of `percent` costs: a timeout per loss drawn, doubling as TCP's backoff does. */
function lossDelay(percent: number, firstTimeoutMs: number, random: () => number): number {
  let extra = 0;
  for (let k = 0; k < MAX_RETRANSMITS && percent > 0 && random() * 100 < percent; k++) extra += firstTimeoutMs << k;
  return extra;
}

/** One forwarded connection: the two sockets and who is on either end. */
interface Pair {
  inbound: Deno.Conn;
  outbound?: Deno.Conn;
  opener: string;
}

/** Starts a forwarder; see the module documentation for what each fault does. */
export function startFaultForwarder(opts: FaultForwarderOptions): FaultForwarder {
  const listener = Deno.listen(opts.listen);
  const port = (listener.addr as Deno.NetAddr).port;
  const random = opts.random ?? Math.random;
  const identify = opts.identify ?? (() => "client");
  const pairs = new Set<Pair>();
  const stats: ForwarderStats = { accepted: 0, stalled: 0, reset: 0, late: 0 };
  const loops: Promise<void>[] = [];
  let closed = false;
  // Stalled directions and connections wait here for the next change (or the forwarder's end).
  let wake!: () => void;
  let changed = new Promise<void>((r) => wake = r);
  const faultsOf = (p: Pair, dir: "up" | "down") => opts.policy.faults(p.opener, opts.server, dir);
  const isReset = (p: Pair) => faultsOf(p, "up").cut === "reset" || faultsOf(p, "down").cut === "reset";
  const drop = (p: Pair) => {
    pairs.delete(p);
    closeQuietly(p.inbound);
    if (p.outbound) closeQuietly(p.outbound);
  };
  const unsubscribe = opts.policy.subscribe(() => {
    for (const p of pairs) {
      if (isReset(p)) {
        stats.reset++;
        drop(p);
      }
    }
    const w = wake;
    changed = new Promise<void>((r) => wake = r);
    w();
  });

  const pump = async (p: Pair, dir: "up" | "down") => {
    const [from, to] = dir === "up" ? [p.inbound, p.outbound!] : [p.outbound!, p.inbound];
    const buf = new Uint8Array(32 * 1024);
    // Chunks leave in order: each is due no earlier than the one before it.
    let due = 0;
    let pending = 0;
    let chain = Promise.resolve();
    try {
      for (;;) {
        if (faultsOf(p, dir).cut === "stall") stats.stalled++;
        while (!closed && faultsOf(p, dir).cut === "stall") await changed;
        const n = await from.read(buf);
        if (n === null || closed) break;
        opts.onChunk?.(dir, buf.subarray(0, n));
        // A chunk read just before a cut is held as the network would hold it.
        let f = faultsOf(p, dir);
        if (f.cut === "stall") stats.stalled++;
        while (!closed && f.cut === "stall") {
          await changed;
          f = faultsOf(p, dir);
        }
        if (f.cut === "discard") continue;
        const extra = f.delayMs + (random() * 2 - 1) * f.jitterMs + lossDelay(f.lossPercent, RTO_MS, random);
        if (extra <= 0 && pending === 0) {
          for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
          continue;
        }
        if (extra > 0) stats.late++;
        const chunk = buf.slice(0, n);
        due = Math.max(due, performance.now() + extra);
        const at = due;
        pending++;
        // A failed write (the other side closed) ends the copy; the rejection is caught here, never left unhandled.
        chain = chain.then(async () => {
          const wait = at - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          for (let off = 0; off < chunk.length;) off += await to.write(chunk.subarray(off));
        }).catch(() => closeQuietly(from)).finally(() => pending--);
      }
      await chain;
    } catch { /* either side went away */ }
    drop(p);
  };

  const open = async (inbound: Deno.Conn) => {
    // Until its opener is known the connection is in no link: it waits, unread, as in a slow accept queue.
    const p: Pair = { inbound, opener: "unknown" };
    pairs.add(p);
    try {
      p.opener = await identify(inbound);
    } catch { /* a connection already gone */ }
    if (closed || !pairs.has(p)) return drop(p);
    const stalled = () => faultsOf(p, "up").cut === "stall" || faultsOf(p, "down").cut === "stall";
    if (stalled()) stats.stalled++;
    while (!closed && stalled()) await changed;
    if (isReset(p)) stats.reset++;
    if (closed || isReset(p)) return drop(p);
    const late = lossDelay(
      Math.max(faultsOf(p, "up").lossPercent, faultsOf(p, "down").lossPercent),
      SYN_RTO_MS,
      random,
    );
    if (late > 0) {
      stats.late++;
      await new Promise((r) => setTimeout(r, late));
    }
    try {
      p.outbound = await Deno.connect(opts.target);
    } catch {
      // The server is down: the opener sees its connection closed, as a refused connect would.
      return drop(p);
    }
    if (closed || !pairs.has(p)) return drop(p);
    await Promise.all([pump(p, "up"), pump(p, "down")]);
  };

  loops.push(acceptUntilClosed(listener, (inbound) => {
    if (closed) return closeQuietly(inbound);
    stats.accepted++;
    const loop = open(inbound);
    loops.push(loop);
    loop.catch(() => {}).finally(() => loops.splice(loops.indexOf(loop), 1));
  }));

  return {
    addr: `${opts.listen.hostname}:${port}`,
    port,
    get connections() {
      return pairs.size;
    },
    stats,
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      try {
        listener.close();
      } catch { /* closed */ }
      for (const p of [...pairs]) drop(p);
      wake();
      await Promise.all([...loops]);
    },
  };
}
