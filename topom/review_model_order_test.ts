/**
 * A (re)load reads the store's revision first, then the nodes, then follows changes after that revision. Changes
 * made in between arrive again as events, older than what the read returned. A Raft store hands them out in
 * batches of about 1000, so an older state of a node can be applied — and answered to proxies, who then ack the
 * load's routing revision — before the batch with the node's newer state arrives. The cache must never go back.
 */
import assert from "node:assert/strict";
import { ModelWatch, type ModelWatchHost } from "./model_watch.ts";
import { ModelCache } from "./model_cache.ts";
import { slotPath } from "../store/paths.ts";
import type { CoordClient } from "../store/client.ts";
import { startRaftGroup } from "../store/testing/raft_group.ts";
import type { Coordinator } from "./server/coord.ts";

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const P = "demo";
const slot = (id: number, state: string) => ({ id, group_id: 1, action: { index: 1, state, target_id: 2 } });

Deno.test("model cache review: an event older than a node's read state does not replace it", () => {
  const c = new ModelCache(P);
  c.load([{ path: slotPath(P, 5), data: json(slot(5, "prepared")), stat: { modRevision: 105 } }], 100);
  c.applyEvent({ type: "put", path: slotPath(P, 5), revision: 103, data: json(slot(5, "preparing")) });
  assert.equal(c.model().slots[5].action.state, "prepared");
  assert.equal(c.slotRevision(5), 105);
  c.applyEvent({ type: "put", path: slotPath(P, 5), revision: 107, data: json(slot(5, "migrating")) });
  assert.equal(c.model().slots[5].action.state, "migrating");
  assert.equal(c.slotRevision(5), 107);
});

Deno.test("model watch review: writes racing a load over a Raft store never show a slot's older state", async () => {
  const root = await Deno.makeTempDir({ prefix: "review-model-order-" });
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
            await target.update(slotPath(P, 5), json(slot(5, "preparing")));
            for (let i = 0; i < 1100; i++) await target.update(slotPath(P, 6), json(slot(6, `pending`)));
            await target.update(slotPath(P, 5), json(slot(5, "prepared")));
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
