import * as assert from "node:assert/strict";
import { ConfigError } from "./config_table.ts";
import { readSecretFile, resolveSecret, resolveSecrets, type SecretIo, secretSpec } from "./secrets.ts";
import { parseProxyArgs } from "../proxy/core/config.ts";
import { parseDashboardArgs } from "../topom/config.ts";
import { Args, parseAdminArgs } from "../admin/args.ts";
import { parseFeArgs } from "../fe/args.ts";

/** An in-memory environment and file system; `warnings` collects what would go to stderr. */
function fakeIo(env: Record<string, string>, files: Record<string, [string, number]> = {}) {
  const warnings: string[] = [];
  const io: SecretIo = {
    env: (n) => env[n],
    readFile: (p) => {
      if (!(p in files)) throw new Deno.errors.NotFound(`No such file or directory: ${p}`);
      return files[p][0];
    },
    mode: (p) => files[p][1],
    warn: (m) => warnings.push(m),
  };
  return { io, warnings };
}

const AUTH = secretSpec("product_auth");

Deno.test("secretSpec: file key and variable named after the key or flag", () => {
  assert.deepEqual(AUTH, { name: "product_auth", fileName: "product_auth_file", env: "CODIS_PRODUCT_AUTH" });
  assert.deepEqual(secretSpec("zookeeper-auth"), {
    name: "zookeeper-auth",
    fileName: "zookeeper-auth-file",
    env: "CODIS_ZOOKEEPER_AUTH",
  });
});

Deno.test("resolveSecret: flags, then the config file, then the environment; a value before a file", () => {
  const { io } = fakeIo({ CODIS_PRODUCT_AUTH: "from-env" }, {
    "/s/flag": ["from-flag-file\n", 0o600],
    "/s/conf": ["from-conf-file\r\n", 0o600],
  });
  const flags = { product_auth: "from-flag" };
  const conf = { product_auth: "from-conf" };
  assert.equal(resolveSecret(AUTH, [flags, conf], io), "from-flag");
  assert.equal(resolveSecret(AUTH, [{ product_auth_file: "/s/flag" }, conf], io), "from-flag-file");
  assert.equal(resolveSecret(AUTH, [{}, conf], io), "from-conf");
  assert.equal(resolveSecret(AUTH, [{}, { product_auth_file: "/s/conf" }], io), "from-conf-file");
  assert.equal(resolveSecret(AUTH, [{}, {}], io), "from-env");
  // The default config's `product_auth = ""` does not hide the environment.
  assert.equal(
    resolveSecret(AUTH, [{ product_auth: "" }, { product_auth: "", product_auth_file: "" }], io),
    "from-env",
  );
  assert.equal(resolveSecret(AUTH, [{}], fakeIo({}).io), undefined);
  assert.equal(resolveSecret(AUTH, [{}], fakeIo({ CODIS_PRODUCT_AUTH: "" }).io), undefined);
  assert.throws(
    () => resolveSecret(AUTH, [{ product_auth: "a", product_auth_file: "/s/flag" }], io),
    /give only one of product_auth and product_auth_file/,
  );
});

Deno.test("readSecretFile: one trailing newline dropped, empty or unreadable refused, loose modes warned of", () => {
  const { io, warnings } = fakeIo({}, {
    "/a": ["pw\n\n", 0o600],
    "/b": ["pw", 0o644],
    "/empty": ["\n", 0o600],
    "/spaces": [" pw \n", 0o400],
  });
  assert.equal(readSecretFile("/a", AUTH, io), "pw\n");
  assert.equal(readSecretFile("/spaces", AUTH, io), " pw ");
  assert.equal(warnings.length, 0);
  assert.equal(readSecretFile("/b", AUTH, io), "pw");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /product_auth_file \/b may be read by group or others \(mode 644\); chmod 600 it/);
  assert.ok(!warnings[0].includes('pw"'), "the warning does not show the value");
  assert.throws(() => readSecretFile("/empty", AUTH, io), /product_auth_file \/empty is empty/);
  assert.throws(
    () => readSecretFile("/none", AUTH, io),
    (e) => e instanceof ConfigError && /cannot read/.test(e.message),
  );
});

