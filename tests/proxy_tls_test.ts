import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { startRedis } from "../testing/redis.ts";
import { makeTestCerts, type TestCerts, tlsCliArgs } from "../testing/tls_certs.ts";

const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;

function tlsProxyArgs(certs: TestCerts): string[] {
  return [
    `--proxy_tls_cert_file=${certs.serverCertFile}`,
    `--proxy_tls_key_file=${certs.serverKeyFile}`,
    `--admin_tls_cert_file=${certs.serverCertFile}`,
    `--admin_tls_key_file=${certs.serverKeyFile}`,
    "--product_name=tls",
  ];
}

async function cli(port: number, args: string[]): Promise<{ out: string; err: string; ok: boolean }> {
  const r = await new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { out: dec.decode(r.stdout).trim(), err: dec.decode(r.stderr).trim(), ok: r.success };
}

Deno.test("proxy over TLS: redis-cli --tls, ioredis and node-redis are served; plain and untrusted clients are not", async () => {
  const certs = await makeTestCerts();
  const backend = await startRedis();
  let stop = async () => {};
  let io: Redis | undefined;
  let nr: ReturnType<typeof createClient> | undefined;
  let stalled: Deno.Conn | undefined;
  try {
    const p = await startCodisProxy([`--backend=${backend.addr}`, ...tlsProxyArgs(certs)]);
    stop = p.stop;
    // A connection that never starts its handshake holds up nobody else's.
    stalled = await Deno.connect({ hostname: "127.0.0.1", port: p.port });

    const set = await cli(p.port, [...tlsCliArgs(certs, false), "SET", "tls:cli", "v1"]);
    assert.equal(set.out, "OK", set.err);
    assert.equal((await cli(p.port, [...tlsCliArgs(certs, false), "GET", "tls:cli"])).out, "v1");

    io = new Redis({ host: "127.0.0.1", port: p.port, tls: { ca: [certs.ca] }, maxRetriesPerRequest: 0 });
    assert.equal(await io.set("tls:io", "v2"), "OK");
    assert.equal(await io.get("tls:cli"), "v1");
    const big = "x".repeat(1 << 20);
    assert.equal(await io.set("tls:big", big), "OK");
    assert.equal((await io.get("tls:big"))?.length, big.length, "a 1 MiB value crosses TLS records intact");

    nr = createClient({ socket: { host: "127.0.0.1", port: p.port, tls: true, ca: [certs.ca] } });
    await nr.connect();
    assert.equal(await nr.get("tls:io"), "v2");
    assert.equal(await nr.sendCommand(["PING"]), "PONG");

    // A plain-TCP client gets no RESP answer: the proxy reads its bytes as a bad TLS hello and closes.
    const plain = await Deno.connect({ hostname: "127.0.0.1", port: p.port });
    try {
      await plain.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(64);
      const n = await plain.read(buf).catch(() => null);
      assert.ok(n === null || !new TextDecoder().decode(buf.subarray(0, n)).includes("PONG"));
    } finally {
      plain.close();
    }

    // A client that trusts another CA refuses the proxy's certificate.
    const untrusted = await cli(p.port, ["--tls", "--cacert", certs.otherCaFile, "PING"]);
    assert.doesNotMatch(untrusted.out, /PONG/);
    assert.match(untrusted.out + untrusted.err, /certificate|SSL|TLS/i);

    // The admin API is HTTPS, verified against the test CA; plain HTTP gets nothing.
    const client = Deno.createHttpClient({ caCerts: [certs.ca] });
    try {
      const res = await fetch(`https://127.0.0.1:${p.adminPort}/api/proxy/model`, { client });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).product_name, "tls");
    } finally {
      client.close();
    }
    await assert.rejects(fetch(`http://127.0.0.1:${p.adminPort}/api/proxy/model`));
  } finally {
    io?.disconnect();
    stalled?.close();
    if (nr?.isOpen) await nr.disconnect();
    await stop();
    await backend.stop();
    await certs.remove();
  }
});

Deno.test("proxy over TLS in worker mode: every thread serves TLS clients", async () => {
  const certs = await makeTestCerts();
  const backend = await startRedis();
  let stop = async () => {};
  const clients: Redis[] = [];
  try {
    const p = await startCodisProxy([`--backend=${backend.addr}`, "--proxy_workers=2", ...tlsProxyArgs(certs)]);
    stop = p.stop;
    for (let i = 0; i < 12; i++) {
      clients.push(new Redis({ host: "127.0.0.1", port: p.port, tls: { ca: [certs.ca] }, maxRetriesPerRequest: 0 }));
    }
    const ids = await Promise.all(clients.map((c) => c.call("CLIENT", "ID") as Promise<number>));
    assert.equal(new Set(ids.map((id) => id % 2)).size, 2, `12 TLS connections all landed on one thread: ${ids}`);
    for (const [i, c] of clients.entries()) assert.equal(await c.set(`tls:w${i}`, "v"), "OK");
  } finally {
    for (const c of clients) c.disconnect();
    await stop();
    await backend.stop();
    await certs.remove();
  }
});

