/**
 * Every command the project prints or documents runs against one live local cluster: the local cluster's banner,
 * the README's command lines and each `codis-admin --help` usage line (a new usage line without a run here fails).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { clusterBanner } from "../examples/banner.ts";
import { type Cluster, startCluster } from "../examples/cluster.ts";
import { main as adminMain } from "../cli/codis-admin.ts";
import { USAGE } from "../admin/args.ts";
import { bannerCommands, fencedCommands, runDocumented, withPorts } from "../testing/doc_commands.ts";
import { startRedis } from "../testing/redis.ts";
import { startSentinel } from "../testing/dashboard.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { until } from "../testing/wait.ts";
import { freePort, waitForPort } from "../testing/ports.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const port = (addr: string) => Number(addr.split(":").pop());

/** Runs codis-admin in this process; fails the test on a non-zero exit unless `expectFail`. */
async function adm(args: string[], expectFail = false): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await adminMain(args, (l) => out.push(l), (l) => err.push(l));
  if (expectFail) equal(code, 1, `codis-admin ${args.join(" ")} should fail`);
  else equal(code, 0, `codis-admin ${args.join(" ")}: ${err.join("\n")}`);
  return out.join("\n");
}

/** The usage lines of `codis-admin --help` that name a command (the COORDINATOR legend aside). */
function usageLines(): string[] {
  const lines = USAGE.split("\n").map((l) => l.trim().replace(/\s+/g, " "));
  const end = lines.findIndex((l) => l.startsWith("COORDINATOR is one of"));
  return lines.slice(0, end).filter((l) => /^(codis-admin|--|\[)/.test(l));
}

Deno.test("documented commands: banner, README and every codis-admin usage line run against a live cluster", async () => {
  let cluster: Cluster | null = null;
  const extras: { stop(): Promise<void> }[] = [];
  const dir = await Deno.makeTempDir({ prefix: "codis-doc-cmds-" });
  try {
    const clusterSecret = crypto.randomUUID();
    cluster = await startCluster({
      groups: 2,
      replicas: 1,
      dashboards: 3,
      proxies: 2,
      clusterSecret,
      fePort: freePort(),
      output: "files",
    });
    const c = cluster;

    // The banner local-cluster.ts prints, as printed.
    const banner = bannerCommands(clusterBanner(c));
    ok(banner.some((l) => l.endsWith(" overview")), "the banner shows the overview");
    for (const cmd of banner) {
      const r = await runDocumented(cmd);
      equal(r.code, 0, `banner: ${cmd}: ${r.stderr}${r.stdout}`);
      if (cmd.startsWith("redis-cli")) equal(r.stdout.trim(), "PONG");
      if (cmd.endsWith(" overview")) deepEqual(Object.keys(JSON.parse(r.stdout)), Object.keys(await overview(c)));
    }

    // The README's lines, on the live cluster's ports in place of local-cluster.ts's fixed ones.
    const ports = new Map<number, number>();
    c.proxyAddrs.forEach((a, i) => ports.set(19000 + i, port(a)));
    c.proxyAdminAddrs.forEach((a, i) => ports.set(11080 + i, port(a)));
    c.dashboards.forEach((d, i) => ports.set(18080 + i, port(d.addr)));
    ports.set(9090, port(c.feAddr));
    const readme = fencedCommands(await Deno.readTextFile(`${ROOT}README.md`));
    ok(readme.length >= 4, `README commands found: ${readme.length}`);
    for (const doc of readme) {
      const cmd = withPorts(doc, ports);
      const r = await runDocumented(cmd);
      equal(r.code, 0, `README: ${doc}: ${r.stderr}${r.stdout}`);
      if (cmd.startsWith("redis-cli") && cmd.includes(" set ")) equal(r.stdout.trim(), "OK");
      if (cmd.includes("/metrics")) match(r.stdout, /^# (HELP|TYPE) /m);
    }

    // Every usage line of codis-admin --help, with concrete values.
    const D = `--dashboard=${c.dashboardList}`;
    const P = `--proxy=${c.proxyAdminAddrs[0]}`;
    const [x, y] = [await startRedis(), await startRedis()];
    extras.push(x, y);
    const sentinel = await startSentinel();
    extras.push(sentinel);
    const secretFile = `${dir}/cluster_secret`;
    await Deno.writeTextFile(secretFile, clusterSecret, { mode: 0o600 });
    const RAFT = [`--raft=${c.dashboardList}`, `--cluster-secret-file=${secretFile}`];
    const slotsFile = `${dir}/slots.json`;
    await Deno.writeTextFile(slotsFile, JSON.stringify([{ id: 0, backend_addr: c.groups.get(1)![0] }]));
    // A proxy of the product that no dashboard knows yet, for --fillslots, --create-proxy and --shutdown.
    const p3 = await startCodisProxy([`--product_name=${c.productName}`, `--fillslots=${slotsFile}`]);
    extras.push(p3);
    const P3 = `127.0.0.1:${p3.adminPort}`;
    const restoreFile = `${dir}/restore.json`;
    const v1File = `${dir}/v1.json`;
    await Deno.writeTextFile(
      v1File,
      JSON.stringify({
        slots: { slot_0: { id: 0, group_id: 1, state: { status: "online" } } },
        servers: { group_1: { [x.addr]: { addr: x.addr, group_id: 1, type: "master" } } },
      }),
    );
    const slotOf = async (sid: number) =>
      (JSON.parse(await adm([D, "slots"])) as { id: number; group_id: number }[])[sid];
    const actionsDone = () =>
      until("slot actions finish", 60_000, async () => {
        const slots = JSON.parse(await adm([D, "slots"])) as { action?: { state?: string } }[];
        return slots.every((s) => !s.action?.state) ? true : undefined;
      }, 200);

    const runs: [string, () => Promise<void>][] = [
      ["codis-admin [-v] --proxy=ADDR [--auth=AUTH] [overview|config|model|stats|slots]", async () => {
        for (const part of ["overview", "config", "model", "stats", "slots"]) JSON.parse(await adm([P, part]));
        equal(JSON.parse(await adm([P, "model"])).product_name, c.productName);
        deepEqual(Object.keys(JSON.parse(await adm([P, "--overview"]))), Object.keys(JSON.parse(await adm([P]))));
      }],
      ["codis-admin [-v] --proxy=ADDR [--auth=AUTH] --start", async () => void await adm([P, "--start"])],
      ["codis-admin [-v] --proxy=ADDR [--auth=AUTH] --log-level=LEVEL", async () => {
        await adm([P, "--log-level=INFO"]);
      }],
      ["codis-admin [-v] --proxy=ADDR [--auth=AUTH] --fillslots=FILE [--locked]", async () => {
        await adm([`--proxy=${P3}`, `--fillslots=${slotsFile}`, "--locked"]);
        const s0 = JSON.parse(await adm([`--proxy=${P3}`, "slots"]))[0];
        equal(s0.locked, true);
      }],
      ["codis-admin [-v] --proxy=ADDR [--auth=AUTH] --reset-stats", async () => void await adm([P, "--reset-stats"])],
      ["codis-admin [-v] --proxy=ADDR [--auth=AUTH] --forcegc", async () => void await adm([P, "--forcegc"])],
      [
        "[overview|config|model|stats|slots|group|proxy] (overview, the default: all of it; also --overview)",
        async () => {
          const whole = await overview(c);
          deepEqual(Object.keys(JSON.parse(await adm([D, "--overview"]))), Object.keys(whole));
          for (const part of ["config", "model", "stats", "slots", "group", "proxy"]) JSON.parse(await adm([D, part]));
          equal(JSON.parse(await adm([D, "model"])).product_name, c.productName);
          equal(JSON.parse(await adm([D, "slots"])).length, 1024);
          await adm([D, "--overview", "config"], true); // one part or the whole, not both
          await adm([D, "--overview", "--group-status"], true);
          await adm([D, "nonsense"], true);
        },
      ],
      ["--shutdown | --reload | --log-level=LEVEL", async () => {
        await adm([D, "--reload"]);
        await adm([D, "--log-level=INFO"]);
      }],
      ["--slots-assign --beg=ID --end=ID (--gid=ID|--offline) [--confirm]", async () => {
        equal(JSON.parse(await adm([D, "--slots-assign", "--beg=1020", "--end=1023", "--offline"])).length, 4);
        await adm([D, "--slots-assign", "--beg=1020", "--end=1023", "--offline", "--confirm"]);
        equal((await slotOf(1023)).group_id, 0);
        await adm([D, "--slots-assign", "--beg=1020", "--end=1023", "--gid=2", "--confirm"]);
        equal((await slotOf(1023)).group_id, 2);
      }],
      ["--slots-status", async () => equal(JSON.parse(await adm([D, "--slots-status"])).length, 1024)],
      ["--list-proxy | --proxy-status", async () => {
        equal(JSON.parse(await adm([D, "--list-proxy"])).length, 2);
        match(await adm([D, "--proxy-status"]), new RegExp(c.proxyAdminAddrs[0].replaceAll(".", "\\.")));
      }],
      ["--list-group | --group-status", async () => {
        equal(JSON.parse(await adm([D, "--list-group"])).length, 2);
        match(await adm([D, "--group-status"]), new RegExp(c.groups.get(1)![0].replaceAll(".", "\\.")));
      }],
      ["--create-group --gid=ID", async () => void await adm([D, "--create-group", "--gid=3"])],
      ["--group-add --gid=ID --addr=ADDR [--datacenter=DATACENTER]", async () => {
        await adm([D, "--group-add", "--gid=3", `--addr=${x.addr}`]);
        await adm([D, "--group-add", "--gid=3", `--addr=${y.addr}`, "--datacenter=dc2"]);
      }],
      ["--sync-action --create --addr=ADDR", async () => {
        await adm([D, "--sync-action", "--create", `--addr=${y.addr}`]);
      }],
      ["--sync-action --remove --addr=ADDR", async () => {
        // A finished action is gone already; the command answers either way once the action is not pending.
        await until("sync action leaves the model", 30_000, async () => {
          const out: string[] = [];
          await adminMain([D, "--sync-action", "--remove", `--addr=${y.addr}`], (l) => out.push(l), () => {});
          const g = (JSON.parse(await adm([D, "group"])) as Group).models.find((m) => m.id === 3)!;
          return g.servers.every((s) => !s.action?.state) ? true : undefined;
        }, 300);
      }],
      ["--resync-group [--gid=ID | --all]", async () => void await adm([D, "--resync-group", "--gid=3"])],
      ["--replica-groups --gid=ID --addr=ADDR (--enable|--disable)", async () => {
        await adm([D, "--replica-groups", "--gid=3", `--addr=${y.addr}`, "--enable"]);
        await adm([D, "--replica-groups", "--gid=3", `--addr=${y.addr}`, "--disable"]);
      }],
      ["--promote-server --gid=ID [--addr=ADDR] (no --addr: the replica with the largest offset)", async () => {
        match(await adm([D, "--promote-server", "--gid=3", `--addr=${y.addr}`]), /\[[ X]\]/);
        await until("the replica becomes the master", 30_000, async () => {
          const g = (JSON.parse(await adm([D, "group"])) as Group).models.find((m) => m.id === 3)!;
          return g.servers[0].server === y.addr ? true : undefined;
        }, 200);
      }],
      ["--group-del --gid=ID --addr=ADDR", async () => {
        await adm([D, "--group-del", "--gid=3", `--addr=${x.addr}`]);
        await adm([D, "--group-del", "--gid=3", `--addr=${y.addr}`]);
      }],
      ["--remove-group --gid=ID", async () => {
        await adm([D, "--remove-group", "--gid=3"]);
        equal(JSON.parse(await adm([D, "--list-group"])).length, 2);
      }],
      ["--slot-action --interval=VALUE", async () => void await adm([D, "--slot-action", "--interval=0"])],
      ["--slot-action --disabled=VALUE", async () => {
        await adm([D, "--slot-action", "--disabled=1"]);
      }],
      ["--slot-action --remove --sid=ID", async () => {
        await adm([D, "--slot-action", "--create", "--sid=1", "--gid=2"]);
        await adm([D, "--slot-action", "--remove", "--sid=1"]);
        equal((await slotOf(1)).group_id, 1);
        await adm([D, "--slot-action", "--disabled=0"]);
      }],
      ["--slot-action --create --sid=ID --gid=ID", async () => {
        await adm([D, "--slot-action", "--create", "--sid=0", "--gid=2"]);
        await actionsDone();
        equal((await slotOf(0)).group_id, 2);
      }],
      ["--slot-action --create-some --gid-from=ID --gid-to=ID --num-slots=N", async () => {
        await adm([D, "--slot-action", "--create-some", "--gid-from=2", "--gid-to=1", "--num-slots=1"]);
        await actionsDone();
      }],
      ["--slot-action --create-range --beg=ID --end=ID --gid=ID", async () => {
        await adm([D, "--slot-action", "--create-range", "--beg=3", "--end=5", "--gid=2"]);
        await actionsDone();
        equal((await slotOf(5)).group_id, 2);
      }],
      ["--slot-action --resume --sid=ID (ours: retry a slot paused on a key)", async () => {
        // Nothing is paused on a healthy cluster: the command explains itself with one line and status 1.
        await adm([D, "--slot-action", "--resume", "--sid=5"], true);
      }],
      ["--slot-action --status (ours: switches, progress, paused slots)", async () => {
        ok((await adm([D, "--slot-action", "--status"])).length > 0);
      }],
      ["--rebalance [--confirm]", async () => {
        ok((await adm([D, "--rebalance"])).length > 0);
        await adm([D, "--rebalance", "--confirm"]);
        await actionsDone();
      }],
      [
        "--rebalance --by=load|bytes|keys [--max-moves=N] [--confirm] (ours: even out ops/s, bytes/s or keys)",
        async () => {
          // The plan only: confirming is tests/load_rebalance_test.ts's, under a skewed load.
          for (const by of ["load", "bytes", "keys"]) {
            ok((await adm([D, "--rebalance", `--by=${by}`, "--max-moves=4"])).length > 0);
          }
        },
      ],
      [
        "--slots-stats | --hotkeys | --bigkeys [--json] (ours: per-slot load, hot keys, big keys of all proxies)",
        async () => {
          for (const view of ["--slots-stats", "--hotkeys", "--bigkeys"]) {
            ok(JSON.parse(await adm([D, view, "--json"])) !== null, view);
            await adm([D, view]);
          }
        },
      ],
      ["--sentinel-add --addr=ADDR", async () => void await adm([D, "--sentinel-add", `--addr=${sentinel.addr}`])],
      ["--sentinel-resync", async () => void await adm([D, "--sentinel-resync"])],
      ["--sentinel-del --addr=ADDR [--force]", async () => {
        await adm([D, "--sentinel-del", `--addr=${sentinel.addr}`, "--force"]);
      }],
      ["--raft-status [--json]", async () => {
        match(await adm([D, "--raft-status"]), /leader/);
        equal(JSON.parse(await adm([D, "--raft-status", "--json"])).members?.length ?? 3, 3);
      }],
      ["--raft-add --id=N --addr=HOST:PORT [--learner]", async () => {
        const raftAddr = `127.0.0.1:${freePort()}`;
        extras.push(await startJoiningDashboard(c, clusterSecret, `${dir}/dashboard-9`, raftAddr));
        await adm([D, "--raft-add", "--id=9", `--addr=${raftAddr}`, "--learner"]);
      }],
      ["--raft-promote --id=N", async () => {
        await until("learner 9 is promoted", 30_000, async () => {
          const code = await adminMain([D, "--raft-promote", "--id=9"], () => {}, () => {});
          return code === 0 ? true : undefined;
        }, 500);
      }],
      ["--raft-remove --id=N", async () => void await adm([D, "--raft-remove", "--id=9"])],
      ["--raft-transfer --id=N", async () => {
        const st = JSON.parse(await adm([D, "--raft-status", "--json"]));
        const to = st.id === 1 ? 2 : 1;
        await adm([D, "--raft-transfer", `--id=${to}`]);
      }],
      // After the slot moves: a removed proxy holds slot moves back for dashboard_lease_timeout (30 s).
      ["--create-proxy --addr=ADDR", async () => void await adm([D, "--create-proxy", `--addr=${P3}`])],
      ["--online-proxy --addr=ADDR", async () => {
        await adm([D, "--online-proxy", `--addr=${P3}`]);
        equal(JSON.parse(await adm([D, "--list-proxy"])).length, 3);
      }],
      ["--reinit-proxy (--addr=ADDR|--token=TOKEN|--pid=ID|--all) [--force]", async () => {
        match(await adm([D, "--reinit-proxy", "--all"]), /reinit proxy/);
      }],
      ["--remove-proxy (--addr=ADDR|--token=TOKEN|--pid=ID) [--force]", async () => {
        await adm([D, "--remove-proxy", `--addr=${P3}`]);
        equal(JSON.parse(await adm([D, "--list-proxy"])).length, 2);
      }],
      ["codis-admin [-v] --dashboard-list COORDINATOR", async () => {
        const list = await until("the Raft store answers", 15_000, async () => {
          const out: string[] = [];
          const code = await adminMain(["--dashboard-list", ...RAFT], (l) => out.push(l), () => {});
          return code === 0 ? JSON.parse(out.join("\n")) as { name: string }[] : undefined;
        }, 300);
        ok(list.some((p) => p.name === c.productName));
      }],
      ["codis-admin [-v] --config-dump --product=NAME COORDINATOR [-1]", async () => {
        const dump = JSON.parse(await adm(["--config-dump", `--product=${c.productName}`, ...RAFT]));
        equal(dump.slots.length, 1024);
        await Deno.writeTextFile(restoreFile, JSON.stringify({ slots: dump.slots, group: dump.group }));
      }],
      ["codis-admin [-v] --config-convert=FILE", async () => {
        equal(JSON.parse(await adm([`--config-convert=${v1File}`])).group[0].servers[0].server, x.addr);
      }],
      ["codis-admin [-v] --config-restore=FILE --product=NAME COORDINATOR [--confirm]", async () => {
        await adm([`--config-restore=${restoreFile}`, "--product=restored", ...RAFT, "--confirm"]);
        equal(JSON.parse(await adm(["--config-dump", "--product=restored", ...RAFT])).group.length, 2);
      }],
      ["codis-admin [-v] --remove-lock --product=NAME COORDINATOR", async () => {
        await adm(["--remove-lock", "--product=restored", ...RAFT]);
      }],
      // Last: they stop what they address.
      ["codis-admin [-v] --proxy=ADDR [--auth=AUTH] --shutdown", async () => {
        await adm([`--proxy=${P3}`, "--shutdown"]);
        await until("proxy 3 stops answering", 15_000, async () => {
          const code = await adminMain([`--proxy=${P3}`, "model", "--timeout=500"], () => {}, () => {});
          return code === 1 ? true : undefined;
        }, 200);
      }],
      ["codis-admin [-v] --dashboard=ADDR[,ADDR...] [--auth=AUTH] [--product_name=NAME] then one of:", async () => {
        const last = c.dashboards[2];
        await adm([`--dashboard=${last.addr}`, "--shutdown"]);
        await last.proc?.status;
      }],
    ];

    const covered = runs.map(([line]) => line);
    deepEqual(usageLines().filter((l) => !covered.includes(l)), [], "usage lines without a run here");
    deepEqual(covered.filter((l) => !usageLines().includes(l)), [], "runs here for lines no longer in the usage");
    for (const [line, run] of runs) {
      try {
        await run();
      } catch (e) {
        throw new Error(`usage line "${line}": ${(e as Error).message}`);
      }
    }
  } finally {
    for (const e of extras) await e.stop().catch(() => {});
    await cluster?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/** A fourth dashboard that waits to be added to the Raft group (`--join`). */
async function startJoiningDashboard(c: Cluster, secret: string, dataDir: string, raftAddr: string) {
  const admin = `127.0.0.1:${freePort()}`;
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      `${ROOT}cli/codis-dashboard.ts`,
      `--product_name=${c.productName}`,
      `--admin_addr=${admin}`,
      `--raft_addr=${raftAddr}`,
      "--raft_id=9",
      `--data_dir=${dataDir}`,
      "--join",
    ],
    env: { CODIS_CLUSTER_SECRET: secret, CODIS_PRODUCT_AUTH: c.productAuth },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
    await proc.status;
  };
  try {
    await waitForPort(port(raftAddr), 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}

interface Group {
  models: { id: number; servers: { server: string; action?: { state?: string } }[] }[];
}

async function overview(c: Cluster): Promise<Record<string, unknown>> {
  const r = await fetch(`http://${c.dashboards[0].addr}/topom`);
  return await r.json();
}
