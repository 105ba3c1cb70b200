import assert from "node:assert/strict";
import type { ProxyModel } from "../models/mod.ts";
import { encodeFences, fencedAcks, fenceOnRemoval, fencesOnTakeover, leaseMargin } from "./proxy_lease.ts";

const proxy = (lease?: number): ProxyModel => ({
  token: "t1",
  start_time: "",
  admin_addr: "127.0.0.1:1",
  proto_type: "tcp4",
  proxy_addr: "127.0.0.1:2",
  product_name: "p",
  pid: 1,
  pwd: "/",
  sys: "linux",
  hostname: "h",
  datacenter: "",
  ...(lease === undefined ? {} : { dashboard_lease_ms: lease }),
});

Deno.test("proxy lease: a removed proxy is waited for until its last poll plus its lease and a margin", () => {
  const f = fenceOnRemoval(proxy(10_000), { revision: 7, last_seen: 50_000 }, 1_000, 53_000);
  assert.deepEqual(f, {
    token: "t1",
    revision: 7,
    until: 1_000 - 3_000 + 10_000 + leaseMargin(10_000),
    leaseMs: 10_000,
  });
});

Deno.test("proxy lease: a proxy this dashboard never saw is waited for a whole lease from the removal", () => {
  assert.equal(fenceOnRemoval(proxy(10_000), undefined, 5_000, 0)?.until, 5_000 + 10_000 + leaseMargin(10_000));
  assert.equal(fenceOnRemoval(proxy(10_000), undefined, 5_000, 0)?.revision, 0);
});

Deno.test("proxy lease: no fence for a proxy without a lease, or whose lease already ran out", () => {
  assert.equal(fenceOnRemoval(proxy(), undefined, 0, 0), null);
  assert.equal(fenceOnRemoval(proxy(0), undefined, 0, 0), null);
  assert.equal(fenceOnRemoval(proxy(1_000), { revision: 3, last_seen: 0 }, 100, 60_000), null);
});

Deno.test("proxy lease: fences hold the scheduler with their revision until they end", () => {
  const fences = [
    { token: "a", revision: 4, until: 100, leaseMs: 50 },
    { token: "b", revision: 9, until: 200, leaseMs: 50 },
  ];
  assert.deepEqual(fencedAcks(fences, 50), {
    acks: [{ token: "a", revision: 4 }, { token: "b", revision: 9 }],
    ended: [],
  });
  assert.deepEqual(fencedAcks(fences, 100), { acks: [{ token: "b", revision: 9 }], ended: ["a"] });
  assert.deepEqual(fencedAcks(fences, 250), { acks: [], ended: ["a", "b"] });
});

Deno.test("proxy lease: a dashboard taking over waits a whole lease for every stored fence", () => {
  const stored = encodeFences([{ token: "a", revision: 4, until: 100, leaseMs: 5_000 }])!;
  assert.deepEqual(JSON.parse(stored), { fences: [{ token: "a", revision: 4, lease_ms: 5_000 }] });
  assert.deepEqual(fencesOnTakeover(stored, 1_000), [
    { token: "a", revision: 4, until: 1_000 + 5_000 + leaseMargin(5_000), leaseMs: 5_000 },
  ]);
  assert.equal(encodeFences([]), null, "no fences: the node is deleted");
  assert.deepEqual(fencesOnTakeover("not json", 0), []);
  assert.deepEqual(fencesOnTakeover(JSON.stringify({ fences: [{ token: 1 }, { token: "x", lease_ms: -1 }] }), 0), []);
});
