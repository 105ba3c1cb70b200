import { deepEqual, equal, match, ok } from "node:assert/strict";
import { admin, must } from "../testing/admin_cli.ts";
import { freePort } from "../testing/ports.ts";

const ROOT = new URL("..", import.meta.url).pathname;

const HAVE_DASHBOARD = (() => {
  try {
    return Deno.statSync(new URL("../cli/codis-dashboard.ts", import.meta.url)).isFile;
  } catch {
    return false;
  }
})();

interface Member {
  id: number;
  voter: boolean;
}
interface Status {
  id: number;
  role: string;
  leader: number;
  leaderApiAddr?: string;
  members: Member[];
}

async function status(addr: string): Promise<Status | undefined> {
  try {
    const r = await fetch(`http://${addr}/api/topom/raft/status`);
    return r.status === 200 ? await r.json() : (await r.body?.cancel(), undefined);
  } catch {
    return undefined;
  }
}

/** Polls (bounded) until `pred` holds for the status of `addr`. */
async function until(addr: string, pred: (s: Status) => boolean, what: string, timeoutMs = 20_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await status(addr);
    if (s && pred(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} on ${addr}`);
}

Deno.test({
  name: "codis-admin raft operator commands through any node of a 3-dashboard group",
  ignore: !HAVE_DASHBOARD,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-admin-raft-" });
  const procs: Deno.ChildProcess[] = [];
  const api = [0, 1, 2, 3].map(() => `127.0.0.1:${freePort()}`);
  const raft = [0, 1, 2, 3].map(() => `127.0.0.1:${freePort()}`);
  const peers = [0, 1, 2].map((i) => `${i + 1}=${raft[i]}`).join(",");
  const secret = crypto.randomUUID();
  const start = (i: number, extra: string[]) =>
    procs.push(
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          "cli/codis-dashboard.ts",
          "--product_name=rafty",
          "--product_auth=pw",
          `--admin_addr=${api[i]}`,
          `--raft_addr=${raft[i]}`,
          `--raft_id=${i + 1}`,
          `--data_dir=${dir}/n${i + 1}`,
          `--cluster_secret=${secret}`,
          ...extra,
        ],
        cwd: ROOT,
        stdout: "null",
        stderr: "null",
        stdin: "null",
      }).spawn(),
    );
  try {
    for (let i = 0; i < 3; i++) start(i, [`--raft_peers=${peers}`, "--raft_bootstrap=new"]);
    const st = await until(api[0], (s) => s.leader > 0, "a leader");
    const leaderIdx = st.leader - 1;
    const follower = api[(leaderIdx + 1) % 3];
    await until(follower, (s) => s.leader === st.leader, "the follower to know the leader");
    const F = [`--dashboard=${follower}`, "--auth=pw"];

    // A write through a follower reaches the leader; the table from a follower is the leader's view.
    await must(...F, "--create-group", "--gid=7");
    deepEqual(JSON.parse(await must(`--dashboard=${api[leaderIdx]}`, "--auth=pw", "--list-group")).length, 1);
    const table = await must(...F, "--raft-status");
    match(table, new RegExp(`^node ${st.leader}: leader, term \\d+`));
    equal(table.trimEnd().split("\n").length, 1 + 1 + 3);

    // A fourth node joins as a learner, is promoted, then removed again.
    start(3, ["--join"]);
    await until(api[3], () => true, "node 4 to listen");
    const unreachable = await admin(...F, "--raft-add", "--id=5", `--addr=127.0.0.1:${freePort()}`);
    equal(unreachable.code, 1);
    match(unreachable.stderr, /^codis-admin: .*unreachable.*\n$/);
    await must(...F, "--raft-add", "--id=4", `--addr=${raft[3]}`, "--learner");
    let s = await until(api[leaderIdx], (x) => x.members.some((m) => m.id === 4 && !m.voter), "learner 4");
    await must(...F, "--raft-promote", "--id=4");
    s = await until(api[leaderIdx], (x) => x.members.some((m) => m.id === 4 && m.voter), "voter 4");
    equal(s.members.length, 4);
    await must(...F, "--raft-remove", "--id=4");
    await until(api[leaderIdx], (x) => !x.members.some((m) => m.id === 4), "member 4 removed");

    const unknown = await admin(...F, "--raft-remove", "--id=9");
    equal(unknown.code, 1);
    match(unknown.stderr, /^codis-admin: .*raft member 9 doesn't exist \(HTTP 404\)\n$/);

    // Leadership moves to the follower we have been talking to.
    const target = (leaderIdx + 1) % 3 + 1;
    await must(...F, "--raft-transfer", `--id=${target}`);
    await until(follower, (x) => x.role === "leader", "the transfer");
    ok((await must(...F, "--raft-status")).startsWith(`node ${target}: leader`));
  } finally {
    for (const p of procs) {
      try {
        p.kill("SIGKILL");
      } catch { /* gone */ }
      await p.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
