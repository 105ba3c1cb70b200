/**
 * Hosts for the chaos run: one Linux network namespace per cluster process, all on one bridge (in a namespace of its
 * own, so the machine's firewall never sees the traffic), addressed from the benchmarking range 198.18.0.0/15. The
 * tool itself talks to them from the root namespace through one more veth. Faults are nftables rules inside a host's
 * namespace: dropped peers (one-way or both), random packet loss, and redirects of new connections to the tool's
 * user-space delay forwarder. Everything carries the prefix `codischaos-<pid>`, so a later run removes what a crashed
 * one left behind. (Without namespaces, chaos/loopback.ts gives the same faults in user space.)
 * @module
 */
import { startDelayForwarder } from "./forwarder.ts";
import type { Rng } from "./rng.ts";

/** Namespace names start with this, then the owning tool's pid. */
export const NS_PREFIX = "codischaos-";

/** One host: a namespace and its address. */
export interface Host {
  name: string;
  ns: string;
  /** The address the host is known by: what its processes advertise and everyone dials. */
  addr: string;
  /** The address its processes listen on: `addr` in a namespace; on loopback, behind the forwarders. */
  bind: string;
}

/** A slow, lossy link for the `net` nemesis. */
export interface SlowLink {
  /** Percentage of packets lost on every link of the first host (the tool's own traffic excepted). */
  lossPercent: number;
  /** Delay and jitter of the first host's connections to the second. */
  delayMs: number;
  jitterMs: number;
}

/** The faults in force on one host (its nftables table is rebuilt from this on every change). */
export interface HostRules {
  /** Packets from these addresses are dropped on arrival. */
  dropFrom: Set<string>;
  /** Packets to these addresses are dropped on departure. */
  dropTo: Set<string>;
  /** Percentage of packets dropped in each direction, 0 for none. */
  lossPercent: number;
  /** New connections to `daddr:dport` go to `to` (host:port) instead: the tool's delay forwarder. */
  redirects: { daddr: string; dport: number; to: string }[];
}

/** How a host process is spawned. */
export interface SpawnOptions {
  stderr: "piped" | "null";
  env?: Record<string, string>;
}

/** Empty rules. */
export function noRules(): HostRules {
  return { dropFrom: new Set(), dropTo: new Set(), lossPercent: 0, redirects: [] };
}

async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Why namespaces cannot be used here, or undefined when they can. */
export async function netnsProblem(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root (network namespaces need CAP_NET_ADMIN)";
  for (const tool of ["ip", "nft"]) {
    try {
      await run(tool, ["-V"]);
    } catch {
      return `\`${tool}\` is missing (apt-get install iproute2 nftables)`;
    }
  }
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("chaos");
  } catch {
    return false;
  }
}

/** Kills every process inside `ns`, then deletes it (a namespace with processes left would outlive its name). */
async function deleteNamespace(ns: string): Promise<void> {
  const pids = await run("ip", ["netns", "pids", ns]).catch(() => "");
  for (const p of pids.split(/\s+/).filter((s) => /^\d+$/.test(s))) {
    try {
      Deno.kill(Number(p), "SIGKILL");
    } catch { /* gone */ }
  }
  await run("ip", ["netns", "del", ns]).catch(() => {});
}

/** Removes the namespaces of earlier runs whose tool process is gone; returns how many. */
export async function removeLeftovers(): Promise<number> {
  const list = await run("ip", ["netns", "list"]).catch(() => "");
  let n = 0;
  for (const line of list.split("\n")) {
    const ns = line.split(" ")[0];
    const m = ns.match(/^codischaos-(\d+)-/);
    if (!m || pidAlive(Number(m[1]))) continue;
    await deleteNamespace(ns);
    n++;
  }
  return n;
}

/** Picks a /24 inside 198.18.0.0/15 that no interface of this machine uses (one per concurrent run). */
async function freeSubnet(): Promise<string> {
  const used = await run("ip", ["-4", "-o", "addr", "show"]);
  for (let k = 0; k < 512; k++) {
    const idx = (Deno.pid + k) % 512;
    const prefix = `198.${18 + (idx >> 8)}.${idx & 255}`;
    if (!used.includes(` ${prefix}.`)) return prefix;
  }
  throw new Error("no free /24 left in 198.18.0.0/15");
}

/** Where the cluster's processes run: namespaces ({@link Network}) or loopback addresses (chaos/loopback.ts). */
export interface Hosts {
  readonly hosts: Map<string, Host>;
  /** The tool's own address, from which the clients and the API calls come. */
  readonly toolAddr: string;
  /** What the hosts' addresses start with, for the log. */
  readonly subnet: string;
  host(name: string): Host;
  /** Spawns `cmd args` on `host`; `env` is added to the tool's environment (secrets go there, never in `args`). */
  spawn(host: Host, cmd: string, args: string[], opts: SpawnOptions): Deno.ChildProcess;
  rules(host: string): HostRules;
  setRules(host: string, rules: HostRules): Promise<void>;
  /** Makes `from`'s links lossy and its connections to `to` slow; resolves to the function that undoes it. */
  slowLink(from: string, to: string, link: SlowLink, rng: Rng): Promise<() => Promise<void>>;
  /** The address the tool's own clients dial to reach `addr` (the advertised one) without any fault. */
  direct(addr: string): string;
  healAll(): Promise<void>;
  close(): Promise<void>;
}

/** The namespaces of one run. */
export class Network implements Hosts {
  readonly hosts = new Map<string, Host>();
  readonly #rules = new Map<string, HostRules>();
  readonly #switchNs: string;
  readonly #rootIf: string;
  #closed = false;

