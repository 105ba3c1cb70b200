import assert from "node:assert/strict";
import {
  ConfigError,
  configToToml,
  defaultConfigToml,
  defaultProxyConfig,
  parseProxyArgs,
  parseProxyToml,
  PROXY_CONFIG_KEYS,
  proxyUsage,
} from "./config.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "../../util/duration.ts";

Deno.test("duration: units, compounds, zero, errors", () => {
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("100us"), 0.1);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration(0), 0);
  assert.throws(() => parseDuration("10"), /needs a unit/);
  assert.throws(() => parseDuration(10), /needs a unit/);
  assert.throws(() => parseDuration("5x"), /invalid duration/);
  assert.throws(() => parseDuration(""), /empty/);
  for (const s of ["5s", "30m", "1h30m", "250ms", "0", "1m15s", "20s"]) {
    assert.equal(formatDuration(parseDuration(s)), s);
  }
  assert.equal(formatDuration(75_000), "1m15s");
});

Deno.test("size: units, case, plain bytes, errors", () => {
  assert.equal(parseSize("128kb"), 131072);
  assert.equal(parseSize("1024mb"), 1024 ** 3);
  assert.equal(parseSize("1GB"), 1024 ** 3);
  assert.equal(parseSize("4096"), 4096);
  assert.equal(parseSize(4096), 4096);
  assert.equal(parseSize("1.5kb"), 1536);
  assert.throws(() => parseSize("12xb"), /invalid size/);
  assert.throws(() => parseSize(-1), /non-negative/);
  for (const s of ["128kb", "64kb", "512mb", "100b", "0", "1gb"]) assert.equal(formatSize(parseSize(s)), s);
});

Deno.test("config: Codis defaults and the new limit keys", () => {
  const c = defaultProxyConfig();
  assert.equal(c.product_name, "codis-demo");
  assert.equal(c.admin_addr, "0.0.0.0:11080");
  assert.equal(c.proxy_addr, "0.0.0.0:19000");
  assert.equal(c.proto_type, "tcp4");
  assert.equal(c.jodis_timeout, 20_000);
  assert.equal(c.proxy_max_clients, 1000);
  assert.equal(c.backend_ping_period, 5000);
  assert.equal(c.backend_recv_bufsize, 128 * 1024);
  assert.equal(c.backend_max_pipeline, 20480);
  assert.equal(c.backend_number_databases, 16);
  assert.equal(c.session_recv_timeout, 30 * 60_000);
  assert.equal(c.session_send_bufsize, 64 * 1024);
  assert.equal(c.session_max_pipeline, 10000);
  assert.equal(c.session_max_bulk_len, 512 * 1024 * 1024);
  assert.equal(c.session_max_args, 1024 * 1024);
  assert.equal(c.proxy_workers, 1);
  assert.equal(c.proxy_allow_flush, false);
  assert.equal(c.metrics_report_period, 1000);
  assert.ok(!("proxy_max_offheap_size" in c));
});

Deno.test("config: defaultConfigToml documents every key and parses back to the defaults", () => {
  const text = defaultConfigToml();
  for (const k of PROXY_CONFIG_KEYS) assert.match(text, new RegExp(`^# .+\\n${k} = `, "m"), k);
  assert.deepEqual(parseProxyToml(text), defaultProxyConfig());
  assert.deepEqual(parseProxyToml(configToToml(defaultProxyConfig())), defaultProxyConfig());
});

Deno.test("config: TOML file values, Go-only keys ignored, errors name the key", () => {
  const c = parseProxyToml(
    'product_name = "p1"\nbackend_ping_period = "10s"\nproxy_max_clients = 5\nproxy_max_offheap_size = "1024mb"\n' +
      'session_max_bulk_len = "1mb"\nbackend_primary_only = true\n',
  );
  assert.equal(c.product_name, "p1");
  assert.equal(c.backend_ping_period, 10_000);
  assert.equal(c.proxy_max_clients, 5);
  assert.equal(c.session_max_bulk_len, 1024 * 1024);
  assert.equal(c.backend_primary_only, true);
  const bad: [string, RegExp][] = [
    ['product_name = "-bad"', /product_name/],
    ['product_name = "a b"', /product_name/],
    ['backend_ping_period = "5 parsecs"', /backend_ping_period: invalid duration/],
    ["proxy_max_clients = -1", /proxy_max_clients: -1 is below the minimum 0/],
    ['proxy_max_clients = "many"', /proxy_max_clients: expected an integer/],
    ['proto_type = "udp"', /proto_type/],
    ['admin_addr = "nowhere"', /admin_addr/],
    ["session_break_on_failure = 1", /session_break_on_failure: expected true or false/],
    ["no_such_key = 1", /unknown config key "no_such_key"/],
    ['jodis_addr = "127.0.0.1:2181"', /jodis_name/],
    ["product_name = ", /TOML syntax error at line 1/],
  ];
  for (const [text, re] of bad) {
    try {
      parseProxyToml(text, "p.toml");
      assert.fail(`accepted: ${text}`);
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      const msg = e.message;
      assert.match(msg, re, text);
      assert.match(msg, /^p\.toml: /);
      assert.ok(!msg.includes("\n"), `one line: ${msg}`);
    }
  }
});

