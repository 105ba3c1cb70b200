/**
 * INFO through the proxy describes the cluster as one Redis 7 server: the same sections for the same arguments, and
 * field by field the same figures for the same traffic (counters summed over the groups, the clients being the
 * proxy's sessions), compared with a direct redis-server.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { RawClient } from "../testing/resp_diff.ts";
import { infoFields, withProxyAndRedis } from "../testing/proxy_vs_redis.ts";
import { until } from "../testing/wait.ts";
import { bytesToHuman } from "../proxy/local/info_merge.ts";

/** Section headers of `INFO args...` on a connection, without the proxy's own section. */
async function sections(c: RawClient, args: string[]): Promise<string[]> {
  return infoFields(await c.call(["INFO", ...args])).sections.filter((s) => s !== "Proxy");
}

/** A field of `cmdstat_x:calls=1,...`-like lines, as a number (0 when absent). */
function kv(fields: Map<string, string>, line: string, key: string): number {
  const v = fields.get(line);
  if (v === undefined) return 0;
  const m = new RegExp(`(?:^|,)${key.replace(".", "\\.")}=([^,]+)`).exec(v);
  return m ? Number(m[1]) : 0;
}

Deno.test("INFO: the sections Redis 7 prints for each argument list", async () => {
  await withProxyAndRedis(2, {}, async (f, r) => {
    const p = await RawClient.connect(f.port);
    const d = await RawClient.connect(r.port);
    try {
      for (
        const args of [
          [],
          ["default"],
          ["all"],
          ["everything"],
          ["server", "clients"],
          ["CLIENTS", "Server"],
          ["cluster", "modules"],
          ["keyspace", "default"],
          ["commandstats", "errorstats", "latencystats"],
          ["memory", "persistence", "stats", "cpu", "replication"],
        ]
      ) deepEqual(await sections(p, args), await sections(d, args), `INFO ${args.join(" ")}`);
      for (const args of [["nosuch"], ["cluster"], ["modules"], ["cluster", "nosuch"]]) {
        equal(await p.call(["INFO", ...args]), await d.call(["INFO", ...args]), `INFO ${args.join(" ")}`);
      }
      // Every field of these sections that Redis has, the proxy has.
      for (const s of ["memory", "persistence", "stats", "cpu", "clients", "replication"]) {
        const want = [...infoFields(await d.call(["INFO", s])).fields.keys()];
        const got = infoFields(await p.call(["INFO", s])).fields;
        const missing = want.filter((k) => !got.has(k) && !PROXY_LACKS.has(k));
        deepEqual(missing, [], `INFO ${s}`);
      }
    } finally {
      p.close();
      d.close();
    }
  });
});

/** Fields of a Redis server that have no meaning for the proxy's clients (buffers, replication ids of one server). */
const PROXY_LACKS = new Set([
  "client_recent_max_input_buffer",
  "client_recent_max_output_buffer",
  "master_replid",
  "master_replid2",
  "master_repl_offset",
  "second_repl_offset",
  "repl_backlog_active",
  "repl_backlog_size",
  "repl_backlog_first_byte_offset",
  "repl_backlog_histlen",
]);

