import assert from "node:assert/strict";
import { type DashboardGroup, startDashboards } from "../testing/dashboard.ts";
import { type CodisProxyProcess, startCodisProxy } from "../testing/codis_proxy.ts";
import { admin, must } from "../testing/admin_cli.ts";
import { freePort, waitForPort } from "../testing/ports.ts";
import { type RedisProcess, startRedis } from "../testing/redis.ts";
import { makeTestCerts, type TestCerts } from "../testing/tls_certs.ts";
import { until } from "../testing/wait.ts";

const FE_CLI = new URL("../cli/codis-fe.ts", import.meta.url).pathname;

/** admin_tls_* flags: serve the API over HTTPS and call other admin APIs over HTTPS, trusting the test CA. */
function adminTlsFlags(certs: TestCerts): string[] {
  return [
    `--admin_tls_cert_file=${certs.serverCertFile}`,
    `--admin_tls_key_file=${certs.serverKeyFile}`,
    `--admin_tls_ca_file=${certs.caFile}`,
  ];
}

function raftTlsFlags(certs: TestCerts): string[] {
  return [
    `--raft_tls_cert_file=${certs.serverCertFile}`,
    `--raft_tls_key_file=${certs.serverKeyFile}`,
    `--raft_tls_ca_file=${certs.caFile}`,
  ];
}

Deno.test("admin APIs and Raft over TLS: 3 dashboards elect a leader, codis-admin --ca-file, a proxy and codis-fe over HTTPS", async () => {
  const certs = await makeTestCerts();
  let g: DashboardGroup | undefined;
  let proxy: CodisProxyProcess | undefined;
  let redis: RedisProcess | undefined;
  let fe: Deno.ChildProcess | undefined;
  const client = Deno.createHttpClient({ caCerts: [certs.ca] });
  try {
    g = await startDashboards({
      n: 3,
      product: "atls",
      httpsCa: certs.ca,
      extra: [...adminTlsFlags(certs), ...raftTlsFlags(certs)],
    });
    const leader = await g.leader();

    // The Raft port speaks TLS: a handshake with the test CA succeeds and the transport's hello follows inside it;
    // a plain-TCP peer never sees the hello.
    const [host, port] = leader.raft.split(":");
    const tls = await Deno.connectTls({ hostname: host, port: Number(port), caCerts: [certs.ca] });
    try {
      const buf = new Uint8Array(64);
      const n = await tls.read(buf);
      assert.ok(n !== null && new TextDecoder().decode(buf.subarray(0, n)).includes("RAFT1"), "hello inside TLS");
    } finally {
      tls.close();
    }
    const plain = await Deno.connect({ hostname: host, port: Number(port) });
    try {
      const buf = new Uint8Array(64);
      const n = await Promise.race([
        plain.read(buf).catch(() => null),
        new Promise<null>((r) => setTimeout(r, 500, null)),
      ]);
      assert.ok(n === null || !new TextDecoder().decode(buf.subarray(0, n)).includes("RAFT1"), "no plain hello");
    } finally {
      plain.close();
    }

    // The API is HTTPS only.
    await assert.rejects(fetch(`http://${leader.admin}/topom/model`));

    // codis-admin needs the CA to reach it; a write through a follower reaches the leader over HTTPS too.
    const follower = g.nodes.find((d) => d !== leader)!;
    const refused = await admin(`--dashboard=${leader.admin}`, "--list-group");
    assert.notEqual(refused.code, 0);
    await must(`--dashboard=${follower.admin}`, `--ca-file=${certs.caFile}`, "--create-group", "--gid=1");
    redis = await startRedis();
    await must(
      `--dashboard=${leader.admin}`,
      `--ca-file=${certs.caFile}`,
      "--group-add",
      "--gid=1",
      `--addr=${redis.addr}`,
    );
    await must(
      `--dashboard=${leader.admin}`,
      `--ca-file=${certs.caFile}`,
      "--slots-assign",
      "--beg=0",
      "--end=1023",
      "--gid=1",
      "--confirm",
    );
    const groups = JSON.parse(await must(`--dashboard=${leader.admin}`, `--ca-file=${certs.caFile}`, "--list-group"));
    assert.equal(groups[0].servers[0].server, redis.addr);

    // A proxy with an HTTPS admin API follows the dashboard over HTTPS; the dashboard fills its slots over HTTPS.
    proxy = await startCodisProxy([`--dashboard=${leader.admin}`, "--product_name=atls", ...adminTlsFlags(certs)]);
    await until("proxy online with stats", 20_000, async () => {
      const st = (await g!.call(leader.admin, "GET", "/topom/stats")).json;
      const p = Object.values(st.proxy?.stats ?? {})[0] as { stats?: { online?: boolean } } | undefined;
      return p?.stats?.online ? p : undefined;
    });
    const res = await fetch(`https://127.0.0.1:${proxy.adminPort}/api/proxy/model`, { client });
    assert.equal((await res.json()).product_name, "atls");

    // The console serves HTTPS and reaches the dashboards over HTTPS.
    const fePort = freePort();
    fe = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        FE_CLI,
        `--listen=127.0.0.1:${fePort}`,
        `--dashboard=${g.nodes.map((d) => d.admin).join(",")}`,
        `--tls-cert-file=${certs.serverCertFile}`,
        `--tls-key-file=${certs.serverKeyFile}`,
        `--ca-file=${certs.caFile}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(fePort, 30_000);
    const list = await fetch(`https://127.0.0.1:${fePort}/list`, { client });
    assert.deepEqual(await list.json(), ["atls"]);
    const model = await fetch(`https://127.0.0.1:${fePort}/topom/model?forward=atls`, { client });
    assert.equal(model.status, 200);
    assert.equal((await model.json()).product_name, "atls");
  } finally {
    try {
      fe?.kill("SIGKILL");
      await fe?.status;
    } catch { /* gone */ }
    client.close();
    await proxy?.stop();
    await g?.stop();
    await redis?.stop();
    await certs.remove();
  }
});