Deno.test("readSecretFile: a real file with mode 0600 and one with 0640", async () => {
  const dir = await Deno.makeTempDir({ prefix: "codis-secrets-" });
  const warnings: string[] = [];
  const io: SecretIo = {
    env: () => undefined,
    readFile: (p) => Deno.readTextFileSync(p),
    mode: (p) => Deno.statSync(p).mode,
    warn: (m) => warnings.push(m),
  };
  try {
    await Deno.writeTextFile(`${dir}/tight`, "s3cret\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/loose`, "s3cret\n");
    await Deno.chmod(`${dir}/loose`, 0o640);
    assert.equal(readSecretFile(`${dir}/tight`, AUTH, io), "s3cret");
    assert.equal(warnings.length, 0);
    assert.equal(readSecretFile(`${dir}/loose`, AUTH, io), "s3cret");
    assert.equal(warnings.length, 1);
    assert.ok(!warnings[0].includes("s3cret"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveSecrets: only the secrets found", () => {
  const { io } = fakeIo({ CODIS_CLUSTER_SECRET: "cs" });
  assert.deepEqual(resolveSecrets([AUTH, secretSpec("cluster_secret")], [{}], io), { cluster_secret: "cs" });
});

Deno.test("codis-proxy flags: secrets from *_file flags, the config file's *_file keys and CODIS_* variables", () => {
  const env = {
    CODIS_SESSION_AUTH: "sa-env",
    CODIS_PRODUCT_AUTH: "pa-env",
    CODIS_ZOOKEEPER_AUTH: "u:zk",
    CODIS_METRICS_REPORT_INFLUXDB_PASSWORD: "influx-env",
  };
  const { io } = fakeIo(env, {
    "/run/pa": ["pa-file\n", 0o600],
    "/run/ja": ["u:ja\n", 0o600],
  });
  const conf = 'product_auth = ""\njodis_auth_file = "/run/ja"\n';
  const readConf = (p: string) => p === "/etc/proxy.toml" ? conf : Deno.readTextFileSync(p);
  const a = parseProxyArgs(["--config=/etc/proxy.toml", "--product_auth_file=/run/pa", "--backend=h:1"], readConf, io);
  assert.equal(a.config.product_auth, "pa-file");
  assert.equal(a.config.session_auth, "sa-env");
  assert.equal(a.config.jodis_auth, "u:ja");
  assert.equal(a.config.metrics_report_influxdb_password, "influx-env");
  const b = parseProxyArgs(["--product_auth=pa-flag", "--zookeeper=127.0.0.1:2181"], readConf, io);
  assert.equal(b.config.product_auth, "pa-flag");
  assert.deepEqual(b.coordinator, { name: "zookeeper", addr: "127.0.0.1:2181", auth: "u:zk" });
  // The variable is only read with --zookeeper; the file flag alone is an error, as --zookeeper-auth alone is.
  assert.equal(parseProxyArgs(["--backend=h:1"], readConf, io).coordinator, undefined);
  assert.throws(() => parseProxyArgs(["--zookeeper-auth-file=/run/ja"], readConf, io), /needs --zookeeper=ADDR/);
  assert.throws(() => parseProxyArgs(["--etcd=h:1", "--etcd-auth-file=/run/pa"], readConf, io), /USER:PASSWORD/);
});

Deno.test("codis-dashboard flags: product_auth, cluster_secret and coordinator_auth from files or the environment", () => {
  const { io } = fakeIo({ CODIS_CLUSTER_SECRET: "cs-env", CODIS_COORDINATOR_AUTH: "u:p" }, {
    "/run/pa": ["pa-file\n", 0o600],
  });
  const a = parseDashboardArgs(["--product_auth_file=/run/pa"], undefined, io);
  assert.equal(a.config.product_auth, "pa-file");
  assert.equal(a.config.cluster_secret, "cs-env");
  assert.equal(a.config.coordinator_auth, "u:p");
  const conf = 'cluster_secret = "cs-conf"\n';
  const b = parseDashboardArgs(["--config=/d.toml"], () => conf, io);
  assert.equal(b.config.cluster_secret, "cs-conf");
  const c = parseDashboardArgs(["--config=/d.toml", "--cluster_secret=cs-flag"], () => conf, io);
  assert.equal(c.config.cluster_secret, "cs-flag");
});

Deno.test("codis-admin and codis-fe: --auth-file, --cluster-secret-file and CODIS_* variables", () => {
  const { io } = fakeIo({ CODIS_PRODUCT_AUTH: "pa-env", CODIS_ETCD_AUTH: "u:etcd" }, {
    "/run/cs": ["cs-file\n", 0o600],
  });
  const a = parseAdminArgs(["--dashboard=h:1", "--cluster-secret-file=/run/cs", "--list-group"]);
  const withIo = new Args(a.values, a.positionals, io);
  assert.equal(withIo.secret("auth"), "pa-env");
  assert.equal(withIo.secret("cluster-secret"), "cs-file");
  assert.equal(withIo.secret("etcd-auth"), "u:etcd");
  const fe = parseFeArgs(["--etcd=127.0.0.1:2379"], io);
  assert.ok(fe !== "help");
  assert.deepEqual(fe.discovery, { kind: "store", name: "etcd", addr: "127.0.0.1:2379", auth: "u:etcd" });
  assert.throws(() => parseFeArgs(["--dashboard=h:1", "--etcd-auth-file=/run/cs"], io), /needs --etcd/);
});
