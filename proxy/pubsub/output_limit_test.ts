import { equal } from "node:assert/strict";
import { PubSubOutputLimit } from "./output_limit.ts";

Deno.test("pub/sub output limit: hard at once, soft only when held longer than the soft time", () => {
  const l = new PubSubOutputLimit({ hardBytes: 1000, softBytes: 100, softMs: 60_000 });
  equal(l.exceeded(99, 1) !== null, false);
  equal(l.exceeded(1000, 1) !== null, true, "hard limit reached");
  equal(l.exceeded(100, 1000) !== null, false, "soft limit reached: the clock starts");
  equal(l.exceeded(500, 61_000) !== null, false, "held exactly the soft time");
  equal(l.exceeded(500, 61_001) !== null, true, "held longer");
  equal(l.exceeded(2000, 61_001), "2000 bytes of unsent pub/sub output reached session_pubsub_hard_limit (1000)");
  equal(l.exceeded(50, 61_002) !== null, false, "under the soft limit: the clock stops");
  equal(l.exceeded(150, 200_000) !== null, false, "and starts again");
  equal(l.exceeded(150, 200_000 + 60_001) !== null, true);
});

Deno.test("pub/sub output limit: 0 disables each limit", () => {
  const none = new PubSubOutputLimit({ hardBytes: 0, softBytes: 0, softMs: 0 });
  equal(none.exceeded(1 << 30, 1) !== null, false);
  equal(none.exceeded(1 << 30, 1e9) !== null, false);
  const softOnly = new PubSubOutputLimit({ hardBytes: 0, softBytes: 10, softMs: 0 });
  equal(softOnly.exceeded(1 << 30, 5) !== null, false);
  equal(softOnly.exceeded(1 << 30, 6) !== null, true);
});
