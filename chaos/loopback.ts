/**
 * Hosts without namespaces (not root, or `--loopback`): every process on a loopback address, with the network's
 * faults injected by user-space forwarders instead of nftables.
 *
 * Topology. Host number i has two loopback addresses (all of 127/8 is local on Linux):
 *
 *     advertised  127.18.R.(10+i)   what everyone dials: the model's Redis and proxy addresses, raft peers, the
 *                                   dashboards' admin addresses, sentinels' announcements
 *     bound       127.19.R.(10+i)   where the host's processes listen (told to advertise the other one)
 *
 * On each advertised address and each port the host listens on sits one forwarder of this process, passing
 * connections on to the bound address. Every connection between two processes therefore crosses exactly one
 * forwarder, the server's. Per-link faults need the client too, and an address cannot say who dials it (one address
 * per (client, server) pair cannot work: the model's addresses are one for every reader). So the forwarder asks the
 * kernel who opened each connection it accepts (chaos/conn_owner.ts: the opener's socket inode in /proc/net/tcp, then
 * the process holding it), maps that process to its host, and applies the faults on that directed pair. The tool's
 * own connections are never faulted, as in namespace mode where the rules spare the tool's address: its clients,
 * API and console calls dial the bound addresses directly ({@link LoopbackHosts.direct}), and a connection of its
 * that does reach a forwarder passes untouched.
 *
 * The faults are those of namespace mode, from the same {@link HostRules}: `dropTo`/`dropFrom` stall the bytes in
 * that direction (the one-way cut of a TCP connection: the other direction still flows), loss and the `net`
 * nemesis's delay as testing/fault_forwarder.ts renders them.
 * @module
 */
import { CLEAR, type FaultForwarder, type Faults, startFaultForwarder } from "../testing/fault_forwarder.ts";
import { ConnOwners, GONE } from "./conn_owner.ts";
import { type Host, type HostRules, type Hosts, noRules, type SlowLink, type SpawnOptions } from "./hosts.ts";
import type { Rng } from "./rng.ts";

/** The opener name of the tool's own connections. */
const TOOL = "tool";
const GONE_FAULTS: Faults = { ...CLEAR, cut: "reset" };

/** Loopback hosts behind fault-injecting forwarders; {@link LoopbackHosts.create} starts the forwarders. */
export class LoopbackHosts implements Hosts {
  readonly hosts = new Map<string, Host>();
  readonly toolAddr = "127.0.0.1";
  readonly subnet: string;
  readonly owners = new ConnOwners();
  readonly #rules = new Map<string, HostRules>();
  readonly #delays = new Map<string, { delayMs: number; jitterMs: number }>();
  readonly #listeners = new Set<() => void>();
  readonly #forwarders: FaultForwarder[] = [];
  readonly #direct = new Map<string, string>();

  private constructor(names: string[], octet: number) {
    this.subnet = `127.18.${octet}`;
    names.forEach((name, i) => {
      this.hosts.set(name, { name, ns: "", addr: `${this.subnet}.${10 + i}`, bind: `127.19.${octet}.${10 + i}` });
      this.#rules.set(name, noRules());
    });
  }

