import { deepEqual, equal, ok } from "node:assert/strict";
import type { Redis } from "ioredis";
import { slotOf } from "../models/hash.ts";
import { startProxyFixture } from "../testing/proxy.ts";
import { until } from "../testing/wait.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** How many FCALLs backend `b` has run (INFO commandstats). */
async function fcalls(b: Redis): Promise<number> {
  const m = (await b.info("commandstats")).match(/cmdstat_fcall:calls=(\d+)/);
  return m ? Number(m[1]) : 0;
}

/** Checks that each key holds its value in its slot's database on the backend that owns the slot (2 backends). */
async function assertPlaced(f: Awaited<ReturnType<typeof startProxyFixture>>, kv: Map<string, string>) {
  for (const [k, v] of kv) {
    const slot = slotOf(enc(k));
    equal(await f.direct(slot < 512 ? 0 : 1, slot).get(k), v, k);
  }
}

Deno.test("proxy: backend_mset_function sets keys of many slots in one FCALL per connection, each in its database", async () => {
  const f = await startProxyFixture(2, { backend_mset_function: true, backend_primary_parallel: 2 });
  try {
    const c = f.client();
    const b0 = f.direct(0);
    ok((await b0.call("FUNCTION", "LIST", "LIBRARYNAME", "codis_proxy") as unknown[]).length === 1);
    const keys = Array.from({ length: 40 }, (_, i) => `grp:${i}`);
    ok(new Set(keys.map((k) => slotOf(enc(k)))).size > 20);
    // The same key twice: the later value wins, as with MSET.
    equal(await c.mset(...keys.flatMap((k, i) => [k, `v${i}`]), keys[3], "last"), "OK");
    const kv = new Map(keys.map((k, i) => [k, `v${i}`]));
    kv.set(keys[3], "last");
    await assertPlaced(f, kv);
    ok(await fcalls(b0) > 0, "the grouped path ran");
    deepEqual(await c.mget(keys[0], keys[3], "missing"), ["v0", "last", null]);
    // The FCALL's SELECTs stay inside it: the connection's next plain command still runs in its own slot's database.
    equal(await c.set("after", "x"), "OK");
    await assertPlaced(f, new Map([["after", "x"]]));
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: a flushed MSET function falls back to one MSET per slot and is loaded again", async () => {
  const f = await startProxyFixture(2, { backend_mset_function: true });
  try {
    const c = f.client();
    const b0 = f.direct(0);
    const b1 = f.direct(1);
    equal(await b0.call("FUNCTION", "FLUSH"), "OK");
    equal(await b1.call("FUNCTION", "FLUSH"), "OK");
    const keys = Array.from({ length: 20 }, (_, i) => `fb:${i}`);
    equal(await c.mset(...keys.flatMap((k, i) => [k, `w${i}`])), "OK");
    await assertPlaced(f, new Map(keys.map((k, i) => [k, `w${i}`])));
    await until(
      "the function is loaded again",
      5000,
      async () => (await b0.call("FUNCTION", "LIST") as unknown[]).length === 1 || undefined,
    );
    const before = await fcalls(b0);
    equal(await c.mset(...keys.flatMap((k) => [k, "again"])), "OK");
    await assertPlaced(f, new Map(keys.map((k) => [k, "again"])));
    ok(await fcalls(b0) > before, "the function is used again once reloaded");
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: a backend that refuses FUNCTION gets one MSET per slot", async () => {
  const f = await startProxyFixture(2, { backend_mset_function: true }, {
    extraArgs: ["--rename-command", "FUNCTION", ""],
  });
  try {
    const c = f.client();
    const keys = Array.from({ length: 20 }, (_, i) => `nofn:${i}`);
    equal(await c.mset(...keys.flatMap((k, i) => [k, `n${i}`])), "OK");
    await assertPlaced(f, new Map(keys.map((k, i) => [k, `n${i}`])));
    equal(await fcalls(f.direct(0)), 0);
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: backend_mset_function with product_auth", async () => {
  const f = await startProxyFixture(
    2,
    { backend_mset_function: true, product_auth: "s3cret" },
    { requirepass: "s3cret" },
  );
  try {
    const c = f.client();
    const keys = Array.from({ length: 20 }, (_, i) => `auth:${i}`);
    equal(await c.mset(...keys.flatMap((k, i) => [k, `a${i}`])), "OK");
    await assertPlaced(f, new Map(keys.map((k, i) => [k, `a${i}`])));
    ok(await fcalls(f.direct(0)) > 0);
  } finally {
    await f.stop();
  }
});

Deno.test("proxy: with backend_mset_function, an MSET touching a migrating slot moves that slot's keys first", async () => {
  const f = await startProxyFixture(2, { backend_mset_function: true });
  try {
    const c = f.client();
    let tag = 0;
    while (slotOf(enc(`m${tag}`)) >= 512) tag++;
    const slot = slotOf(enc(`m${tag}`));
    const moving = [`{m${tag}}:a`, `{m${tag}}:b`];
    for (const k of moving) await c.set(k, "old");
    await c.expire(moving[1], 1000);
    const [a, b] = f.backends.map((x) => x.addr);
    await f.proxy.fillSlots([{ id: slot, backend_addr: b, migrate_from: a }]);
    const others = Array.from({ length: 10 }, (_, i) => `mig:${i}`).filter((k) => slotOf(enc(k)) !== slot);
    equal(await c.mset(moving[0], "new", ...others.flatMap((k) => [k, "o"])), "OK");
    const src = f.direct(0, slot);
    const dst = f.direct(1, slot);
    equal(await dst.get(moving[0]), "new");
    equal(await src.exists(moving[0]), 0);
    await assertPlaced(f, new Map(others.map((k) => [k, "o"])));
    // Once the slot is at rest on b, the grouped path is used again and writes there.
    await f.proxy.fillSlots([{ id: slot, backend_addr: b }]);
    equal(await c.mset(moving[1], "newer", ...others.flatMap((k) => [k, "p"])), "OK");
    equal(await dst.get(moving[1]), "newer");
    for (const k of others) {
      const s = slotOf(enc(k));
      equal(await f.direct(s < 512 ? 0 : 1, s).get(k), "p", k);
    }
  } finally {
    await f.stop();
  }
});
