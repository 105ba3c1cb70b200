/**
 * INFO through the proxy: the cluster described as one Redis 7 server, section by section in Redis's format.
 * `server`, `clients`, `replication` and `cluster` are the proxy's own (its sessions are the server's clients);
 * `memory`, `persistence`, `stats`, `cpu`, `commandstats`, `errorstats` and `latencystats` combine the masters' own
 * sections (info_merge.ts says which field is summed, maxed or listed per group), with the client-facing counters of
 * `stats` taken from the proxy; `keyspace` has the cluster's totals in db0; `proxy` is codis-proxy's own. Section
 * names follow Redis 7: any number of them, `default`, `all`, `everything`, unknown names ignored.
 * @module
 */
import type { ProxyCore } from "../core/core.ts";
import { bulkReply } from "../../redis/encode.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";
import { masters } from "../keyspace/fanout.ts";
import { mergeKvSection, mergeSection, parseInfo, type ServerSection } from "./info_merge.ts";

const dec = new TextDecoder();

/** Every section, in Redis's order, with the name printed in its header. */
const SECTIONS: readonly [name: string, header: string][] = [
  ["server", "Server"],
  ["clients", "Clients"],
  ["memory", "Memory"],
  ["persistence", "Persistence"],
  ["stats", "Stats"],
  ["replication", "Replication"],
  ["cpu", "CPU"],
  ["modules", "Modules"],
  ["commandstats", "Commandstats"],
  ["errorstats", "Errorstats"],
  ["latencystats", "Latencystats"],
  ["cluster", "Cluster"],
  ["proxy", "Proxy"],
  ["keyspace", "Keyspace"],
];

/** Sections `INFO` and `INFO default` print: Redis 7's default set, plus the proxy's own. */
const DEFAULT = new Set(SECTIONS.map(([n]) => n).filter((n) => n !== "commandstats" && n !== "latencystats"));
/** Sections read from the masters' INFO. */
const FROM_MASTERS = new Set(["memory", "persistence", "stats", "cpu", "commandstats", "errorstats", "latencystats"]);
const KV_SECTIONS = new Set(["commandstats", "errorstats", "latencystats"]);

/** The sections `INFO arg...` asks for, lower-case, as Redis 7 reads them. */
export function wantedSections(args: string[]): Set<string> {
  if (args.length === 0) return new Set(DEFAULT);
  const out = new Set<string>();
  for (const a of args.map((x) => x.toLowerCase())) {
    if (a === "default") { for (const n of DEFAULT) out.add(n); }
    else if (a === "all" || a === "everything") { for (const [n] of SECTIONS) out.add(n); }
    else out.add(a);
  }
  return out;
}

/** The proxy's counters at the last CONFIG RESETSTAT, subtracted from what INFO shows (its metrics keep them). */
interface Baseline {
  commands: number;
  connections: number;
  errors: number;
  perCommand: Map<string, { calls: number; usecs: number; errors: number }>;
}
const baselines = new WeakMap<ProxyCore, Baseline>();
const ZERO: Baseline = { commands: 0, connections: 0, errors: 0, perCommand: new Map() };

/** CONFIG RESETSTAT: INFO's counters that come from the proxy start again from zero. */
export function resetInfoStats(core: ProxyCore): void {
  const s = core.stats;
  const perCommand = new Map<string, { calls: number; usecs: number; errors: number }>();
  for (const c of s.commands()) {
    perCommand.set(c.name, { calls: c.calls, usecs: c.usecs, errors: c.fails + c.redisErrors });
  }
  baselines.set(core, { commands: s.total, connections: s.sessionsTotal, errors: s.fails + s.redisErrors, perCommand });
}