Deno.test("INFO: the same traffic gives the same figures, summed over the groups", async () => {
  await withProxyAndRedis(2, { proxy_allow_config_set: true }, async (f, r) => {
    const setup = [["CONFIG", "RESETSTAT"]];
    const traffic = [
      ["SET", "k1", "1"],
      ["SET", "k2", "2"],
      ["SET", "k3", "3", "EX", "100"],
      ["GET", "k1"],
      ["GET", "k2"],
      ["GET", "nokey"],
      ["RPUSH", "list", "a"],
      ["INCR", "list"], // WRONGTYPE: a failed call and an error stat
      ["HSET", "h", "f", "v"],
      ["DEL", "k2"],
    ];
    const results: Map<string, string>[][] = [];
    for (const port of [r.port, f.port]) {
      const c = await RawClient.connect(port);
      const blocked = await RawClient.connect(port);
      try {
        for (const cmd of setup) equal(await c.call(cmd), "+OK\r\n");
        const before = infoFields(await c.call(["INFO", "everything"])).fields;
        for (const cmd of traffic) await c.call(cmd);
        const after = infoFields(await c.call(["INFO", "everything"])).fields;
        const pop = blocked.call(["BLPOP", "nolist", "10"], 15_000);
        const clients = await until("one blocked client", 5000, async () => {
          const info = await c.call(["INFO", "clients"]);
          return /blocked_clients:1\r\n/.test(info) ? infoFields(info).fields : undefined;
        });
        await c.call(["RPUSH", "nolist", "x"]);
        equal(await pop, "*2\r\n$6\r\nnolist\r\n$1\r\nx\r\n");
        results.push([before, after, clients]);
      } finally {
        c.close();
        blocked.close();
      }
    }
    const [[db, da, dc], [pb, pa, pc]] = results;
    const delta = (b: Map<string, string>, a: Map<string, string>, k: string) => Number(a.get(k)) - Number(b.get(k));
    for (
      const k of [
        "keyspace_hits",
        "keyspace_misses",
        "rdb_changes_since_last_save",
        "expired_keys",
        "evicted_keys",
        "total_commands_processed",
        "total_connections_received",
      ]
    ) equal(delta(pb, pa, k), delta(db, da, k), k);
    for (const k of ["connected_clients", "blocked_clients", "tracking_clients"]) equal(pc.get(k), dc.get(k), k);
    for (const k of ["loading", "rdb_bgsave_in_progress", "aof_enabled"]) equal(pa.get(k), da.get(k), k);
    equal(pa.get("db0"), da.get("db0"));
    equal(pa.get("rdb_last_bgsave_status"), "ok");
    for (const [cmd, key] of [["set", "calls"], ["get", "calls"], ["incr", "failed_calls"], ["hset", "calls"]]) {
      equal(kv(pa, `cmdstat_${cmd}`, key), kv(da, `cmdstat_${cmd}`, key), `cmdstat_${cmd} ${key}`);
    }
    // DEL is split by the proxy: its calls are the proxy's own count, one per client call.
    equal(kv(pa, "cmdstat_del", "calls"), kv(da, "cmdstat_del", "calls"));
    equal(kv(pa, "cmdstat_config|resetstat", "calls"), kv(da, "cmdstat_config|resetstat", "calls"));
    equal(kv(pa, "errorstat_WRONGTYPE", "count"), kv(da, "errorstat_WRONGTYPE", "count"));
    ok(kv(pa, "latency_percentiles_usec_set", "p50") > 0);
    // The proxy's own housekeeping on the backends (SELECT, PING, INFO...) is not the clients' traffic.
    equal(pa.get("cmdstat_select"), undefined);
    // Recomputed and maxed fields.
    equal(pa.get("used_memory_human"), bytesToHuman(Number(pa.get("used_memory"))));
    ok(Math.abs(Number(pa.get("rdb_last_save_time")) - Date.now() / 1000) < 60);
    equal(pa.get("maxmemory_policy"), "noeviction");
  });
});

Deno.test("INFO clients: blocked, pub/sub and connected sessions of this proxy", async () => {
  await withProxyAndRedis(2, {}, async (f) => {
    const c = await RawClient.connect(f.port);
    const sub = await RawClient.connect(f.port);
    try {
      await sub.call(["SUBSCRIBE", "ch"]);
      const info = infoFields(await c.call(["INFO", "clients"])).fields;
      equal(info.get("connected_clients"), "2");
      equal(info.get("pubsub_clients"), "1");
      equal(info.get("blocked_clients"), "0");
      equal(info.get("maxclients"), String(f.proxy.config.proxy_max_clients));
    } finally {
      c.close();
      sub.close();
    }
  });
});

Deno.test("INFO: a text field that differs between groups is listed per group", async () => {
  await withProxyAndRedis(2, {}, async (f) => {
    await f.direct(1).config("SET", "maxmemory-policy", "allkeys-lfu");
    const c = await RawClient.connect(f.port);
    try {
      const v = infoFields(await c.call(["INFO", "memory"])).fields.get("maxmemory_policy");
      equal(v, `${f.backends[0].addr}=noeviction,${f.backends[1].addr}=allkeys-lfu`);
    } finally {
      c.close();
    }
  });
});

Deno.test("INFO: a master that cannot answer is named, and the rest of the cluster still shows", async () => {
  await withProxyAndRedis(2, {}, async (f) => {
    const c = await RawClient.connect(f.port);
    try {
      for (let i = 0; i < 20; i++) await c.call(["SET", `k${i}`, "v"]); // in both groups' slots
      const before = infoFields(await c.call(["INFO"])).fields;
      equal(before.get("info_unreachable_backends"), "");
      equal(before.get("db0"), "keys=20,expires=0,avg_ttl=0");
      await f.backends[1].kill();
      const after = infoFields(await c.call(["INFO"], 10_000)).fields;
      equal(after.get("info_unreachable_backends"), f.backends[1].addr);
      ok(Number(after.get("used_memory")) > 0);
      const left = Number(/keys=(\d+)/.exec(after.get("db0") ?? "keys=0")![1]);
      ok(left > 0 && left < 20, `only the keys of the master still up: ${after.get("db0")}`);
    } finally {
      c.close();
    }
  });
});
