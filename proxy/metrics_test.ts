import assert from "node:assert/strict";
import type { ProxyControl } from "./admin/control.ts";
import { escapeLabel, parseMetricsText, renderMetrics } from "./metrics.ts";
import { ProxyStats } from "./stats.ts";
import { fakeProxyControl } from "../testing/proxy_control.ts";

/** A proxy named with a quote and a backslash (label escaping), one backend up and one down. */
function fakeControl(stats: ProxyStats): ProxyControl {
  return fakeProxyControl({
    stats,
    model: { product_name: 'we"ird\\name' },
    backends: [
      { addr: "127.0.0.1:6379", state: "connected", conns: 2, pending: 3 },
      { addr: "127.0.0.1:6380", state: "down", conns: 0, pending: 0 },
    ],
  });
}

Deno.test("metrics: text format with counters, per-command histogram and backend state", () => {
  const stats = new ProxyStats();
  for (let i = 0; i < 10; i++) stats.record("get", 20 + i * 100, i === 9, false);
  stats.record("set", 5, false, true);
  stats.sessionOpened();
  const text = renderMetrics(fakeControl(stats));
  const { types, samples } = parseMetricsText(text);
  const val = (name: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  assert.equal(types.get("codis_proxy_ops_total"), "counter");
  assert.equal(types.get("codis_proxy_command_duration_seconds"), "histogram");
  assert.equal(val("codis_proxy_ops_total"), 11);
  assert.equal(val("codis_proxy_ops_fails_total"), 1);
  assert.equal(val("codis_proxy_ops_redis_errors_total"), 1);
  assert.equal(val("codis_proxy_ops_qps"), 0);
  assert.equal(val("codis_proxy_sessions_alive"), 1);
  assert.equal(val("codis_proxy_online"), 1);
  assert.equal(val("codis_proxy_info", { product_name: 'we"ird\\name' }), 1);
  assert.equal(val("codis_proxy_command_calls_total", { cmd: "GET" }), 10);
  assert.equal(val("codis_proxy_command_fails_total", { cmd: "GET" }), 1);
  assert.equal(val("codis_proxy_command_redis_errors_total", { cmd: "SET" }), 1);
  assert.equal(val("codis_proxy_command_duration_seconds_count", { cmd: "GET" }), 10);
  assert.equal(val("codis_proxy_command_duration_seconds_bucket", { cmd: "GET", le: "+Inf" }), 10);
  assert.equal(val("codis_proxy_command_duration_seconds_bucket", { cmd: "GET", le: "0.000032" }), 1);
  assert.equal(val("codis_proxy_command_duration_seconds_bucket", { cmd: "GET", le: "0.001024" }), 10);
  assert.ok(Math.abs(val("codis_proxy_command_duration_seconds_sum", { cmd: "GET" })! - 0.0047) < 1e-9);
  assert.equal(val("codis_proxy_backend_up", { addr: "127.0.0.1:6379" }), 1);
  assert.equal(val("codis_proxy_backend_up", { addr: "127.0.0.1:6380" }), 0);
  assert.equal(val("codis_proxy_backend_state", { addr: "127.0.0.1:6380", state: "down" }), 1);
  assert.equal(val("codis_proxy_backend_state", { addr: "127.0.0.1:6380", state: "connected" }), 0);
  assert.equal(val("codis_proxy_backend_connections", { addr: "127.0.0.1:6379" }), 2);
  assert.equal(val("codis_proxy_backend_pending_requests", { addr: "127.0.0.1:6379" }), 3);
});

Deno.test("metrics: label escaping and the strict parser's checks", () => {
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.throws(() => parseMetricsText("x 1\n"), /without TYPE/);
  assert.throws(() => parseMetricsText("# TYPE x gauge\nx{a=b} 1\n"), /bad labels/);
  assert.throws(() => parseMetricsText("# TYPE x gauge\nx one\n"), /bad value/);
  assert.throws(() => parseMetricsText("# TYPE x gauge\nx 1"), /newline/);
  assert.throws(
    () => parseMetricsText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n'),
    /not cumulative/,
  );
  assert.throws(() => parseMetricsText('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 1\n'), /\+Inf/);
});