Deno.test("proxy TLS keys: a certificate without its key, or TLS on a unix socket, stops the proxy naming the key", async () => {
  const certs = await makeTestCerts();
  try {
    const run = async (...args: string[]) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", PROXY_CLI, "--backend=127.0.0.1:1", "--admin_addr=127.0.0.1:0", ...args],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      return { code: r.code, err: new TextDecoder().decode(r.stderr) };
    };
    const noKey = await run(`--proxy_tls_cert_file=${certs.serverCertFile}`, "--proxy_addr=127.0.0.1:0");
    assert.notEqual(noKey.code, 0);
    assert.match(noKey.err, /proxy_tls_key_file/);
    const unix = await run(
      `--proxy_tls_cert_file=${certs.serverCertFile}`,
      `--proxy_tls_key_file=${certs.serverKeyFile}`,
      "--proto_type=unix",
      `--proxy_addr=${certs.dir}/proxy.sock`,
    );
    assert.notEqual(unix.code, 0);
    assert.match(unix.err, /proxy_tls_cert_file needs a TCP listener/);
    const notPem = await run(`--backend_tls=true`, `--backend_tls_ca_file=${certs.dir}/server.ext`);
    assert.notEqual(notPem.code, 0);
    assert.match(notPem.err, /backend_tls_ca_file: .* holds no PEM certificate/);
  } finally {
    await certs.remove();
  }
});

Deno.test("proxy with mutual TLS: only clients with a certificate from proxy_tls_client_ca_file are served, on every thread", async () => {
  const certs = await makeTestCerts();
  const backend = await startRedis();
  let stop = async () => {};
  const clients: Redis[] = [];
  try {
    const p = await startCodisProxy([
      `--backend=${backend.addr}`,
      "--proxy_workers=2",
      ...tlsProxyArgs(certs),
      `--proxy_tls_client_ca_file=${certs.caFile}`,
    ]);
    stop = p.stop;
    const withCert = await cli(p.port, [...tlsCliArgs(certs, true), "SET", "mtls:k", "v"]);
    assert.equal(withCert.out, "OK", withCert.err);

    const noCert = await cli(p.port, [...tlsCliArgs(certs, false), "GET", "mtls:k"]);
    assert.notEqual(noCert.out, "v", "a client without a certificate must not be served");
    // A certificate that does not chain to the client CA (the other CA's own) is refused as well.
    const foreign = await cli(p.port, [
      "--tls",
      "--cacert",
      certs.caFile,
      "--cert",
      certs.otherCaFile,
      "--key",
      certs.otherCaFile.replace(/\.crt$/, ".key"),
      "GET",
      "mtls:k",
    ]);
    assert.notEqual(foreign.out, "v", "a certificate from another CA must not be accepted");

    const tlsOpts = {
      ca: [certs.ca],
      cert: await Deno.readTextFile(certs.clientCertFile),
      key: await Deno.readTextFile(certs.clientKeyFile),
    };
    for (let i = 0; i < 12; i++) {
      clients.push(new Redis({ host: "127.0.0.1", port: p.port, tls: tlsOpts, maxRetriesPerRequest: 0 }));
    }
    const ids = await Promise.all(clients.map((c) => c.call("CLIENT", "ID") as Promise<number>));
    assert.equal(new Set(ids.map((id) => id % 2)).size, 2, `12 connections all landed on one thread: ${ids}`);
    assert.equal(await clients[0].get("mtls:k"), "v");
    const big = "y".repeat(3 << 20);
    assert.equal(await clients[1].set("mtls:big", big), "OK");
    assert.equal((await clients[2].get("mtls:big"))?.length, big.length, "a 3 MiB value crosses intact both ways");
    const pipe = clients[3].pipeline();
    for (let i = 0; i < 2000; i++) pipe.incr("mtls:n");
    const res = await pipe.exec();
    assert.equal(res?.at(-1)?.[1], 2000, "a deep pipeline is answered in order");
  } finally {
    for (const c of clients) c.disconnect();
    await stop();
    await backend.stop();
    await certs.remove();
  }
});