Deno.test("config: flags override the file; standalone and CLI-only flags", () => {
  const files: Record<string, string> = {
    "/cfg/proxy.toml": 'product_name = "from-file"\nproxy_addr = "127.0.0.1:1"\nsession_auth = "s"\n',
  };
  const read = (p: string) => {
    if (!(p in files)) throw new Error(`No such file: ${p}`);
    return files[p];
  };
  const a = parseProxyArgs([
    "--config=/cfg/proxy.toml",
    "--proxy_addr=127.0.0.1:19000",
    "--backend=127.0.0.1:6379",
    "--backend=localhost:6380",
    "--log-level=debug",
    "--session_recv_timeout=10s",
    "--backend_primary_only",
    "--jodis_compatible=false",
  ], read);
  assert.equal(a.configFile, "/cfg/proxy.toml");
  assert.equal(a.config.product_name, "from-file");
  assert.equal(a.config.session_auth, "s");
  assert.equal(a.config.proxy_addr, "127.0.0.1:19000");
  assert.equal(a.config.session_recv_timeout, 10_000);
  assert.equal(a.config.backend_primary_only, true);
  assert.equal(a.config.jodis_compatible, false);
  assert.deepEqual(a.backends, ["127.0.0.1:6379", "localhost:6380"]);
  assert.equal(a.dashboard, undefined);
  assert.deepEqual(parseProxyArgs(["--dashboard=127.0.0.1:18080,127.0.0.1:18081"], read).dashboard, [
    "127.0.0.1:18080",
    "127.0.0.1:18081",
  ]);
  assert.equal(parseProxyArgs(["--fillslots=/tmp/slots.json"], read).fillslots, "/tmp/slots.json");
  assert.equal(a.logLevel, "DEBUG");
  assert.equal(a.printDefault, false);

  const d = parseProxyArgs(["--default-config"], read);
  assert.equal(d.printDefault, true);
  assert.equal(d.printVersion, false);
  assert.equal(parseProxyArgs(["--version"], read).printVersion, true);
  assert.equal(parseProxyArgs(["-h"], read).help, true);
  assert.deepEqual(d.config, defaultProxyConfig());
  assert.deepEqual(d.backends, []);

  for (const k of PROXY_CONFIG_KEYS) {
    // every key is a flag: re-giving its default as --key=value is accepted
    const toml = defaultConfigToml().match(new RegExp(`^${k} = (.*)$`, "m"))![1];
    const v = toml.startsWith('"') ? JSON.parse(toml) : toml;
    assert.deepEqual(parseProxyArgs([`--${k}=${v}`], read).config, defaultProxyConfig(), k);
  }

  const bad: [string[], RegExp][] = [
    [["--nope=1"], /unknown flag --nope/],
    [["--product_name"], /--product_name needs a value/],
    [["--proxy_max_clients=x"], /proxy_max_clients/],
    [["--backend=localhost"], /--backend/],
    [["--dashboard="], /--dashboard/],
    [["--log-level=loud"], /--log-level/],
    [["--config=/missing.toml"], /cannot read config file \/missing\.toml/],
    [["positional"], /positional/i],
  ];
  for (const [args, re] of bad) assert.throws(() => parseProxyArgs(args, read), re, args.join(" "));
});

Deno.test("args: --zookeeper, --etcd, --filesystem with their auth flags; exactly one slot source", () => {
  const zk = parseProxyArgs(["--zookeeper=127.0.0.1:2181", "--zookeeper-auth=codis:secret", "--product_name=p1"]);
  assert.deepEqual(zk.coordinator, { name: "zookeeper", addr: "127.0.0.1:2181", auth: "codis:secret" });
  assert.equal(zk.config.product_name, "p1");
  assert.equal(zk.dashboard, undefined);
  const etcd = parseProxyArgs(["--etcd=127.0.0.1:2379,127.0.0.1:2380", "--etcd-auth=u:p"]);
  assert.deepEqual(etcd.coordinator, { name: "etcd", addr: "127.0.0.1:2379,127.0.0.1:2380", auth: "u:p" });
  assert.deepEqual(parseProxyArgs(["--etcd=127.0.0.1:2379"]).coordinator, { name: "etcd", addr: "127.0.0.1:2379" });
  assert.deepEqual(parseProxyArgs(["--filesystem=/var/codis"]).coordinator, { name: "filesystem", addr: "/var/codis" });
  assert.equal(parseProxyArgs([]).coordinator, undefined);

  const bad: [string[], RegExp][] = [
    [["--zookeeper=a:1", "--dashboard=127.0.0.1:18080"], /give only one of .* \(got --dashboard and --zookeeper\)/],
    [["--filesystem=/x", "--backend=127.0.0.1:6379"], /got --filesystem and --backend/],
    [["--etcd=a:1", "--zookeeper=b:2"], /give only one of/],
    [["--fillslots=/s.json", "--dashboard=127.0.0.1:1"], /give only one of/],
    [["--zookeeper-auth=u:p"], /--zookeeper-auth needs --zookeeper=ADDR/],
    [["--etcd=a:1", "--zookeeper-auth=u:p"], /--zookeeper-auth needs --zookeeper/],
    [["--etcd=a:1", "--etcd-auth=nocolon"], /invalid --etcd-auth: expected USER:PASSWORD/],
    [["--filesystem="], /invalid --filesystem: empty/],
    [["--zookeeper"], /--zookeeper needs a value/],
  ];
  for (const [args, re] of bad) assert.throws(() => parseProxyArgs(args), re, args.join(" "));
  // A malformed password is not echoed back.
  assert.throws(
    () => parseProxyArgs(["--etcd=a:1", "--etcd-auth=hunter2"]),
    (e: Error) => !e.message.includes("hunter2"),
  );
});

