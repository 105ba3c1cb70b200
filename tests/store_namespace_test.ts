import assert from "node:assert/strict";
import { b64, type Command, decodeCommand, encodeCommand } from "../store/namespace_commands.ts";
import { NamespaceStateMachine } from "../store/namespace_state.ts";
import type { Entry } from "../raft/types.ts";
import * as paths from "../store/paths.ts";
import { openCoordinator, watchInOrder } from "../store/mod.ts";

const d = (s: string) => b64(new TextEncoder().encode(s));
const entry = (index: number, cmd: Command): Entry => ({ term: 1, index, type: "normal", data: encodeCommand(cmd) });

/** A fixed script touching every command kind. */
function script(): Command[] {
  return [
    { op: "create", path: "/codis3/demo/topom", data: d("t") },
    { op: "sessionOpen", session: "s1", ttlMs: 1000 },
    { op: "create", path: "/jodis/demo/proxy-", data: d("p1"), session: "s1", inOrder: true, rid: "c:1" },
    { op: "create", path: "/jodis/demo/proxy-", data: d("p1"), session: "s1", inOrder: true, rid: "c:1" },
    { op: "create", path: "/jodis/demo/proxy-", data: d("p2"), session: "s1", inOrder: true },
    { op: "update", path: "/codis3/demo/slots/slot-0000", data: d("s0") },
    { op: "cas", path: "/codis3/demo/topom", data: d("t2"), expected: 1 },
    { op: "cas", path: "/codis3/demo/topom", data: d("t3"), expected: 1 },
    { op: "keepAlive", session: "s1" },
    { op: "delete", path: "/codis3/demo/missing" },
    { op: "sessionExpire", session: "s1", reason: "expired" },
    { op: "keepAlive", session: "s1" },
    { op: "create", path: "/x", data: d("x"), session: "gone" },
  ];
}

Deno.test("namespace: commands apply deterministically and give the documented results", () => {
  const sm = new NamespaceStateMachine();
  const results = script().map((c, i) => sm.apply(entry(i + 2, c)));
  assert.deepEqual(results.map((r) => r && (r.ok ? r.revision : r.error.code)), [
    1,
    1,
    2,
    2, // the retry of c:1 is answered from the table
    3,
    4,
    5,
    "conflict",
    5,
    0, // delete of a missing node: nothing to do
    6, // expiry deletes both ephemeral nodes in one revision
    "session_expired",
    "session_expired",
  ]);
  assert.equal(results[2]!.ok && results[2]!.path, "/jodis/demo/proxy-0000000000");
  assert.equal(results[4]!.ok && results[4]!.path, "/jodis/demo/proxy-0000000001");
  assert.equal(sm.revision, 6);
  assert.deepEqual(sm.children("/jodis/demo"), []);
  assert.deepEqual(sm.children("/codis3/demo"), ["/codis3/demo/slots", "/codis3/demo/topom"]);
  const expiry = sm.eventsAfter("/jodis/", 5);
  assert.deepEqual(expiry.events.map((e) => [e.type, e.path, e.revision]), [
    ["delete", "/jodis/demo/proxy-0000000000", 6],
    ["delete", "/jodis/demo/proxy-0000000001", 6],
  ]);
  // Same log, same state: a second member ends byte-identical.
  const sm2 = new NamespaceStateMachine();
  script().forEach((c, i) => sm2.apply(entry(i + 2, c)));
  assert.deepEqual(sm2.snapshot(), sm.snapshot());
});

Deno.test("namespace: snapshot/restore keeps nodes, sessions, history, counters and the exactly-once table", () => {
  const sm = new NamespaceStateMachine();
  sm.applyCommand({ op: "sessionOpen", session: "s", ttlMs: 500 });
  sm.applyCommand({ op: "create", path: "/j/p-", data: d("a"), session: "s", inOrder: true, rid: "r1" });
  sm.applyCommand({ op: "update", path: "/a", data: d("1") });
  const copy = new NamespaceStateMachine();
  let woke = 0;
  copy.subscribe(() => woke++);
  copy.restore(sm.snapshot());
  assert.equal(woke, 1, "restore wakes long-polls");
  assert.deepEqual(copy.snapshot(), sm.snapshot());
  assert.equal(copy.sessions.get("s"), 500);
  // The retry is recognised after a restore, and the counter continues.
  const again = copy.applyCommand({
    op: "create",
    path: "/j/p-",
    data: d("a"),
    session: "s",
    inOrder: true,
    rid: "r1",
  });
  assert.deepEqual(again, { ok: true, revision: 1, path: "/j/p-0000000000" });
  const next = copy.applyCommand({ op: "create", path: "/j/p-", data: d("b"), session: "s", inOrder: true });
  assert.equal(next.ok && next.path, "/j/p-0000000001");
  // Expiring the restored session deletes the node that came from the snapshot.
  copy.applyCommand({ op: "sessionExpire", session: "s", reason: "expired" });
  assert.deepEqual(copy.children("/j"), []);
  assert.equal(copy.get("/a")?.version, 1);
});

