/**
 * A check of loopback mode's premise: every address the cluster's processes tell each other is an advertised one, in
 * front of which a forwarder sits. A bound (listen) address in the model, a Raft member list or a master's replica list
 * would let traffic bypass the forwarders, and the faults between those hosts with it.
 * @module
 */
import type { Cluster } from "./cluster.ts";
import { RespClient } from "./resp.ts";

/** `INFO replication` of the Redis server at `hostname:port`. */
async function redisInfo(hostname: string, port: number, auth: string): Promise<string> {
  const c = new RespClient(hostname, port);
  try {
    await c.call(["AUTH", auth], 5000);
    return String(await c.call(["INFO", "replication"], 5000));
  } finally {
    c.close();
  }
}

/** Which listen address the model, the Raft members or a replica list shows, or undefined when none does. */
export async function boundAddressLeak(c: Cluster): Promise<string | undefined> {
  const bound = [...c.net.hosts.values()].filter((h) => h.bind !== h.addr).map((h) => `${h.bind}:`);
  if (bound.length === 0) return undefined;
  const views: [string, string][] = [["the model", JSON.stringify(await c.stats())]];
  for (const d of c.dashboards) {
    const st = await c.raftStatus(d);
    if (st) views.push([`dashboard ${d.id}'s Raft status`, JSON.stringify(st)]);
  }
  for (const p of c.redis) {
    const info = await redisInfo(p.host.bind, c.redisPort, c.productAuth).catch(() => "");
    views.push([`${p.name}'s INFO replication`, info]);
  }
  for (const [what, text] of views) {
    const addr = bound.find((b) => text.includes(b));
    if (addr) return `${what} shows the listen address ${addr.slice(0, -1)}, which bypasses the loopback forwarders`;
  }
  return undefined;
}
