/**
 * Throw-away TLS material for tests, made with `openssl` at run time in a temp dir: a CA, a server certificate for
 * 127.0.0.1 and localhost (usable as a client certificate too, as Redis uses it for replication), and a client
 * certificate. Nothing here is committed; {@link TestCerts.remove} deletes it all.
 * @module
 */

/** Paths of the generated files (PEM) and their contents. */
export interface TestCerts {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The CA certificate's PEM text. */
  ca: string;
  /** A second CA, unrelated to the first, for tests of a certificate that must not be trusted. */
  otherCaFile: string;
  /** Removes the directory and everything in it. */
  remove(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/**
 * Issues `{name}.key` and `{name}.crt` in `dir` on a new P-256 key, valid two days: for `role` "ca" a self-signed CA;
 * for "leaf" a certificate signed by `ca.crt` with the X.509 extensions `ext` (subjectAltName, extendedKeyUsage...).
 */
async function issue(dir: string, name: string, role: "ca" | "leaf", ext = ""): Promise<void> {
  const newKey = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-subj",
    `/CN=${name}`,
  ];
  const days = ["-days", "2"];
  if (role === "ca") {
    const caExt = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
    return await openssl(dir, "req", "-x509", ...newKey, "-out", `${name}.crt`, ...days, ...caExt);
  }
  await openssl(dir, "req", ...newKey, "-out", `${name}.csr`);
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  const signed = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", `${name}.ext`];
  await openssl(dir, "x509", "-req", "-in", `${name}.csr`, ...signed, "-out", `${name}.crt`, ...days);
}

/** Makes a CA, a server and a client certificate in a new temp dir. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "codis-tls-" });
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    await issue(dir, "ca", "ca");
    await issue(dir, "other-ca", "ca");
    await issue(
      dir,
      "server",
      "leaf",
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
        "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    );
    await issue(
      dir,
      "client",
      "leaf",
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    );
  } catch (e) {
    await remove();
    throw e;
  }
  return {
    dir,
    caFile: `${dir}/ca.crt`,
    serverCertFile: `${dir}/server.crt`,
    serverKeyFile: `${dir}/server.key`,
    clientCertFile: `${dir}/client.crt`,
    clientKeyFile: `${dir}/client.key`,
    ca: await Deno.readTextFile(`${dir}/ca.crt`),
    otherCaFile: `${dir}/other-ca.crt`,
    remove,
  };
}

/**
 * redis-server arguments that open a TLS port `port` with the test certificates, beside whatever plain port the
 * server has. Clients must present a certificate unless `authClients` is false.
 */
export function tlsPortArgs(certs: TestCerts, port: number, authClients = true): string[] {
  return [
    "--tls-port",
    String(port),
    "--tls-cert-file",
    certs.serverCertFile,
    "--tls-key-file",
    certs.serverKeyFile,
    "--tls-ca-cert-file",
    certs.caFile,
    "--tls-auth-clients",
    authClients ? "yes" : "no",
  ];
}

/**
 * redis-server arguments for a TLS-only server on `port` (plain port off) with the test certificates. Clients must
 * present a certificate unless `authClients` is false. Replication between such servers needs tls-replication, and
 * MIGRATE needs tls-cluster: Redis 7.0 picks MIGRATE's connection type by tls-cluster, even outside cluster mode.
 */
export function tlsRedisArgs(certs: TestCerts, port: number, authClients = true): string[] {
  return ["--port", "0", ...tlsPortArgs(certs, port, authClients), "--tls-replication", "yes", "--tls-cluster", "yes"];
}

/** `redis-cli` arguments that reach a TLS server or proxy with the test CA (and client certificate). */
export function tlsCliArgs(certs: TestCerts, withClientCert = true): string[] {
  const args = ["--tls", "--cacert", certs.caFile];
  if (withClientCert) args.push("--cert", certs.clientCertFile, "--key", certs.clientKeyFile);
  return args;
}

/**
 * sentinel.conf lines for a TLS-only sentinel on `port`: clients (the dashboard) need a certificate, and it reaches
 * the masters and replicas it monitors over TLS with its own.
 */
export function tlsSentinelConf(certs: TestCerts, port: number): string {
  return [
    "port 0",
    `tls-port ${port}`,
    `tls-cert-file ${certs.serverCertFile}`,
    `tls-key-file ${certs.serverKeyFile}`,
    `tls-ca-cert-file ${certs.caFile}`,
    "tls-auth-clients yes",
    "tls-replication yes",
    "",
  ].join("\n");
}
