import { deepEqual, equal, ok } from "node:assert/strict";
import { slotOf } from "../proxy/hash.ts";
import { startProxyFixture } from "../testing/proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("proxy: a locked slot holds requests; a migrating slot moves keys from the source first", async () => {
  const f = await startProxyFixture(2);
  try {
    const c = f.client();
    // Keys in one slot (hash tag), owned by backend 0 (slots 0..511).
    let tag = 0;
    while (slotOf(enc(`t${tag}`)) >= 512) tag++;
    const slot = slotOf(enc(`t${tag}`));
    const keys = Array.from({ length: 20 }, (_, i) => `{t${tag}}:${i}`);
    for (const k of keys) await c.set(k, `old-${k}`);
    await c.expire(keys[0], 1000);
    const [a, b] = f.backends.map((x) => x.addr);

    // prepared: locked, routed to the target, migrating from the source. Requests wait.
    await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a, locked: true }]);
    let answered = false;
    const held = c.get(keys[1]).then((v) => {
      answered = true;
      return v;
    });
    await new Promise((r) => setTimeout(r, 150));
    equal(answered, false, "a locked slot holds its requests");

    // migrating: unlocked; the held GET moves its key from a to b, then runs on b.
    await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a }]);
    equal(await held, `old-${keys[1]}`);
    const srcDb = f.direct(0, slot);
    const dstDb = f.direct(1, slot);
    equal(await srcDb.exists(keys[1]), 0);
    equal(await dstDb.get(keys[1]), `old-${keys[1]}`);
    // A write moves the old value first, then overwrites it on the target; TTLs travel with the key.
    equal(await c.set(keys[2], "new"), "OK");
    equal(await dstDb.get(keys[2]), "new");
    equal(await c.get(keys[0]), `old-${keys[0]}`);
    ok((await dstDb.ttl(keys[0])) > 900);
    // A split MGET across the migrating slot and others works too.
    deepEqual(await c.mget(keys[3], "elsewhere", keys[4]), [`old-${keys[3]}`, null, `old-${keys[4]}`]);
    // Multi-key command within the slot: both keys are moved first.
    equal(
      await c.sunionstore(`{t${tag}}:dst`, keys[5], keys[6]).catch((e) => String(e)),
      "ReplyError: WRONGTYPE Operation against a key holding the wrong kind of value",
    );
    equal(await dstDb.exists(keys[5], keys[6]), 2);

    // finished: only the target.
    await f.proxy.fillSlots([{ id: slot, backend_addr: b }]);
    equal(await c.get(keys[7]), null, "keys not moved yet are the executor's job; the proxy reads the target");
    for (const k of keys.slice(1, 7)) equal(await srcDb.exists(k), 0);
  } finally {
    await f.stop();
  }
});
