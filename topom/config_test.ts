import assert from "node:assert/strict";
import {
  ConfigError,
  configJson,
  configToToml,
  coordinatorKind,
  DASHBOARD_CONFIG_KEYS,
  defaultConfigToml,
  defaultDashboardConfig,
  defaultDataDir,
  parseDashboardArgs,
  parseDashboardToml,
  parseRaftPeers,
  raftPeers,
} from "./config.ts";

Deno.test("dashboard config: Codis's defaults plus raft", () => {
  const c = defaultDashboardConfig();
  assert.equal(c.coordinator_name, "raft");
  assert.equal(c.coordinator_addr, "/tmp/codis");
  assert.equal(c.product_name, "codis-demo");
  assert.equal(c.product_auth, "");
  assert.equal(c.admin_addr, "0.0.0.0:18080");
  assert.equal(c.migration_method, "semi-async");
  assert.equal(c.migration_parallel_slots, 100);
  assert.equal(c.migration_async_maxbulks, 200);
  assert.equal(c.migration_async_maxbytes, 32 * 1024 * 1024);
  assert.equal(c.migration_async_numkeys, 1000);
  assert.equal(c.migration_timeout, 30_000);
  assert.equal(c.sentinel_client_timeout, 10_000);
  assert.equal(c.sentinel_quorum, 2);
  assert.equal(c.sentinel_parallel_syncs, 1);
  assert.equal(c.sentinel_down_after, 30_000);
  assert.equal(c.sentinel_failover_timeout, 300_000);
  assert.equal(c.raft_id, 1);
  assert.equal(c.raft_addr, "127.0.0.1:28080");
  assert.equal(c.raft_peers, "");
  assert.equal(c.data_dir, defaultDataDir("codis-demo", 1));
  assert.ok(!c.data_dir.startsWith("/tmp/"), c.data_dir);
  assert.equal(c.cluster_secret, "");
  assert.deepEqual(raftPeers(c), [{ id: 1, addr: "127.0.0.1:28080" }]);
  assert.equal(coordinatorKind(c), "raft");
});

Deno.test("dashboard config: --default-config text parses back to the defaults and names every key", () => {
  const text = defaultConfigToml();
  assert.deepEqual(parseDashboardToml(text), defaultDashboardConfig());
  for (const k of DASHBOARD_CONFIG_KEYS) assert.match(text, new RegExp(`^${k} = `, "m"));
  const c = parseDashboardToml('product_name = "x"\nmigration_timeout = "2s"\nmigration_async_maxbytes = "1mb"\n');
  assert.deepEqual(parseDashboardToml(configToToml(c)), c);
});

Deno.test("dashboard config: raft_peers parsing", () => {
  assert.deepEqual(parseRaftPeers("2=127.0.0.1:28081, 1=127.0.0.1:28080,3=[::1]:28082"), [
    { id: 1, addr: "127.0.0.1:28080" },
    { id: 2, addr: "127.0.0.1:28081" },
    { id: 3, addr: "[::1]:28082" },
  ]);
  assert.deepEqual(parseRaftPeers(""), []);
  assert.throws(() => parseRaftPeers("1=a:1,1=b:2"), /peer id 1 appears twice/);
  assert.throws(() => parseRaftPeers("1=a:1,2=a:1"), /peer address a:1 appears twice/);
  assert.throws(() => parseRaftPeers("x=a:1"), /peer "x=a:1" is not ID=HOST:PORT/);
  assert.throws(() => parseRaftPeers("0=a:1"), /id must be a positive integer/);
  assert.throws(() => parseRaftPeers("1=a"), /"a" is not a HOST:PORT address/);
  assert.throws(() => parseRaftPeers("1=:80"), /is not a HOST:PORT/);
});

