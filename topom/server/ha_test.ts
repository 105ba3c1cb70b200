import assert from "node:assert/strict";
import { gatherMajority, type HaHost, SentinelHa } from "./ha.ts";
import type { SubscriberHandlers } from "./sentinel_subscriber.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A host whose leadership, sentinels and check results the test sets; subscriptions are recorded, not opened. */
function fixture(opts: { checkOk?: boolean } = {}) {
  const state = { active: true, sentinels: ["s1:1", "s2:2"], checkOk: opts.checkOk ?? true, checks: 0 };
  const open = new Map<string, SubscriberHandlers>();
  const closed: string[] = [];
  const host: HaHost = {
    product: "demo",
    active: () => state.active,
    sentinels: () => state.sentinels,
    hasGroup: (gid) => gid === 1,
    check() {
      state.checks++;
      return Promise.resolve(state.checkOk);
    },
  };
  const ha = new SentinelHa(host, {
    pollMs: 3_600_000,
    reconcileMs: 10,
    retryMs: 10,
    retries: 3,
    subscribe(addr, h) {
      open.set(addr, h);
      return {
        close() {
          open.delete(addr);
          closed.push(addr);
        },
      };
    },
  });
  return { state, open, closed, ha };
}

Deno.test("sentinel HA: one subscription per sentinel while active; none after losing leadership or on close", async () => {
  const { state, open, closed, ha } = fixture();
  try {
    ha.start();
    assert.deepEqual([...open.keys()], ["s1:1", "s2:2"]);
    state.sentinels = ["s2:2", "s3:3"]; // s1 removed from the model, s3 added
    await sleep(40);
    assert.deepEqual([...open.keys()].sort(), ["s2:2", "s3:3"]);
    assert.deepEqual(closed, ["s1:1"]);
    state.active = false; // another dashboard took over
    await sleep(40);
    assert.equal(open.size, 0);
    state.active = true;
    await sleep(40);
    assert.deepEqual([...open.keys()].sort(), ["s2:2", "s3:3"]);
  } finally {
    await ha.close();
  }
  assert.equal(open.size, 0, "close ends every subscription");
  await sleep(40);
  assert.equal(open.size, 0, "nothing reopens after close");
});

Deno.test("sentinel HA: +switch-master of a known group triggers a check; bad or foreign ones are ignored", async () => {
  const { state, open, ha } = fixture();
  try {
    ha.start();
    const h = open.get("s1:1")!;
    h.onSubscribed("s1:1");
    await sleep(5);
    const base = state.checks;
    assert.equal(base, 1, "a (re)subscription checks once, for events missed meanwhile");
    for (
      const p of ["garbage", "demo-1 127.0.0.1 1 127.0.0.1", "other-1 a 1 b 2", "demo-9 a 1 b 2", "demo-1 a 1 b 0"]
    ) {
      h.onMessage("s1:1", "+switch-master", p);
    }
    h.onMalformed("s1:1", "bad frame");
    await sleep(5);
    assert.equal(state.checks, base, "no check for a malformed, foreign or unknown-group event");
    h.onMessage("s1:1", "+switch-master", "demo-1 127.0.0.1 6379 127.0.0.1 6380");
    await sleep(5);
    assert.equal(state.checks, base + 1);
  } finally {
    await ha.close();
  }
});

Deno.test("sentinel HA: events coalesce; a check without majority is retried a few times", async () => {
  const { state, open, ha } = fixture({ checkOk: false });
  try {
    ha.start();
    const h = open.get("s1:1")!;
    const ev = "demo-1 127.0.0.1 6379 127.0.0.1 6380";
    // Every sentinel reports the same failover at once: one check, plus at most one more after it.
    for (let i = 0; i < 10; i++) h.onMessage("s1:1", "+switch-master", ev);
    await sleep(100);
    // 1 check + 1 coalesced re-run + 3 retries, then it stops (the slow poll takes over).
    assert.ok(state.checks >= 4 && state.checks <= 5, `checks = ${state.checks}`);
    const n = state.checks;
    await sleep(60);
    assert.equal(state.checks, n, "retries are bounded");
  } finally {
    await ha.close();
  }
});

Deno.test("sentinel HA: no check while another dashboard is active", async () => {
  const { state, open, ha } = fixture();
  try {
    ha.start();
    const h = open.get("s1:1")!;
    state.active = false;
    h.onMessage("s1:1", "+switch-master", "demo-1 127.0.0.1 6379 127.0.0.1 6380");
    await sleep(5);
    assert.equal(state.checks, 0);
  } finally {
    await ha.close();
  }
});

Deno.test("sentinel HA: the majority query does not wait long for a sentinel that stopped answering", async () => {
  let release = () => {};
  const hung = new Promise<string>((r) => release = () => r("late"));
  const got = await gatherMajority([
    Promise.resolve("a"),
    Promise.reject(new Error("refused")),
    hung,
    Promise.resolve("d"),
  ], 20);
  assert.deepEqual(got, ["a", null, null, "d"]);
  // (Had it waited for the hung one, the await above would never have returned.)
  release();
  // Everyone answering is not held up by the grace period.
  assert.deepEqual(await gatherMajority([Promise.resolve(1), Promise.resolve(2)], 60_000), [1, 2]);
  assert.deepEqual(await gatherMajority([], 10), []);
});
