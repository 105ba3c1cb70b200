import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { ProxyConfig } from "../config.ts";
import { ProxyStats } from "../stats.ts";
import type { ProxyControl } from "./control.ts";
import { startMetricsReporters } from "./report.ts";
import { fakeProxyControl } from "../../testing/proxy_control.ts";

/** A proxy with one GET and one session recorded, hostname "host a" (a space for the InfluxDB tag escaping). */
function fake(config: Partial<ProxyConfig>): ProxyControl {
  const stats = new ProxyStats();
  stats.record("get", 10, false, false);
  stats.sessionOpened();
  return fakeProxyControl({ config: { product_name: "demo", ...config }, stats, model: { hostname: "host a" } });
}

Deno.test("metrics reporters: JSON overview, InfluxDB line and StatsD gauges", async () => {
  const got: { path: string; auth: string | null; body: string }[] = [];
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const u = new URL(req.url);
    got.push({ path: u.pathname + u.search, auth: req.headers.get("authorization"), body: await req.text() });
    return u.pathname === "/fail" ? new Response("no", { status: 500 }) : new Response(null, { status: 204 });
  });
  const udpMsgs: string[] = [];
  const udp = dgram.createSocket("udp4");
  udp.on("message", (m) => udpMsgs.push(m.toString()));
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${http.addr.port}`;
  const ctl = fake({
    metrics_report_server: `${base}/json`,
    metrics_report_period: 30,
    metrics_report_influxdb_server: base,
    metrics_report_influxdb_period: 30,
    metrics_report_influxdb_database: "codis",
    metrics_report_influxdb_username: "u",
    metrics_report_influxdb_password: "p",
    metrics_report_statsd_server: `127.0.0.1:${udp.address().port}`,
    metrics_report_statsd_period: 30,
    metrics_report_statsd_prefix: "pre",
  });
  const failing = fake({ metrics_report_server: `${base}/fail`, metrics_report_period: 30 });
  const rep = startMetricsReporters(ctl, { minPeriodMs: 10 });
  const rep2 = startMetricsReporters(failing, { minPeriodMs: 10 });
  try {
    assert.deepEqual(rep.started, ["json", "influxdb", "statsd"]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (rep.counts.json.sent < 2 || rep.counts.influxdb.sent < 1 || udpMsgs.length < 1)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const json = got.find((g) => g.path === "/json")!;
    const ov = JSON.parse(json.body);
    assert.deepEqual(Object.keys(ov), ["version", "compile", "config", "model", "stats"]);
    assert.equal(ov.stats.ops.total, 1);
    assert.ok(ov.stats.runtime);
    assert.ok(!("product_auth" in ov.config));

    const influx = got.find((g) => g.path.startsWith("/write"))!;
    assert.equal(influx.path, "/write?db=codis&precision=ns");
    assert.equal(influx.auth, `Basic ${btoa("u:p")}`);
    assert.match(
      influx.body,
      /^codis_usage,admin_addr=127\.0\.0\.1:11080,hostname=host\\ a,product_name=demo,proxy_addr=127\.0\.0\.1:19000,token=tok ops_total=1i,ops_fails=0i,.*sessions_alive=1i,.* \d{19}\n$/,
    );

    const lines = udpMsgs[0].split("\n");
    assert.ok(lines.includes("pre.demo.127_0_0_1_11080.127_0_0_1_19000.ops_total:1|g"), lines.join(" "));
    assert.ok(lines.includes("pre.demo.127_0_0_1_11080.127_0_0_1_19000.sessions_alive:1|g"));
    assert.equal(lines.length, 14);

    assert.ok(rep2.counts.json.failed >= 1, "a failing server is counted and backed off");
    assert.equal(rep2.counts.json.sent, 0);
  } finally {
    await rep.stop();
    await rep2.stop();
    await http.shutdown();
    await new Promise<void>((r) => udp.close(() => r()));
  }
});

Deno.test("metrics reporters: none configured, none started", async () => {
  const rep = startMetricsReporters(fake({}));
  assert.deepEqual(rep.started, []);
  await rep.stop();
});