Deno.test("dashboard config: bad values name the key", () => {
  const bad: [string, RegExp][] = [
    ['coordinator_name = "consul"', /coordinator_name: "consul" is not one of raft/],
    ['migration_method = "async"', /migration_method: "async" is not sync or semi-async/],
    ["migration_parallel_slots = 0", /migration_parallel_slots: 0 is below the minimum 1/],
    ['migration_timeout = "0"', /migration_timeout: "0" must be positive/],
    ['migration_timeout = "soon"', /migration_timeout: invalid duration/],
    ['migration_async_maxbytes = "lots"', /migration_async_maxbytes: invalid size/],
    ['admin_addr = "nowhere"', /admin_addr: "nowhere" is not a HOST:PORT/],
    ['raft_advertise = "nowhere"', /raft_advertise: "nowhere" is not a HOST:PORT/],
    ['product_name = "a b"', /product_name/],
    ['raft_peers = "1=a:1,2=b:2"\nraft_id = 3', /raft_id: 3 is not among raft_peers ids/],
    ['raft_peers = "1=a"', /raft_peers: peer "1=a"/],
    ["raft_id = 0", /raft_id: 0 is below the minimum 1/],
    ['coordinator_name = "etcd"\ncoordinator_addr = ""', /coordinator_addr: must not be empty/],
    ["no_such_key = 1", /unknown config key "no_such_key"/],
    ["sentinel_quorum = 1.5", /sentinel_quorum: expected an integer/],
    ["product_name = ", /TOML syntax error at line 1/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseDashboardToml(text, "d.toml"), (e: Error) => {
      assert.ok(e instanceof ConfigError, text);
      assert.match(e.message, /^d\.toml: /);
      assert.match(e.message, re, text);
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    });
  }
});

Deno.test("dashboard config: flags override the file; no file is needed", () => {
  const files: Record<string, string> = {
    "/d.toml": 'product_name = "from-file"\nraft_id = 1\nraft_peers = "1=127.0.0.1:1,2=127.0.0.1:2"\n',
  };
  const read = (p: string) => {
    if (!(p in files)) throw new Error(`No such file: ${p}`);
    return files[p];
  };
  const a = parseDashboardArgs(["--config=/d.toml", "--raft_id=2", "--migration_timeout=5s"], read);
  assert.equal(a.configFile, "/d.toml");
  assert.equal(a.config.product_name, "from-file");
  assert.equal(a.config.raft_id, 2);
  assert.equal(a.config.migration_timeout, 5000);
  assert.equal(a.config.raft_advertise, "");
  assert.equal(parseDashboardArgs(["--raft_advertise=10.0.0.9:28080"], read).config.raft_advertise, "10.0.0.9:28080");
  assert.equal(a.config.data_dir, defaultDataDir("from-file", 2));
  assert.deepEqual(raftPeers(a.config).map((p) => p.id), [1, 2]);

  const b = parseDashboardArgs(["--product_name=p", "--admin_addr=127.0.0.1:18081", "--data_dir=/var/d"], read);
  assert.equal(b.configFile, undefined);
  assert.equal(b.config.admin_addr, "127.0.0.1:18081");
  assert.equal(b.config.data_dir, "/var/d");

  const c = parseDashboardArgs(["--default-config"], read);
  assert.ok(c.printDefault);
  const z = parseDashboardArgs(
    ["--zookeeper=127.0.0.1:2181", "--log-level=warn", "--pidfile=/p", "--host-admin=h:1", "--remove-lock"],
    read,
  );
  assert.deepEqual([z.config.coordinator_name, z.config.coordinator_addr], ["zookeeper", "127.0.0.1:2181"]);
  assert.equal(coordinatorKind(z.config), "zookeeper");
  assert.deepEqual([z.logLevel, z.pidFile, z.hostAdmin, z.removeLock], ["WARN", "/p", "h:1", true]);
  assert.equal(coordinatorKind(parseDashboardArgs(["--filesystem=/tmp/x"], read).config), "fs");

  assert.throws(() => parseDashboardArgs(["--config=/missing.toml"], read), /cannot read config file \/missing\.toml/);
  assert.throws(() => parseDashboardArgs(["--bogus=1"], read), ConfigError);
  assert.throws(() => parseDashboardArgs(["--raft_id=x"], read), /raft_id: expected an integer/);
  assert.throws(() => parseDashboardArgs(["--etcd=a:1", "--zookeeper=b:2"], read), /only one of/);
  assert.throws(() => parseDashboardArgs(["--log-level=loud"], read), /invalid --log-level/);
  assert.throws(() => parseDashboardArgs(["--config=/d.toml", "--raft_id=7"], read), /raft_id: 7 is not among/);
});

Deno.test("dashboard config: overview JSON hides secrets and prints units", () => {
  const c = parseDashboardToml('product_auth = "pw"\ncluster_secret = "s"\ncoordinator_auth = "u:p"\n');
  const j = configJson(c);
  assert.equal(j.product_auth, undefined);
  assert.equal(j.cluster_secret, undefined);
  assert.equal(j.coordinator_auth, undefined);
  assert.equal(j.migration_timeout, "30s");
  assert.equal(j.migration_async_maxbytes, "32mb");
  assert.equal(j.sentinel_failover_timeout, "5m");
  assert.equal(j.migration_parallel_slots, 100);
});