Deno.test("namespace: bounded history compacts whole revisions; explicit compaction", () => {
  const sm = new NamespaceStateMachine({ maxHistory: 2 });
  sm.applyCommand({ op: "sessionOpen", session: "s", ttlMs: 500 });
  for (let i = 0; i < 3; i++) sm.applyCommand({ op: "create", path: `/e/${i}`, data: d("e"), session: "s" });
  sm.applyCommand({ op: "sessionExpire", session: "s", reason: "expired" }); // revision 4: three deletes
  sm.applyCommand({ op: "update", path: "/k", data: d("1") }); // revision 5
  // Keep at most 2 events: the cut after the expiry lands inside revision 4, which then goes whole.
  assert.equal(sm.compactRevision, 4);
  assert.deepEqual(sm.eventsAfter("/", 4).events.map((e) => e.revision), [5]);
  sm.applyCommand({ op: "update", path: "/k", data: d("2") });
  sm.applyCommand({ op: "compact", revision: 5 });
  assert.equal(sm.compactRevision, 5);
  assert.deepEqual(sm.eventsAfter("/", 5).events.map((e) => e.revision), [6]);
  // eventsAfter never splits a revision when it limits the batch.
  const sm2 = new NamespaceStateMachine();
  sm2.applyCommand({ op: "sessionOpen", session: "s", ttlMs: 500 });
  for (let i = 0; i < 3; i++) sm2.applyCommand({ op: "create", path: `/e/${i}`, data: d("e"), session: "s" });
  sm2.applyCommand({ op: "sessionExpire", session: "s", reason: "expired" });
  const part = sm2.eventsAfter("/", 3, 1);
  assert.deepEqual(part.events.map((e) => e.type), ["delete", "delete", "delete"]);
  assert.equal(part.revision, 4);
});

Deno.test("namespace: malformed entries and no-op/conf entries", () => {
  const sm = new NamespaceStateMachine();
  assert.equal(sm.apply({ term: 1, index: 5, type: "normal", data: new Uint8Array() }), undefined);
  assert.equal(sm.apply({ term: 1, index: 6, type: "conf", data: new Uint8Array([1]) }), undefined);
  const bad = sm.apply({ term: 1, index: 7, type: "normal", data: new TextEncoder().encode("{nope") });
  assert.equal(bad && !bad.ok && bad.error.code, "invalid");
  assert.equal(sm.appliedIndex, 7);
  assert.equal(sm.revision, 0);
  assert.throws(() => decodeCommand(new TextEncoder().encode("1")));
});

Deno.test("paths: Codis layout helpers", () => {
  assert.equal(paths.topomPath("demo"), "/codis3/demo/topom");
  assert.equal(paths.slotPath("demo", 7), "/codis3/demo/slots/slot-0007");
  assert.equal(paths.groupPath("demo", 12), "/codis3/demo/group/group-0012");
  assert.equal(paths.proxyPath("demo", "abc"), "/codis3/demo/proxy/proxy-abc");
  assert.equal(paths.sentinelPath("demo"), "/codis3/demo/sentinel");
  assert.equal(paths.jodisPath("demo", "abc"), "/jodis/demo/proxy-abc");
  assert.equal(paths.productOf("/codis3/demo/slots/slot-0001"), "demo");
  assert.equal(paths.idFromName("/codis3/demo/slots/slot-1023"), 1023);
  assert.equal(paths.idFromName("group-0001"), 1);
  assert.throws(() => paths.slotPath("demo", 10000), RangeError);
  assert.throws(() => paths.topomPath("a/b"), RangeError);
});

Deno.test("watchInOrder and openCoordinator (memory): children plus a one-shot change notification", async () => {
  const c = await openCoordinator({ name: "memory", addr: "" });
  try {
    await c.update("/jodis/demo/proxy-b", new Uint8Array([1]));
    await c.update("/jodis/demo/proxy-a", new Uint8Array([1]));
    const w = await watchInOrder(c, "/jodis/demo");
    assert.deepEqual(w.children, ["/jodis/demo/proxy-a", "/jodis/demo/proxy-b"]);
    let fired = false;
    w.changed.then(() => fired = true);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(fired, false);
    await c.delete("/jodis/demo/proxy-a");
    await w.changed;
    const w2 = await watchInOrder(c, "/jodis/demo");
    w2.cancel();
    await w2.changed;
    await assert.rejects(openCoordinator({ name: "nope", addr: "" }), /invalid coordinator name/);
  } finally {
    await c.close();
  }
});
