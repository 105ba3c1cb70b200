import { deepEqual, equal } from "node:assert/strict";
import { bytesToHuman, fieldRule, mergeKvSection, mergeSection, parseInfo } from "./info_merge.ts";

Deno.test("info_merge: bytesToHuman as Redis prints it", () => {
  equal(bytesToHuman(0), "0B");
  equal(bytesToHuman(1023), "1023B");
  equal(bytesToHuman(990288), "967.08K");
  equal(bytesToHuman(12443648), "11.87M");
  equal(bytesToHuman(25276157952), "23.54G");
});

Deno.test("info_merge: the rule of each kind of field", () => {
  equal(fieldRule("used_memory", "100"), "sum");
  equal(fieldRule("used_memory_human", "1K"), "human");
  equal(fieldRule("mem_fragmentation_ratio", "1.2"), "max");
  equal(fieldRule("used_memory_peak_perc", "99.1%"), "max");
  equal(fieldRule("maxmemory_policy", "noeviction"), "text");
  equal(fieldRule("rdb_last_save_time", "1"), "max");
  equal(fieldRule("rdb_bgsave_in_progress", "0"), "max");
  equal(fieldRule("rdb_last_bgsave_status", "ok"), "status");
  equal(fieldRule("rdb_changes_since_last_save", "3"), "sum");
  equal(fieldRule("pubsub_patterns", "1"), "max");
  equal(fieldRule("used_cpu_sys", "0.1"), "sum");
});

Deno.test("info_merge: sections merge by their rules, in the first server's order", () => {
  const a = parseInfo(
    "# Memory\r\nused_memory:1024\r\nused_memory_human:1.00K\r\nmem_fragmentation_ratio:1.50\r\n" +
      "maxmemory_policy:noeviction\r\n# Persistence\r\nrdb_last_save_time:100\r\nrdb_last_bgsave_status:ok\r\n",
  );
  const b = parseInfo(
    "# Memory\r\nused_memory:2048\r\nused_memory_human:2.00K\r\nmem_fragmentation_ratio:2.25\r\n" +
      "maxmemory_policy:allkeys-lru\r\n# Persistence\r\nrdb_last_save_time:200\r\nrdb_last_bgsave_status:err\r\n",
  );
  const servers = (s: string) => [{ addr: "a:1", fields: a.get(s)! }, { addr: "b:2", fields: b.get(s)! }];
  deepEqual(mergeSection(servers("memory")), [
    ["used_memory", "3072"],
    ["used_memory_human", "3.00K"],
    ["mem_fragmentation_ratio", "2.25"],
    ["maxmemory_policy", "a:1=noeviction,b:2=allkeys-lru"],
  ]);
  deepEqual(mergeSection(servers("persistence")), [
    ["rdb_last_save_time", "200"],
    ["rdb_last_bgsave_status", "err"],
  ]);
  deepEqual(mergeSection(servers("memory"), new Map([["used_memory", "1"]]))[0], ["used_memory", "1"]);
});

Deno.test("info_merge: per-command lines sum counts, recompute usec_per_call and max percentiles", () => {
  const a = [["cmdstat_get", "calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=1"]] as [
    string,
    string,
  ][];
  const b = [["cmdstat_get", "calls=3,usec=50,usec_per_call=16.67,rejected_calls=1,failed_calls=0"]] as [
    string,
    string,
  ][];
  deepEqual(mergeKvSection([{ addr: "a", fields: a }, { addr: "b", fields: b }]), [
    ["cmdstat_get", "calls=5,usec=60,usec_per_call=12.00,rejected_calls=1,failed_calls=1"],
  ]);
  const la = [["latency_percentiles_usec_get", "p50=1.003,p99=5.023,p99.9=9.000"]] as [string, string][];
  const lb = [["latency_percentiles_usec_get", "p50=2.007,p99=3.001,p99.9=10.000"]] as [string, string][];
  deepEqual(mergeKvSection([{ addr: "a", fields: la }, { addr: "b", fields: lb }]), [
    ["latency_percentiles_usec_get", "p50=2.007,p99=5.023,p99.9=10.000"],
  ]);
});
