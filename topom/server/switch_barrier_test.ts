import assert from "node:assert/strict";
import { proxiesBehind } from "./switch_barrier.ts";

Deno.test("switch barrier: the proxies that have not applied the hold yet, sorted; one never seen counts as behind", () => {
  const acks = new Map([["p2", { revision: 10 }], ["p1", { revision: 12 }], ["p3", { revision: 9 }]]);
  assert.deepEqual(proxiesBehind(["p1", "p2", "p3", "p4"], acks, 10), ["p3", "p4"]);
  assert.deepEqual(proxiesBehind(["p1", "p2"], acks, 10), []);
  assert.deepEqual(proxiesBehind([], acks, 99), []);
});