  /** Hosts for `names`, each with a forwarder on every port `ports(name)` lists; `random` drives jitter and loss. */
  static create(names: string[], ports: (host: string) => number[], random: () => number): LoopbackHosts {
    const net = new LoopbackHosts(names, Deno.pid % 256);
    try {
      for (const h of net.hosts.values()) {
        for (const port of ports(h.name)) {
          net.#forwarders.push(startFaultForwarder({
            listen: { hostname: h.addr, port },
            target: { hostname: h.bind, port },
            server: h.name,
            policy: net,
            identify: (conn) => net.owners.ownerOf(conn, TOOL),
            random,
          }));
          net.#direct.set(`${h.addr}:${port}`, `${h.bind}:${port}`);
        }
      }
    } catch (e) {
      net.close();
      throw e;
    }
    return net;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Spawns `cmd args`, its connections counted as `host`'s. */
  spawn(host: Host, cmd: string, args: string[], opts: SpawnOptions): Deno.ChildProcess {
    const child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: opts.stderr,
      env: { NO_COLOR: "1", ...opts.env },
    }).spawn();
    this.owners.register(child.pid, host.name);
    child.status.finally(() => this.owners.forget(child.pid));
    return child;
  }

  /** Faults on bytes `dir` of a connection `opener` made to `server` (the {@link LinkPolicy} of the forwarders). */
  faults(opener: string, server: string, dir: "up" | "down"): Faults {
    // Nobody would read the answer; the server need not see what it sent (what a cut would have done to it).
    if (opener === GONE) return GONE_FAULTS;
    if (opener === server || !this.hosts.has(opener)) return CLEAR;
    const [from, to] = dir === "up" ? [opener, server] : [server, opener];
    const rf = this.#rules.get(from)!, rt = this.#rules.get(to)!;
    const stalled = rf.dropTo.has(this.hosts.get(to)!.addr) || rt.dropFrom.has(this.hosts.get(from)!.addr);
    const delay = this.#delays.get(`${opener}>${server}`);
    if (!stalled && !delay && rf.lossPercent === 0 && rt.lossPercent === 0) return CLEAR;
    return {
      cut: stalled ? "stall" : false,
      // Lost on the way out of one host or on the way into the other.
      lossPercent: 100 - (100 - rf.lossPercent) * (100 - rt.lossPercent) / 100,
      delayMs: delay?.delayMs ?? 0,
      jitterMs: delay?.jitterMs ?? 0,
    };
  }

  subscribe(cb: () => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  #changed(): void {
    for (const cb of [...this.#listeners]) cb();
  }

  rules(host: string): HostRules {
    const r = this.#rules.get(host) ?? noRules();
    return { ...r, dropFrom: new Set(r.dropFrom), dropTo: new Set(r.dropTo), redirects: [...r.redirects] };
  }

  /** Replaces `host`'s rules (redirects are ignored: delays are {@link slowLink}'s). */
  setRules(host: string, rules: HostRules): Promise<void> {
    this.host(host);
    this.#rules.set(host, rules);
    this.#changed();
    return Promise.resolve();
  }

  /** Loss on every link of `from`, delay on its connections to `to` (those open already included). */
  slowLink(from: string, to: string, link: SlowLink, _rng: Rng): Promise<() => Promise<void>> {
    const rules = this.rules(from);
    rules.lossPercent = link.lossPercent;
    this.#rules.set(from, rules);
    this.#delays.set(`${from}>${to}`, { delayMs: link.delayMs, jitterMs: link.jitterMs });
    this.#changed();
    return Promise.resolve(() => {
      this.#delays.delete(`${from}>${to}`);
      return this.setRules(from, noRules());
    });
  }

  /** One line on what the forwarders did, for the report. */
  summary(): string {
    const t = { accepted: 0, stalled: 0, reset: 0, late: 0 };
    for (const f of this.#forwarders) {
      for (const k of Object.keys(t) as (keyof typeof t)[]) t[k] += f.stats[k];
    }
    return `loopback forwarders: ${t.accepted} connections (${this.owners.unknown} of unknown opener, ` +
      `${this.owners.gone} closed by the opener before the forwarder saw it; ${Math.round(this.owners.ms)} ms to ` +
      `find the openers), ${t.stalled} stalls by a cut, ${t.late} late chunks or connects (delay, loss)`;
  }

  /** The bound address behind an advertised one: the tool's clients skip the forwarders (never faulted anyway). */
  direct(addr: string): string {
    return this.#direct.get(addr) ?? addr;
  }

  healAll(): Promise<void> {
    for (const name of this.hosts.keys()) this.#rules.set(name, noRules());
    this.#delays.clear();
    this.#changed();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await Promise.all(this.#forwarders.splice(0).map((f) => f.close()));
    this.owners.close();
  }
}