Deno.test("args: --ncpu sets proxy_workers unless --proxy_workers is given; --max-ncpu caps it", () => {
  const files: Record<string, string> = { "/p.toml": "proxy_workers = 3\n" };
  const read = (p: string) => files[p];
  assert.equal(parseProxyArgs([]).config.proxy_workers, 1);
  const a = parseProxyArgs(["--ncpu=4"]);
  assert.equal(a.config.proxy_workers, 4);
  assert.equal(a.ncpu, 4);
  assert.equal(parseProxyArgs(["--ncpu=8", "--max-ncpu=2"]).config.proxy_workers, 2);
  assert.equal(parseProxyArgs(["--ncpu=2", "--max-ncpu=8"]).config.proxy_workers, 2);
  assert.equal(parseProxyArgs(["--max-ncpu=8"]).config.proxy_workers, 1, "--max-ncpu alone changes nothing");
  assert.equal(parseProxyArgs(["--ncpu=4", "--proxy_workers=2"]).config.proxy_workers, 2, "--proxy_workers wins");
  assert.equal(parseProxyArgs(["--proxy_workers=2", "--ncpu=4"]).config.proxy_workers, 2, "in any order");
  assert.equal(parseProxyArgs(["--config=/p.toml"], read).config.proxy_workers, 3);
  assert.equal(parseProxyArgs(["--config=/p.toml", "--ncpu=2"], read).config.proxy_workers, 2, "flag over file");
  for (const v of ["0", "-1", "1.5", "x", "", "257"]) {
    assert.throws(() => parseProxyArgs([`--ncpu=${v}`]), /invalid --ncpu: .* is not a whole number from 1 to 256/, v);
  }
  assert.throws(() => parseProxyArgs(["--max-ncpu=0"]), /invalid --max-ncpu/);
});

Deno.test("args: --log, --pidfile, --ulimit, and the product/session auth key flags", () => {
  const a = parseProxyArgs([
    "--backend=127.0.0.1:6379",
    "--log=/var/log/codis-proxy.log",
    "--pidfile=/run/codis-proxy.pid",
    "--ulimit=65536",
    "--product_name=shop",
    "--product_auth=pa",
    "--session_auth=sa",
  ]);
  assert.equal(a.logFile, "/var/log/codis-proxy.log");
  assert.equal(a.pidFile, "/run/codis-proxy.pid");
  assert.equal(a.ulimit, 65536);
  assert.equal(a.config.product_name, "shop");
  assert.equal(a.config.product_auth, "pa");
  assert.equal(a.config.session_auth, "sa");
  const none = parseProxyArgs([]);
  assert.equal(none.logFile, undefined);
  assert.equal(none.pidFile, undefined);
  assert.equal(none.ulimit, undefined);
  assert.throws(() => parseProxyArgs(["--ulimit=lots"]), /invalid --ulimit/);
  assert.throws(() => parseProxyArgs(["--ulimit=0"]), /invalid --ulimit/);
  assert.throws(() => parseProxyArgs(["--log="]), /invalid --log: empty/);
  assert.throws(() => parseProxyArgs(["--pidfile"]), /--pidfile needs a value/);
  assert.throws(() => parseProxyArgs(["--product_name=a/b"]), /product_name/);

  const usage = proxyUsage();
  for (
    const flag of [
      "--zookeeper=ADDR",
      "--zookeeper-auth=",
      "--etcd=ADDR",
      "--etcd-auth=",
      "--filesystem=ROOT",
      "--ncpu=N",
      "--max-ncpu=MAX",
      "--log=FILE",
      "--pidfile=FILE",
      "--ulimit=N",
      "--product_name=NAME",
      "--product_auth=AUTH",
      "--session_auth=AUTH",
      "--dashboard=ADDR",
      "--fillslots=FILE",
      "--backend=HOST:PORT",
    ]
  ) assert.ok(usage.includes(flag), `usage names ${flag}`);
});
