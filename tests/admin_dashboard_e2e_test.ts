import { deepEqual, equal, match, ok } from "node:assert/strict";
import { admin, must } from "../testing/admin_cli.ts";
import { freePort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Waits (bounded) until the dashboard's Raft node has a leader and its model route answers. */
async function waitReady(addr: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const st = await (await fetch(`http://${addr}/api/topom/raft/status`)).json();
      const m = await fetch(`http://${addr}/api/topom/model`);
      await m.body?.cancel();
      if (st?.leader && m.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dashboard ${addr} not ready within ${timeoutMs} ms`);
}

/** The dashboard is another engineer's work: the test runs once cli/codis-dashboard.ts is in the tree. */
const HAVE_DASHBOARD = (() => {
  try {
    return Deno.statSync(new URL("../cli/codis-dashboard.ts", import.meta.url)).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "codis-admin end to end against codis-dashboard (raft): groups, servers, assign, status, dump",
  ignore: !HAVE_DASHBOARD,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-admin-e2e-" });
  const redis: RedisProcess[] = [];
  let dash: Deno.ChildProcess | undefined;
  try {
    for (let i = 0; i < 2; i++) redis.push(await startRedis({ requirepass: "pw" }));
    const addr = `127.0.0.1:${freePort()}`;
    const secret = crypto.randomUUID();
    dash = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "cli/codis-dashboard.ts",
        "--product_name=e2e",
        "--product_auth=pw",
        `--admin_addr=${addr}`,
        `--raft_addr=127.0.0.1:${freePort()}`,
        "--raft_id=1",
        `--data_dir=${dir}/raft`,
        `--cluster_secret=${secret}`,
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    await waitReady(addr);
    const A = [`--dashboard=${addr}`, "--auth=pw"];
    const [r1, r2] = redis.map((r) => r.addr);

    await must(...A, "--create-group", "--gid=1");
    await must(...A, "--create-group", "--gid=2");
    await must(...A, "--group-add", "--gid=1", `--addr=${r1}`);
    await must(...A, "--group-add", "--gid=2", `--addr=${r2}`);
    const dup = await admin(...A, "--group-add", "--gid=2", `--addr=${r1}`);
    equal(dup.code, 1);
    equal(dup.stderr.trimEnd().split("\n").length, 1);
    match(dup.stderr, /^codis-admin: .*\(HTTP 4\d\d\)\n$/);

    const preview = JSON.parse(await must(...A, "--slots-assign", "--beg=0", "--end=511", "--gid=1"));
    equal(preview.length, 512);
    await must(...A, "--slots-assign", "--beg=0", "--end=511", "--gid=1", "--confirm");
    await must(...A, "--slots-assign", "--beg=512", "--end=1023", "--gid=2", "--confirm");

    const slots = JSON.parse(await must(...A, "slots"));
    equal(slots.length, 1024);
    equal(slots[0].group_id, 1);
    equal(slots[1023].group_id, 2);
    deepEqual(JSON.parse(await must(...A, "--list-group")).map((g: { id: number }) => g.id), [1, 2]);
    equal(await must(...A, "--rebalance"), "nothing changes\n");

    // The dashboard polls servers every second; the table settles once each has been polled.
    const want = `[ ] group-1 [0] ${r1}      ==> NO:ONE\n[ ] group-2 [0] ${r2}      ==> NO:ONE\n`;
    let table = "";
    for (let i = 0; i < 50 && table !== want; i++) {
      table = await must(...A, "--group-status");
      if (table !== want) await new Promise((r) => setTimeout(r, 200));
    }
    equal(table, want);

    const raft = await must(...A, "--raft-status");
    match(raft, /^node 1: leader, term \d+, leader 1 /);

    const dump = JSON.parse(
      await must("--config-dump", "--product=e2e", `--cluster-secret=${secret}`, `--raft=${addr}`),
    );
    equal(dump.slots.filter((s: { group_id: number }) => s.group_id === 2).length, 512);
    deepEqual(dump.group.map((g: { servers: { server: string }[] }) => g.servers[0].server), [r1, r2]);

    await must(...A, "--shutdown");
    const status = await Promise.race([
      dash.status,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
    ]);
    ok(status !== undefined, "the dashboard exits after --shutdown");
    dash = undefined;
  } finally {
    if (dash) {
      try {
        dash.kill("SIGKILL");
      } catch { /* already gone */ }
      await dash.status;
    }
    for (const r of redis) await r.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