/** Builds the INFO reply for `argv` (INFO [section ...]). */
export async function clusterInfoCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  const want = wantedSections(argv.slice(1).map((a) => dec.decode(a)));
  const fromMasters = [...want].filter((n) => FROM_MASTERS.has(n) || n === "keyspace");
  const all = fromMasters.length > 0 ? await mastersInfo(core, fromMasters) : [];
  const perServer = all.filter((m) => m.error === undefined);
  const unreachable = all.filter((m) => m.error !== undefined).map((m) => m.addr);
  if (all.length > 0 && perServer.length === 0) throw new Error(`no backend answered INFO (${all[0].error})`);
  const out: string[] = [];
  for (const [name, header] of SECTIONS) {
    if (!want.has(name)) continue;
    let lines: [string, string][] | string[];
    if (name === "keyspace") lines = keyspaceLines(core, perServer);
    else if (FROM_MASTERS.has(name)) {
      const servers: ServerSection[] = perServer.map((p) => ({ addr: p.addr, fields: p.info.get(name) ?? [] }));
      if (!KV_SECTIONS.has(name)) lines = mergeSection(servers, overrides(core, name));
      else if (name === "errorstats") lines = mergeKvSection(servers);
      else lines = perCommandLines(core, name, servers);
    } else lines = ownSection(core, name, unreachable);
    out.push(`# ${header}\r\n${lines.map((l) => (Array.isArray(l) ? `${l[0]}:${l[1]}` : l) + "\r\n").join("")}`);
  }
  return bulkReply(out.join("\r\n"));
}

/** One master's parsed INFO, or why it could not be read. */
interface MasterInfo {
  addr: string;
  info: Map<string, [string, string][]>;
  error?: string;
}

/**
 * Each master's INFO for `sections`, parsed. A master that cannot answer is left out of the sums (and named in the
 * `proxy` section's `info_unreachable_backends`): a monitoring tool still sees the rest of the cluster.
 */
async function mastersInfo(core: ProxyCore, sections: string[]): Promise<MasterInfo[]> {
  const pools = masters(core);
  return await Promise.all(pools.map(async (p): Promise<MasterInfo> => {
    const conn = p.connFor(0);
    try {
      let raw = await conn.call(0, ["INFO", ...sections]);
      // Redis before 7 takes one section: ask for all of them instead.
      if (isErrorReply(raw) && sections.length > 1) raw = await conn.call(0, ["INFO", "all"]);
      if (isErrorReply(raw)) return { addr: p.addr, info: new Map(), error: errorText(raw) };
      const head = raw.indexOf(10) + 1;
      return { addr: p.addr, info: parseInfo(dec.decode(raw.subarray(head, raw.length - 2))) };
    } catch (e) {
      return { addr: p.addr, info: new Map(), error: (e as Error).message };
    }
  }));
}

/** Fields of the masters' sections that the proxy answers itself: what its clients did, not what it sent. */
function overrides(core: ProxyCore, section: string): Map<string, string> {
  const m = new Map<string, string>();
  if (section !== "stats") return m;
  const s = core.stats;
  const b = baselines.get(core) ?? ZERO;
  m.set("total_connections_received", String(s.sessionsTotal - b.connections));
  m.set("total_commands_processed", String(s.total - b.commands));
  m.set("instantaneous_ops_per_sec", String(s.qps));
  m.set("total_error_replies", String(s.fails + s.redisErrors - b.errors));
  return m;
}

/**
 * commandstats and latencystats: the masters' figures for the commands the proxy forwards; for those it answers,
 * splits or refuses itself, the proxy's own counts (the masters' would be the proxy's own housekeeping: SELECT,
 * PING, INFO ...), with no latency percentiles.
 */
