/**
 * deploy/monitoring/: the Prometheus rules pass `promtool check rules`, and every metric name the rules and the
 * Grafana dashboard use is exported by a live proxy's or dashboard's /metrics (which promtool's linter accepts).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { type Cluster, startCluster } from "../examples/cluster.ts";
import { parseMetricsText } from "../proxy/admin/metrics.ts";
import { until } from "../testing/wait.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DIR = `${ROOT}deploy/monitoring`;

async function run(cmd: string, args: string[], stdin?: string): Promise<{ code: number; out: string }> {
  const p = new Deno.Command(cmd, {
    args,
    cwd: DIR,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  if (stdin !== undefined) {
    const wr = p.stdin.getWriter();
    await wr.write(new TextEncoder().encode(stdin));
    await wr.close();
  }
  const o = await p.output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout) + d.decode(o.stderr) };
}

/** Metric names in PromQL expressions (recording rules' `codis:...` names aside). */
function metricNames(exprs: string[]): Set<string> {
  const names = new Set<string>();
  for (const e of exprs) for (const m of e.matchAll(/\b(codis_[a-z0-9_]+)\b/g)) names.add(m[1]);
  return names;
}

Deno.test("monitoring: promtool accepts the rules and the config; rules and Grafana use exported metrics", async () => {
  const rules = await run("promtool", ["check", "rules", "rules.yml"]);
  equal(rules.code, 0, rules.out);
  const config = await run("promtool", ["check", "config", "prometheus.example.yml"]);
  equal(config.code, 0, config.out);

  const rulesText = await Deno.readTextFile(`${DIR}/rules.yml`);
  const ruleExprs = [...rulesText.matchAll(/^\s+expr: (>\n(?:\s{10}.*\n)+|.*)$/gm)].map((m) => m[1]);
  const grafana = JSON.parse(await Deno.readTextFile(`${DIR}/grafana-dashboard.json`));
  const panelExprs = (grafana.panels as { targets: { expr: string }[] }[]).flatMap((p) => p.targets.map((t) => t.expr));
  ok(
    ruleExprs.length >= 15 && panelExprs.length >= 15,
    `${ruleExprs.length} rule and ${panelExprs.length} panel exprs`,
  );

  let cluster: Cluster | null = null;
  try {
    cluster = await startCluster({ groups: 1, replicas: 1, dashboards: 1, proxies: 1, output: "files" });
    const c = cluster;
    // Traffic, so that per-command and per-backend series exist.
    await until("the proxy is online and answers", 20_000, async () => {
      const cli = await run("redis-cli", ["-p", c.proxyAddrs[0].split(":")[1], "set", "k", "v"]);
      return cli.out.trim() === "OK" ? true : undefined;
    }, 250);
    const proxyText = await (await fetch(`http://${c.proxyAdminAddrs[0]}/metrics`)).text();
    const dashText = await until("the dashboard has polled the servers", 20_000, async () => {
      const t = await (await fetch(`http://${c.dashboards[0].addr}/metrics`)).text();
      return /codis_dashboard_server_master_link_up\{[^}]*\} 1/.test(t) ? t : undefined;
    }, 250);
    const exported = new Set<string>();
    for (const text of [proxyText, dashText]) for (const s of parseMetricsText(text).samples) exported.add(s.name);

    const used = metricNames([...ruleExprs, ...panelExprs]);
    deepEqual([...used].filter((n) => !exported.has(n)).sort(), [], "metric names used but not exported");

    // The dashboard's figures say what its API says.
    const dash = parseMetricsText(dashText).samples;
    const value = (name: string, labels: Record<string, string> = {}) =>
      dash.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    equal(value("codis_dashboard_active"), 1);
    equal(value("codis_dashboard_raft_role", { role: "leader" }), 1);
    equal(value("codis_dashboard_raft_has_leader"), 1);
    equal(value("codis_dashboard_groups"), 1);
    equal(value("codis_dashboard_proxies"), 1);
    equal(value("codis_dashboard_slots_offline"), 0);
    equal(value("codis_dashboard_server_up", { addr: c.groups.get(1)![0], role: "master" }), 1);

    // promtool's linter on the dashboard's exposition (naming, HELP, TYPE).
    const lint = await run("promtool", ["check", "metrics"], dashText);
    equal(lint.code, 0, lint.out);
  } finally {
    await cluster?.stop();
  }
});
