import assert from "node:assert/strict";
import { leaseErrorText, leaseExpired, LeaseTimer, pollTimeoutFor } from "./lease.ts";

Deno.test("lease: runs out strictly after its length from the confirming request; 0 never does", () => {
  assert.equal(leaseExpired(1000, 4000, 3000), false);
  assert.equal(leaseExpired(1000, 4001, 3000), true);
  assert.equal(leaseExpired(0, 1e12, 0), false);
});

Deno.test("lease: the long-poll asks for at most a third of the lease", () => {
  assert.equal(pollTimeoutFor(30_000, 30_000), 10_000);
  assert.equal(pollTimeoutFor(3_000, 30_000), 1_000);
  assert.equal(pollTimeoutFor(300_000, 30_000), 30_000);
  assert.equal(pollTimeoutFor(0, 30_000), 30_000, "no lease: the configured timeout");
  assert.equal(pollTimeoutFor(30, 30_000), 100, "bounded below");
});

Deno.test("lease: the error names how long no dashboard was reached", () => {
  assert.equal(leaseErrorText(12_400), "ERR proxy lease expired: no dashboard reached for 12s");
});

Deno.test("lease timer: expires once after the lease, re-armed by a confirmation; a late answer confirms nothing", async () => {
  let expiries = 0;
  const t = new LeaseTimer(400, () => expiries++);
  try {
    t.confirm(performance.now());
    await new Promise((r) => setTimeout(r, 100));
    const renewedAt = performance.now();
    t.confirm(renewedAt); // renewed before it ran out
    assert.equal(expiries, 0);
    assert.equal(t.expired, false);
    for (let i = 0; i < 100 && expiries === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(expiries, 1);
    assert.ok(performance.now() - renewedAt > 400, "not before the renewed lease ran out");
    assert.equal(t.expired, true);
    // An answer to a request sent before the deadline, arriving after it: still expired, no second call.
    t.confirm(performance.now() - 1000);
    assert.equal(t.expired, true);
    assert.equal(expiries, 1);
    t.confirm(performance.now());
    assert.equal(t.expired, false, "a fresh answer renews it");
  } finally {
    t.stop();
  }
});