function perCommandLines(core: ProxyCore, section: string, servers: ServerSection[]): [string, string][] {
  const prefix = section === "commandstats" ? "cmdstat_" : "latency_percentiles_usec_";
  const forwarded = (field: string) => {
    const policy = core.commands.get(field.slice(prefix.length))?.policy;
    return policy === undefined || policy === "forward"; // unknown to the table: a module's command, forwarded
  };
  const lines = mergeKvSection(servers.map((s) => ({ addr: s.addr, fields: s.fields.filter(([k]) => forwarded(k)) })));
  if (section !== "commandstats") return lines;
  const base = (baselines.get(core) ?? ZERO).perCommand;
  for (const c of core.stats.commands()) {
    const info = core.commands.get(c.name);
    if (info === undefined || info.policy === "forward") continue;
    const b = base.get(c.name) ?? { calls: 0, usecs: 0, errors: 0 };
    const calls = c.calls - b.calls;
    if (calls <= 0) continue;
    const usec = c.usecs - b.usecs;
    const failed = c.fails + c.redisErrors - b.errors;
    lines.push([
      `cmdstat_${c.name}`,
      `calls=${calls},usec=${usec},usec_per_call=${(usec / calls).toFixed(2)},rejected_calls=0,failed_calls=${failed}`,
    ]);
  }
  return lines;
}

/** The sections the proxy answers alone. */
function ownSection(core: ProxyCore, name: string, unreachable: string[]): string[] {
  const p = core.info();
  switch (name) {
    case "server": {
      const uptime = Math.floor((Date.now() - p.startTime) / 1000);
      return [
        `redis_version:${p.version}`,
        "redis_mode:standalone",
        "codis_proxy_version:codis-deno",
        `os:${Deno.build.os} ${Deno.build.arch}`,
        "arch_bits:64",
        `process_id:${Deno.pid}`,
        `tcp_port:${p.proxyAddr.slice(p.proxyAddr.lastIndexOf(":") + 1)}`,
        `server_time_usec:${Date.now() * 1000}`,
        `uptime_in_seconds:${uptime}`,
        `uptime_in_days:${Math.floor(uptime / 86400)}`,
      ];
    }
    case "clients": {
      const c = core.clientCounts();
      return [
        `connected_clients:${core.sessionCount()}`,
        "cluster_connections:0",
        `maxclients:${core.config.proxy_max_clients}`,
        `blocked_clients:${c.blocked}`,
        "tracking_clients:0", // CLIENT TRACKING is refused
        `pubsub_clients:${c.pubsub}`,
        `clients_in_timeout_table:${c.blocked}`,
      ];
    }
    case "replication":
      // The proxy is a master without replicas of its own; the groups' replication is codis-dashboard's.
      return ["role:master", "connected_slaves:0", "master_failover_state:no-failover"];
    case "cluster":
      return ["cluster_enabled:0"];
    case "proxy": {
      const pools = masters(core);
      return [
        `product_name:${p.productName}`,
        `proxy_token:${p.token}`,
        `proxy_addr:${p.proxyAddr}`,
        `backends:${pools.length}`,
        `backends_connected:${pools.filter((b) => b.conns.every((c) => c.state === "connected")).length}`,
        `slots_online:${core.router.slots.filter((r) => r.backend !== null).length}`,
        `info_unreachable_backends:${unreachable.join(",")}`,
      ];
    }
    default: // modules: none
      return [];
  }
}

/**
 * `db0:keys=..,expires=..,avg_ttl=0` over every slot, each counted on the master serving it now (a slot's database
 * on a migration source is not counted twice), or nothing for an empty cluster (as Redis).
 */
function keyspaceLines(core: ProxyCore, servers: MasterInfo[]): string[] {
  const byAddr = new Map(servers.map((m) => [m.addr, new Map(m.info.get("keyspace") ?? [])]));
  let keys = 0;
  let expires = 0;
  for (const route of core.router.slots) {
    const v = route.backend === null ? undefined : byAddr.get(route.backend.addr)?.get(`db${route.id}`);
    if (v === undefined) continue;
    const m = /keys=(\d+),expires=(\d+)/.exec(v);
    if (m === null) continue;
    keys += Number(m[1]);
    expires += Number(m[2]);
  }
  return keys > 0 ? [`db0:keys=${keys},expires=${expires},avg_ttl=0`] : [];
}
