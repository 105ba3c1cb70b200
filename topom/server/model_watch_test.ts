import assert from "node:assert/strict";
import { ModelWatch, type ModelWatchHost } from "./model_watch.ts";
import { ModelCache } from "../model_cache.ts";
import { FsStore } from "../../store/fs.ts";
import type { CoordClient } from "../../store/client.ts";
import { groupPath, proxyPath, sentinelPath, slotPath } from "../../store/paths.ts";
import { slotActionPath } from "../slot_action_settings.ts";
import type { Coordinator } from "./coord.ts";
import { startRaftGroup } from "../../store/testing/raft_group.ts";

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const P = "demo";

/** A host over a real filesystem store in a temp dir; `changes` counts the watch's `changed` calls. */
async function fsHost() {
  const root = await Deno.makeTempDir({ prefix: "model-watch-" });
  const store = await FsStore.open(root);
  const client: CoordClient = store.client();
  const coord: Coordinator = {
    kind: "fs",
    client,
    isLeader: () => true,
    leaderAdminAddr: () => "",
    onChange: () => {},
    close: () => client.close(),
  };
  const host: ModelWatchHost & { closed: boolean } = {
    product: P,
    coord,
    closed: false,
    cache: new ModelCache(P),
    routingRevision: 0,
  };
  const counter = { changes: 0 };
  const watch = new ModelWatch(host, () => counter.changes++);
  return {
    client,
    host,
    watch,
    counter,
    async cleanup() {
      host.closed = true;
      watch.stop();
      await bounded(watch.ended(), 3000, "watch loops ended");
      await client.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** Resolves with `p`, or fails naming `what` after `ms`. */
async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` every 10 ms for up to `ms`. */
async function eventually(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const group = (id: number, addr: string) => ({
  id,
  servers: [{ server: addr, datacenter: "", action: {}, replica_group: false }],
  promoting: {},
  out_of_sync: false,
});

Deno.test("model watch: restart loads the whole model; the routing revision counts slots, groups and sentinel only", async () => {
  const t = await fsHost();
  try {
    await t.client.update(groupPath(P, 1), json(group(1, "127.0.0.1:6379")));
    await t.client.update(slotPath(P, 7), json({ id: 7, group_id: 1, action: {} }));
    const sentinelRev = await t.client.update(sentinelPath(P), json({ servers: ["127.0.0.1:26379"] }));
    await t.client.update(slotActionPath(P), json({ interval: 5000, disabled: true }));
    const proxyRev = await t.client.update(proxyPath(P, "abc"), json({ token: "abc", proxy_addr: "127.0.0.1:19000" }));
    await t.client.update("/codis3/other/slots/slot-0001", json({ id: 1, group_id: 9, action: {} }));

    await t.watch.restart();
    const m = t.host.cache.model();
    assert.equal(m.slots[7].group_id, 1);
    assert.deepEqual(m.groups.map((g) => g.servers[0].server), ["127.0.0.1:6379"]);
    assert.deepEqual(m.proxies.map((p) => p.token), ["abc"]);
    assert.deepEqual(t.host.cache.slotAction(), { interval: 5000, disabled: true });
    assert.equal(m.slots[1].group_id, 0, "another product's slot is not ours");
    assert.deepEqual(m.sentinel?.servers, ["127.0.0.1:26379"]);
    assert.equal(t.host.routingRevision, sentinelRev, "a proxy's registration and the settings are not routing");
    assert.ok(proxyRev > sentinelRev);
    assert.equal(t.counter.changes, 0, "a load alone calls no one");
  } finally {
    await t.cleanup();
  }
});

Deno.test("model watch: changes after the load are applied in place, and `changed` runs for each batch", async () => {
  const t = await fsHost();
  try {
    await t.client.update(groupPath(P, 1), json(group(1, "127.0.0.1:6379")));
    await t.watch.restart();
    const cache = t.host.cache;

    const slotRev = await t.client.update(slotPath(P, 3), json({ id: 3, group_id: 1, action: {} }));
    await eventually(() => t.host.cache.model().slots[3].group_id === 1, "slot change seen");
    assert.equal(t.host.cache, cache, "followed changes update the cache in place");
    assert.equal(t.host.routingRevision, slotRev);
    await eventually(() => t.counter.changes >= 1, "changed called");

    const before = t.counter.changes;
    const proxyRev = await t.client.update(proxyPath(P, "p1"), json({ token: "p1" }));
    await eventually(() => t.host.cache.model().proxies.length === 1, "proxy seen");
    await eventually(() => t.counter.changes > before, "changed called for the proxy");
    assert.equal(t.host.routingRevision, slotRev, "a proxy change does not move the routing revision");
    assert.ok(t.host.cache.revision >= proxyRev);

    const delRev = await t.client.delete(groupPath(P, 1));
    await eventually(() => t.host.cache.model().groups.length === 0, "group deletion seen");
    assert.equal(t.host.routingRevision, delRev);
  } finally {
    await t.cleanup();
  }
});

Deno.test("model watch: another product's changes are not followed", async () => {
  const t = await fsHost();
  try {
    await t.watch.restart();
    await t.client.update("/codis3/demo2/slots/slot-0001", json({ id: 1, group_id: 4, action: {} }));
    const rev = await t.client.update(slotPath(P, 2), json({ id: 2, group_id: 5, action: {} }));
    await eventually(() => t.host.cache.model().slots[2].group_id === 5, "own slot seen");
    assert.equal(t.host.cache.model().slots[1].group_id, 0);
    assert.equal(t.host.routingRevision, rev);
    assert.equal(t.counter.changes, 1, "only the own product's batch");
  } finally {
    await t.cleanup();
  }
});

Deno.test("model watch: a compacted history is recovered by a full reload", async () => {
  const t = await fsHost();
  try {
    await t.watch.restart();
    const cache = t.host.cache;
    // A write outside the product moves the store's revision without waking the loop with an event; compacting
    // up to it leaves the loop's position behind the history.
    const other = await t.client.update("/codis3/elsewhere/x", json({}));
    await t.client.compact(other);
    const rev = await t.client.update(slotPath(P, 9), json({ id: 9, group_id: 2, action: {} }));
    await eventually(() => t.host.cache.model().slots[9].group_id === 2, "slot seen after compaction");
    assert.notEqual(t.host.cache, cache, "the model was read again");
    assert.equal(t.host.routingRevision, rev);
    await eventually(() => t.counter.changes >= 1, "changed called after the reload");

    // And it keeps following afterwards.
    await t.client.update(slotPath(P, 10), json({ id: 10, group_id: 3, action: {} }));
    await eventually(() => t.host.cache.model().slots[10].group_id === 3, "slot seen after the reload");
  } finally {
    await t.cleanup();
  }
});

Deno.test("model watch: restarts replace the loop (one batch, one call); the routing revision never goes back", async () => {
  const t = await fsHost();
  try {
    t.host.routingRevision = 1_000_000;
    await Promise.all([t.watch.restart(), t.watch.restart()]);
    await t.watch.restart();
    assert.equal(t.host.routingRevision, 1_000_000);
    await t.client.update(slotPath(P, 4), json({ id: 4, group_id: 1, action: {} }));
    await eventually(() => t.host.cache.model().slots[4].group_id === 1, "slot seen");
    await new Promise((r) => setTimeout(r, 100)); // room for a stale loop to call `changed` a second time
    assert.equal(t.counter.changes, 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("model watch: stop ends the loop, and nothing is applied after it", async () => {
  const t = await fsHost();
  try {
    await t.watch.restart();
    t.watch.stop();
    await bounded(t.watch.ended(), 3000, "loop ended after stop");
    await t.client.update(slotPath(P, 5), json({ id: 5, group_id: 1, action: {} }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.host.cache.model().slots[5].group_id, 0);
    assert.equal(t.counter.changes, 0);

    // A restart follows again.
    await t.watch.restart();
    assert.equal(t.host.cache.model().slots[5].group_id, 1, "the restart's load reads it");
  } finally {
    await t.cleanup();
  }
});

Deno.test("model watch: a closed host ends the loop at the next wake-up without applying it", async () => {
  const t = await fsHost();
  try {
    await t.watch.restart();
    t.host.closed = true;
    await t.client.update(slotPath(P, 6), json({ id: 6, group_id: 1, action: {} }));
    await bounded(t.watch.ended(), 3000, "loop ended once the host closed");
    assert.equal(t.host.cache.model().slots[6].group_id, 0);
    assert.equal(t.counter.changes, 0);
  } finally {
    await t.cleanup();
  }
});

/*
 * A (re)load reads the store's revision first, then the nodes, then follows changes after that revision. Changes
 * made in between arrive again as events, older than what the read returned. A Raft store hands them out in
 * batches of about 1000, so an older state of a node can be applied — and answered to proxies, who then ack the
 * load's routing revision — before the batch with the node's newer state arrives. The cache must never go back.
 */
const slotInState = (id: number, state: string) => ({ id, group_id: 1, action: { index: 1, state, target_id: 2 } });

Deno.test("model watch: writes racing a load over a Raft store never show a slot's older state", async () => {
  const root = await Deno.makeTempDir({ prefix: "model-watch-order-" });
  const group = await startRaftGroup(root, { n: 1 });
  let watch: ModelWatch | undefined;
  const host = { product: P, closed: false, cache: new ModelCache(P), routingRevision: 0 } as {
    -readonly [K in keyof ModelWatchHost]: ModelWatchHost[K];
  };
  try {
    const id = await group.leader(10_000);
    const real = group.stores.get(id)!.client();
    let raced = false;
    // The real client; its first revision() lets writes land before the load reads the nodes.
    const client = new Proxy(real, {
      get(target, prop, recv) {
        if (prop !== "revision") {
          const v = Reflect.get(target, prop, recv);
          return typeof v === "function" ? v.bind(target) : v;
        }
        return async () => {
          const rev = await target.revision();
          if (!raced) {
            raced = true;
            await target.update(slotPath(P, 5), json(slotInState(5, "preparing")));
            for (let i = 0; i < 1100; i++) await target.update(slotPath(P, 6), json(slotInState(6, `pending`)));
            await target.update(slotPath(P, 5), json(slotInState(5, "prepared")));
          }
          return rev;
        };
      },
    }) as CoordClient;
    const coord: Coordinator = {
      kind: "raft",
      client,
      isLeader: () => true,
      leaderAdminAddr: () => "",
      onChange: () => {},
      close: () => real.close(),
    };
    host.coord = coord;
    // What proxies would be answered after each applied batch: slot 5's state at the routing revision.
    const seen: string[] = [];
    watch = new ModelWatch(host, () => {
      const state = host.cache.model().slots[5].action.state ?? "";
      seen.push(`${state}@${host.cache.slotRevision(5)} (routing ${host.routingRevision})`);
    });
    await watch.restart();
    assert.ok(raced);
    assert.equal(host.cache.model().slots[5].action.state, "prepared", "the load read the newest state");
    const deadline = Date.now() + 10_000;
    while (host.cache.revision < host.routingRevision || seen.length < 2) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(seen.length > 0, "the watch applied the racing writes");
    assert.deepEqual(
      seen.filter((s) => !s.startsWith("prepared@")),
      [],
      `slot 5 went back after a batch: ${seen.join(", ")}`,
    );
  } finally {
    host.closed = true;
    watch?.stop();
    await Promise.race([watch?.ended(), new Promise((r) => setTimeout(r, 3000))]);
    await group.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
