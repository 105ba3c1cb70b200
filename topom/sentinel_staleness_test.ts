import assert from "node:assert/strict";
import { screenSentinelReports } from "./sentinel_staleness.ts";

const master = (gid: number, addr: string, epoch: number) => {
  const [ip, port] = addr.split(":");
  return { name: `p-${gid}`, ip, port, "config-epoch": String(epoch) };
};

Deno.test("sentinel staleness: a sentinel still on the master a manual promotion replaced is stale", () => {
  // The model promoted 10.0.0.2; sentinels 0 and 1 had the group removed; sentinel 2 was down and still has 10.0.0.1.
  const model = new Map([[1, "10.0.0.2:6379"]]);
  const r = screenSentinelReports("p", model, [[], [], [master(1, "10.0.0.1:6379", 0)]], new Map([[1, 0]]));
  assert.deepEqual(r.stale, [{ sentinel: 2, gid: 1, name: "p-1", reported: "10.0.0.1:6379", epoch: 0 }]);
  assert.deepEqual(r.replies, [[], [], []], "its report is not used");
});

Deno.test("sentinel staleness: a genuine failover (a newer config-epoch) is followed", () => {
  const model = new Map([[1, "10.0.0.1:6379"]]);
  const moved = [master(1, "10.0.0.2:6379", 3)];
  const r = screenSentinelReports("p", model, [moved, moved, null], new Map([[1, 2]]));
  assert.deepEqual(r.stale, []);
  assert.deepEqual(r.replies, [moved, moved, null]);
});

Deno.test("sentinel staleness: the epoch is learnt from reports agreeing with the model, now or before", () => {
  const model = new Map([[1, "localhost:6379"]]);
  // A dashboard that knows nothing yet follows the sentinels as Codis does.
  const lone = [master(1, "10.0.0.9:6379", 0)];
  assert.deepEqual(screenSentinelReports("p", model, [lone], new Map()).stale, []);
  // One sentinel agrees (by IP with a model naming the server localhost) at epoch 4; another reports epoch 4 elsewhere.
  const r = screenSentinelReports(
    "p",
    model,
    [[master(1, "127.0.0.1:6379", 4)], [master(1, "10.0.0.9:6379", 4)]],
    new Map(),
  );
  assert.deepEqual(r.agreedEpochs, new Map([[1, 4]]));
  assert.equal(r.stale.length, 1);
  assert.deepEqual(r.replies[0], [master(1, "127.0.0.1:6379", 4)]);
});

Deno.test("sentinel staleness: other products' masters and groups the model lacks are left as they are", () => {
  const other = { name: "q-1", ip: "10.0.0.5", port: "1", "config-epoch": "0" };
  const unknownGroup = master(7, "10.0.0.7:1", 0);
  const r = screenSentinelReports(
    "p",
    new Map([[1, "10.0.0.1:1"]]),
    [[other, unknownGroup]],
    new Map([[1, 9], [7, 9]]),
  );
  assert.deepEqual(r.stale, []);
  assert.deepEqual(r.replies, [[other, unknownGroup]]);
});

Deno.test("sentinel staleness: a view of the old master during its own failover does not teach the epoch", () => {
  // Mid-failover a sentinel names the old (down) master with the failover's new epoch; then it switches at that epoch.
  const model = new Map([[1, "localhost:6379"]]);
  const down = { ...master(1, "127.0.0.1:6379", 1), flags: "master,s_down,o_down,failover_in_progress" };
  const first = screenSentinelReports("p", model, [[down]], new Map([[1, 0]]));
  assert.deepEqual(first.agreedEpochs, new Map([[1, 0]]));
  const switched = screenSentinelReports("p", model, [[master(1, "127.0.0.1:6380", 1)]], first.agreedEpochs);
  assert.deepEqual(switched.stale, [], "the failover is followed");
});
