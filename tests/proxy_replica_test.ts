import { equal } from "node:assert/strict";
import { Redis } from "ioredis";
import { slotOf } from "../proxy/hash.ts";
import { startProxyFixture } from "../testing/proxy.ts";
import { startRedis } from "../testing/redis.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("proxy: reads go to a slot's replica group when it has one; writes and SCANs stay on the master", async () => {
  const f = await startProxyFixture(1);
  const replica = await startRedis({ extraArgs: ["--replica-read-only", "no"] });
  const direct = new Redis({ port: replica.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const c = f.client();
    const key = "rr-key";
    const slot = slotOf(enc(key));
    equal(await c.set(key, "master-value"), "OK");
    // A value only the replica holds tells which server answered a read.
    await direct.select(slot);
    equal(await direct.set(key, "replica-value"), "OK");
    const master = f.backends[0].addr;
    await f.proxy.fillSlots([{ id: slot, backend_addr: master, replica_groups: [[replica.addr]] }]);
    for (const p of f.proxy.router.pools.values()) await p.connect();
    equal(await c.get(key), "replica-value");
    equal(await c.strlen(key), "replica-value".length);
    // Writes, and read-write commands, go to the master.
    equal(await c.append(key, "!"), "master-value!".length);
    equal(await f.direct(0, slot).get(key), "master-value!");
    // backend_primary_only turns replica reads off.
    f.proxy.config.backend_primary_only = true;
    equal(await c.get(key), "master-value!");
    f.proxy.config.backend_primary_only = false;
    // Without replica groups, reads go back to the master.
    await f.proxy.fillSlots([{ id: slot, backend_addr: master }]);
    equal(await c.get(key), "master-value!");
  } finally {
    direct.disconnect();
    await f.stop();
    await replica.stop();
  }
});

Deno.test("proxy: backend_replica_parallel sets the connections to each replica, backend_primary_parallel to masters", async () => {
  const f = await startProxyFixture(1, { backend_primary_parallel: 2, backend_replica_parallel: 3 });
  const replica = await startRedis();
  const direct = new Redis({ port: replica.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const master = f.backends[0].addr;
    await f.proxy.fillSlots([{ id: 7, backend_addr: master, replica_groups: [[replica.addr]] }]);
    for (const p of f.proxy.router.pools.values()) await p.connect();
    equal(f.proxy.router.pools.get(master)!.conns.length, 2);
    equal(f.proxy.router.pools.get(replica.addr)!.conns.length, 3);
    // The replica really holds that many connections from the proxy (plus this test's own).
    const lines = String(await direct.call("CLIENT", "LIST")).trim().split("\n");
    equal(lines.length, 3 + 1);
  } finally {
    direct.disconnect();
    await f.stop();
    await replica.stop();
  }
});

Deno.test("proxy: a replica that answers MASTERDOWN is skipped (DataStale) and the read goes to the master", async () => {
  const f = await startProxyFixture(1, { backend_ping_period: 100 });
  const replica = await startRedis({ extraArgs: ["--replica-serve-stale-data", "no"] });
  const direct = new Redis({ port: replica.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    const c = f.client();
    const key = "stale-key";
    const slot = slotOf(enc(key));
    equal(await c.set(key, "master-value"), "OK");
    const master = f.backends[0].addr;
    await f.proxy.fillSlots([{ id: slot, backend_addr: master, replica_groups: [[replica.addr]] }]);
    for (const p of f.proxy.router.pools.values()) await p.connect();
    const replicaConn = f.proxy.router.pools.get(replica.addr)!.conns[0];
    equal(replicaConn.stale, false);
    // It becomes a replica of a master that does not exist, refusing stale reads: every read gets -MASTERDOWN.
    equal(await direct.call("REPLICAOF", "127.0.0.1", "1"), "OK");
    equal(await c.get(key), "master-value", "the MASTERDOWN read is retried on the master");
    equal(replicaConn.stale, true);
    equal(await c.get(key), "master-value");
    // The replica recovers (here: it becomes a master of its own); the keepalive's INFO clears the mark.
    equal(await direct.call("REPLICAOF", "NO", "ONE"), "OK");
    await direct.select(slot);
    equal(await direct.set(key, "replica-value"), "OK");
    for (let i = 0; i < 50 && replicaConn.stale; i++) await new Promise((r) => setTimeout(r, 50));
    equal(replicaConn.stale, false);
    equal(await c.get(key), "replica-value");
  } finally {
    direct.disconnect();
    await f.stop();
    await replica.stop();
  }
});
