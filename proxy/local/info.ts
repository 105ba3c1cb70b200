/**
 * INFO: the proxy's own sections plus cluster-wide totals, in Redis's text format, so that clients and tools that
 * parse `INFO` (or `INFO keyspace`) see one big Redis.
 * @module
 */
import type { ProxyCore } from "../core.ts";
import { bulkReply } from "../../redis/encode.ts";
import { slotKeyCounts } from "./keyspace.ts";

const decoder = new TextDecoder();

/** Builds the INFO reply; `argv[1]` may name one section (or "all"/"everything"). */
export async function infoCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  const want = argv.length > 1 ? decoder.decode(argv[1]).toLowerCase() : "default";
  const all = want === "default" || want === "all" || want === "everything";
  const p = core.info();
  const stats = core.stats;
  const sections: string[] = [];
  const add = (name: string, lines: string[]) => {
    if (all || want === name.toLowerCase()) sections.push(`# ${name}\r\n${lines.join("\r\n")}\r\n`);
  };
  const uptime = Math.floor((Date.now() - p.startTime) / 1000);
  add("Server", [
    `redis_version:${p.version}`,
    "redis_mode:standalone",
    `codis_proxy_version:codis-deno`,
    `os:${Deno.build.os} ${Deno.build.arch}`,
    `process_id:${Deno.pid}`,
    `tcp_port:${p.proxyAddr.slice(p.proxyAddr.lastIndexOf(":") + 1)}`,
    `uptime_in_seconds:${uptime}`,
    `uptime_in_days:${Math.floor(uptime / 86400)}`,
  ]);
  add("Clients", [`connected_clients:${core.sessionCount()}`, `maxclients:${core.config.proxy_max_clients}`]);
  add("Stats", [
    `total_connections_received:${stats.sessionsTotal}`,
    `total_commands_processed:${stats.total}`,
    `instantaneous_ops_per_sec:${stats.qps}`,
    `total_error_replies:${stats.fails + stats.redisErrors}`,
  ]);
  const pools = [...core.router.pools.values()];
  add("Proxy", [
    `product_name:${p.productName}`,
    `proxy_token:${p.token}`,
    `proxy_addr:${p.proxyAddr}`,
    `backends:${pools.length}`,
    `backends_connected:${pools.filter((b) => b.conns.every((c) => c.state === "connected")).length}`,
    `slots_online:${core.router.slots.filter((r) => r.backend !== null).length}`,
  ]);
  if (all || want === "keyspace") {
    const counts = await slotKeyCounts(core);
    let keys = 0;
    let expires = 0;
    for (const c of counts.values()) {
      keys += c.keys;
      expires += c.expires;
    }
    sections.push(`# Keyspace\r\n${keys > 0 ? `db0:keys=${keys},expires=${expires},avg_ttl=0\r\n` : ""}`);
  }
  return bulkReply(sections.join("\r\n"));
}
