import { deepEqual, equal, ok } from "node:assert/strict";
import { Redis } from "ioredis";
import { type Cluster, startCluster } from "../examples/cluster.ts";
import { slotOf } from "../models/hash.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function getJSON(addr: string, path: string): Promise<unknown> {
  const res = await fetch(`http://${addr}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The dashboard that leads the Raft group, from any live node's raft status. */
async function leaderOf(c: Cluster): Promise<number> {
  for (const d of c.dashboards) {
    if (!d.proc) continue;
    try {
      const st = await getJSON(d.addr, "/api/topom/raft/status") as { leader: number };
      if (st.leader > 0) return st.leader - 1;
    } catch { /* try the next one */ }
  }
  throw new Error("no raft leader");
}

Deno.test({
  name: "cluster: 512 slots migrate under load through 2 proxies, with the dashboard leader killed midway",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const c = await startCluster({ groups: 2, replicas: 0, dashboards: 3, proxies: 2, output: "files" });
    const clients: Redis[] = [];
    let failed = false;
    let stop = false;
    try {
      for (const addr of c.proxyAddrs) {
        const [host, port] = addr.split(":");
        const r = new Redis({ host, port: Number(port), maxRetriesPerRequest: 0, enableOfflineQueue: false });
        r.on("error", () => {});
        clients.push(r);
      }
      await waitFor(
        "proxies online",
        async () => (await clients[0].ping()) === "PONG" && (await clients[1].ping()) === "PONG",
        20_000,
      );

      const nKeys = 2000;
      const keys = Array.from({ length: nKeys }, (_, i) => `mig:${i}`);
      const acked = new Map<string, string>();
      const errors: string[] = [];
      // Writer w owns the keys i % 2 === w, so the last acknowledged value of each key is well defined.
      const writer = async (w: number) => {
        let seq = 0;
        while (!stop) {
          const i = (Math.floor(Math.random() * (nKeys / 2)) * 2) + w;
          const v = `w${w}:${seq++}`;
          try {
            await clients[w].set(keys[i], v);
            acked.set(keys[i], v);
          } catch (e) {
            errors.push(`SET ${keys[i]}: ${(e as Error).message}`);
          }
        }
      };
      const reader = async (r: number) => {
        while (!stop) {
          const i = Math.floor(Math.random() * nKeys);
          try {
            await clients[r].get(keys[i]);
          } catch (e) {
            errors.push(`GET ${keys[i]}: ${(e as Error).message}`);
          }
        }
      };
      // Seed every key first, so that migration has data to move.
      for (let i = 0; i < nKeys; i += 100) {
        const p = clients[0].pipeline();
        for (const k of keys.slice(i, i + 100)) {
          p.set(k, "seed");
          acked.set(k, "seed");
        }
        await p.exec();
      }
      const load = [writer(0), writer(1), reader(0), reader(1)];

      await c.admin(["--slot-action", "--create-range", "--beg=0", "--end=511", "--gid=2"]);
      type Mapping = { id: number; group_id: number; action: { state?: string } };
      const slotsOf = async () =>
        (await getJSON(c.dashboards.find((d) => d.proc)!.addr, "/topom/stats") as { slots: Mapping[] }).slots;
      // Midway: some slots have moved, some have not.
      await waitFor(
        "the first slots to move",
        async () => (await slotsOf()).filter((s) => s.group_id === 2).length > 512,
        60_000,
      );
      const leader = await leaderOf(c);
      await c.kill(c.dashboards[leader]);
      const movedAtKill = (await slotsOf()).filter((s) => s.group_id === 2).length;
      ok(movedAtKill < 1024, `the leader died mid-migration (${movedAtKill - 512} of 512 slots moved)`);
      await waitFor("all 512 slots on group 2", async () => {
        const slots = await slotsOf();
        return slots.filter((s) => s.group_id === 2).length === 1024 && slots.every((s) => !s.action.state);
      }, 120_000);
      stop = true;
      await Promise.all(load);

      deepEqual(errors.slice(0, 5), [], `${errors.length} client errors`);
      // Every key holds its last acknowledged value, read through either proxy.
      for (let i = 0; i < nKeys; i += 200) {
        const batch = keys.slice(i, i + 200);
        const got = await clients[i % 2].mget(...batch);
        for (let j = 0; j < batch.length; j++) equal(got[j], acked.get(batch[j]), batch[j]);
      }
      // No key lives in two groups: each is only in database `slot` of group 2's master.
      const [m1, m2] = [c.groups.get(1)![0], c.groups.get(2)![0]];
      const direct = async (addr: string, db: number, key: string) => {
        const [host, port] = addr.split(":");
        const r = new Redis({ host, port: Number(port), db, maxRetriesPerRequest: 0 });
        try {
          return await r.exists(key);
        } finally {
          r.disconnect();
        }
      };
      for (const k of keys.slice(0, 200)) {
        const s = slotOf(enc(k));
        const in1 = await direct(m1, s, k);
        const in2 = await direct(m2, s, k);
        equal(in1 + in2, 1, `${k} (slot ${s}) is in exactly one group`);
        if (s < 512) equal(in2, 1);
      }
      ok(acked.size === nKeys);
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      stop = true;
      for (const r of clients) r.disconnect();
      await c.stop(failed);
    }
  },
});