  private constructor(
    readonly prefix: string,
    readonly subnet: string,
    private readonly ports: (host: string) => number[],
  ) {
    this.#switchNs = `${prefix}sw`;
    this.#rootIf = `cxc${Deno.pid}`;
  }

  /** The tool's own address (root namespace side). */
  get toolAddr(): string {
    return `${this.subnet}.1`;
  }

  /**
   * Creates the switch and one namespace per name, each with an address; undoes everything on failure. `ports`
   * lists what a host listens on (where the `net` nemesis's delay applies).
   */
  static async create(names: string[], ports: (host: string) => number[]): Promise<Network> {
    const net = new Network(`${NS_PREFIX}${Deno.pid}-`, await freeSubnet(), ports);
    try {
      await net.#build(names);
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  async #build(names: string[]): Promise<void> {
    const sw = this.#switchNs;
    await run("ip", ["netns", "add", sw]);
    await run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"]);
    await run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    await run("ip", ["link", "add", this.#rootIf, "type", "veth", "peer", "name", "root", "netns", sw]);
    await run("ip", ["addr", "add", `${this.toolAddr}/24`, "dev", this.#rootIf]);
    await run("ip", ["link", "set", this.#rootIf, "up"]);
    await run("ip", ["-n", sw, "link", "set", "root", "master", "br0", "up"]);
    let i = 0;
    for (const name of names) {
      const ns = `${this.prefix}${name}`;
      const addr = `${this.subnet}.${10 + i}`;
      const port = `p${i++}`;
      await run("ip", ["netns", "add", ns]);
      await run("ip", ["-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      await run("ip", ["-n", sw, "link", "set", port, "master", "br0", "up"]);
      await run("ip", ["-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0"]);
      await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      this.hosts.set(name, { name, ns, addr, bind: addr });
      this.#rules.set(name, noRules());
    }
  }

  /** The host called `name`. */
  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Spawns `cmd args` inside `host`'s namespace (the pid is the command's own: `ip netns exec` execs it). */
  spawn(host: Host, cmd: string, args: string[], opts: SpawnOptions): Deno.ChildProcess {
    return new Deno.Command("ip", {
      args: ["netns", "exec", host.ns, cmd, ...args],
      stdin: "null",
      stdout: "null",
      stderr: opts.stderr,
      env: { NO_COLOR: "1", ...opts.env },
    }).spawn();
  }

  /** The rules in force on `host` (a copy to edit and pass to {@link setRules}). */
  rules(host: string): HostRules {
    const r = this.#rules.get(host) ?? noRules();
    return { ...r, dropFrom: new Set(r.dropFrom), dropTo: new Set(r.dropTo), redirects: [...r.redirects] };
  }

  /** Replaces `host`'s rules, atomically (one nft transaction). */
  async setRules(host: string, rules: HostRules): Promise<void> {
    const h = this.host(host);
    const lines = ["table inet chaos", "delete table inet chaos", "table inet chaos {"];
    lines.push("  chain in { type filter hook input priority 0;");
    for (const a of rules.dropFrom) lines.push(`    ip saddr ${a} drop`);
    if (rules.lossPercent > 0) {
      lines.push(`    ip saddr != ${this.toolAddr} numgen random mod 100 < ${rules.lossPercent} drop`);
    }
    lines.push("  }", "  chain out { type filter hook output priority 0;");
    for (const a of rules.dropTo) lines.push(`    ip daddr ${a} drop`);
    if (rules.lossPercent > 0) {
      lines.push(`    ip daddr != ${this.toolAddr} numgen random mod 100 < ${rules.lossPercent} drop`);
    }
    lines.push("  }", "  chain nat { type nat hook output priority -100;");
    for (const r of rules.redirects) lines.push(`    ip daddr ${r.daddr} tcp dport ${r.dport} dnat ip to ${r.to}`);
    lines.push("  }", "}");
    await run("ip", ["netns", "exec", h.ns, "nft", "-f", "-"], lines.join("\n") + "\n");
    this.#rules.set(host, rules);
  }

  /**
   * Packet loss on `from` (nft) and its new connections to `to` redirected to a delay forwarder on the tool's address
   * (the kernel has no netem).
   */
  async slowLink(from: string, to: string, link: SlowLink, rng: Rng): Promise<() => Promise<void>> {
    const peer = this.host(to);
    const ports = this.ports(to);
    const forwarders = ports.map((port) =>
      startDelayForwarder(this.toolAddr, { hostname: peer.bind, port }, link.delayMs, link.jitterMs, rng.fork())
    );
    const undo = async () => {
      await this.setRules(from, noRules()).catch(() => {});
      await Promise.all(forwarders.map((f) => f.close()));
    };
    try {
      const rules = this.rules(from);
      rules.lossPercent = link.lossPercent;
      rules.redirects = ports.map((port, i) => ({ daddr: peer.addr, dport: port, to: forwarders[i].addr }));
      await this.setRules(from, rules);
    } catch (e) {
      await undo();
      throw e;
    }
    return undo;
  }

  /** Namespaces: the tool reaches every host directly. */
  direct(addr: string): string {
    return addr;
  }

  /** Clears every host's rules. */
  async healAll(): Promise<void> {
    for (const name of this.hosts.keys()) await this.setRules(name, noRules()).catch(() => {});
  }

  /** Kills what runs in the namespaces and deletes them; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.hosts.values()) await deleteNamespace(h.ns);
    await deleteNamespace(this.#switchNs);
    // The root-side veth goes with its peer in the switch namespace; delete it in case the peer never existed.
    await run("ip", ["link", "del", this.#rootIf]).catch(() => {});
  }
}
