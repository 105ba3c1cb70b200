/**
 * A slot whose move pauses on a key (here the target's ACL refuses it) stays paused, without retrying in a loop,
 * shows the reason in stats and `codis-admin --slot-action --status`, and finishes after the operator fixes the
 * cause and runs `codis-admin --slot-action --resume --sid=N`.
 */
import assert from "node:assert/strict";
import type { TopomStats } from "../models/mod.ts";
import { slotActionStatusLines } from "../admin/format.ts";
import { admin, must } from "../testing/admin_cli.ts";
import { type DashboardGroup, startDashboards } from "../testing/dashboard.ts";
import { redisCliDb, type RedisProcess, startRedis } from "../testing/redis.ts";
import { sleep } from "../testing/wait.ts";

/** `cmdstat_migrate` calls on a server. */
async function migrateCalls(r: RedisProcess): Promise<number> {
  const m = /cmdstat_migrate:calls=(\d+)/.exec(await redisCliDb(r, 0, "INFO", "commandstats"));
  return m ? Number(m[1]) : 0;
}

interface SlotProgress {
  state: string;
  error?: string;
  paused?: boolean;
}

Deno.test("codis-admin: a paused slot is shown, not hammered, and resumed once the cause is fixed", async () => {
  const redis: RedisProcess[] = [];
  let g: DashboardGroup | undefined;
  try {
    g = await startDashboards({ n: 1, product: "slot-resume" });
    const d = (await g.leader()).admin;
    const stats = async () => (await g!.call(d, "GET", "/topom/stats")).json as TopomStats;
    redis.push(await startRedis(), await startRedis());
    const [src, dst] = redis;
    await must(`--dashboard=${d}`, "--create-group", "--gid=1");
    await must(`--dashboard=${d}`, "--create-group", "--gid=2");
    await must(`--dashboard=${d}`, "--group-add", "--gid=1", `--addr=${src.addr}`);
    await must(`--dashboard=${d}`, "--group-add", "--gid=2", `--addr=${dst.addr}`);
    await must(`--dashboard=${d}`, "--slots-assign", "--beg=0", "--end=1023", "--gid=1", "--confirm");
    for (let i = 0; i < 100; i++) await redisCliDb(src, 42, "SET", `small${i}`, "x");
    await redisCliDb(src, 42, "SET", "secret", "kept");
    await redisCliDb(src, 43, "SET", "small-43", "y");
    // The target's default user (MIGRATE's, with no product_auth) may only write small* keys.
    assert.equal(await redisCliDb(dst, 0, "ACL", "SETUSER", "default", "resetkeys", "~small*"), "OK");

    // Slot 43 shares both groups with 42, so it waits behind it (no two moves share a group).
    await must(`--dashboard=${d}`, "--slot-action", "--create-range", "--beg=42", "--end=43", "--gid=2");
    let p: SlotProgress | undefined;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      p = (await stats()).slot_action.slots?.["42"] as SlotProgress | undefined;
      if (p?.paused) break;
      await sleep(100);
    }
    assert.equal(p?.paused, true, JSON.stringify(p));
    assert.equal(p?.state, "migrating");
    assert.match(p?.error ?? "", /"secret".*refused.*NOPERM/);

    // Paused means paused: no MIGRATE reaches the source while the operator looks.
    const calls = await migrateCalls(src);
    await sleep(1000);
    assert.equal(await migrateCalls(src), calls, "a paused slot is not retried by itself");
    const st = await stats();
    assert.match(st.slot_action.progress.status, /^\[ERROR\] Slot\[0042\]: paused: key "secret"/);
    assert.equal(st.slots[43].action.state, "pending");
    const status = await must(`--dashboard=${d}`, "--slot-action", "--status");
    assert.match(status, /^\[P\] slot-0042 1 => 2 migrating keys_left=\d+$/m);
    assert.match(status, /==> paused: key "secret".*--slot-action --resume --sid=42\)$/m);
    assert.match(status, /^\[ \] slot-0043 1 => 2 pending$/m);

    // Refusals name the reason.
    const none = await admin(`--dashboard=${d}`, "--slot-action", "--resume", "--sid=44");
    assert.equal(none.code, 1);
    assert.match(none.stderr, /slot-\[44\] action doesn't exist/);
    const pending = await admin(`--dashboard=${d}`, "--slot-action", "--resume", "--sid=43");
    assert.equal(pending.code, 1);
    assert.match(pending.stderr, /slot-\[43\] action isn't migrating/);
    const noSid = await admin(`--dashboard=${d}`, "--slot-action", "--resume");
    assert.equal(noSid.code, 1);
    assert.match(noSid.stderr, /--sid is required/);

    // The operator fixes the target and resumes: both slots finish, nothing is lost.
    assert.equal(await redisCliDb(dst, 0, "ACL", "SETUSER", "default", "allkeys"), "OK");
    await must(`--dashboard=${d}`, "--slot-action", "--resume", "--sid=42");
    const end = Date.now() + 15_000;
    let left = 2;
    while (Date.now() < end) {
      const s = await stats();
      left = [42, 43].filter((sid) => s.slots[sid].action.state || s.slots[sid].group_id !== 2).length;
      if (left === 0) break;
      await sleep(100);
    }
    assert.equal(left, 0, "slots 42 and 43 moved to group 2");
    assert.equal(await redisCliDb(dst, 42, "DBSIZE"), "101");
    assert.equal(await redisCliDb(dst, 42, "GET", "secret"), "kept");
    assert.equal(await redisCliDb(src, 42, "DBSIZE"), "0");
    assert.equal(await redisCliDb(dst, 43, "GET", "small-43"), "y");
    const again = await admin(`--dashboard=${d}`, "--slot-action", "--resume", "--sid=42");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /slot-\[42\] action doesn't exist/);
    assert.match(await must(`--dashboard=${d}`, "--slot-action", "--status"), /no slot actions/);
  } finally {
    await g?.stop();
    for (const r of redis) await r.stop();
  }
});

Deno.test("codis-admin --slot-action --status: switches, progress, then slots in action order with marks", () => {
  const slot = (id: number, index: number, state: string) => ({
    id,
    group_id: 1,
    action: { index, state: state as "pending", target_id: 3 },
  });
  const lines = slotActionStatusLines({
    closed: false,
    slots: [{ id: 0, group_id: 1, action: {} }, slot(9, 2, "pending"), slot(7, 1, "migrating"), slot(8, 3, "prepared")],
    group: { models: [], stats: {} },
    proxy: { models: [], stats: {} },
    slot_action: {
      interval: 10,
      disabled: false,
      progress: { status: "[OK] Slot[0007] migrating" },
      executor: 1,
      slots: {
        "7": { state: "migrating", keys_left: 3, error: 'key "big" cannot be moved', paused: true },
        "8": { state: "prepared", held_by: ["t1", "t2"], error: "connection refused" },
        "9": { state: "pending" },
      } as Record<string, SlotProgress>,
    },
    sentinels: { model: { out_of_sync: false }, stats: {}, masters: {} },
  } as TopomStats);
  assert.deepEqual(lines, [
    "slot-action: disabled = false, interval = 10 us, executors = 1",
    "progress: [OK] Slot[0007] migrating",
    "[P] slot-0007 1 => 3 migrating keys_left=3",
    '      ==> paused: key "big" cannot be moved (then: --slot-action --resume --sid=7)',
    "[ ] slot-0009 1 => 3 pending",
    "[E] slot-0008 1 => 3 prepared held_by=t1,t2",
    "      ==> connection refused",
  ]);
});
