/**
 * codis-proxy: `deno run -A cli/codis-proxy.ts [--config=proxy.toml] [--backend=HOST:PORT ...] [--<key>=<value>]`.
 *
 * Standalone mode (`--backend`, repeatable, or `--fillslots=FILE`) needs no dashboard: group i is served by the i-th
 * backend, and the 1024 slots are spread over the groups in even contiguous ranges. `--dashboard=ADDR` follows a
 * dashboard; `--zookeeper`, `--etcd` and `--filesystem` find it in the coordinator first, as Codis does.
 * @module
 */
import { evenSlotRanges, type Slot } from "../models/slots.ts";
import { startMetricsReporters } from "../proxy/admin/report.ts";
import { parseSlots } from "../proxy/admin/schemas.ts";
import { startAdminServer } from "../proxy/admin/server.ts";
import { checkBackend } from "../proxy/backend/check.ts";
import { CommandTable } from "../proxy/commands/mod.ts";
import {
  ConfigError,
  configToJSON,
  defaultConfigToml,
  parseProxyArgs,
  type ProxyArgs,
  proxyUsage,
} from "../proxy/core/config.ts";
import { findDashboard } from "../proxy/coord_dashboard.ts";
import { DashboardClient } from "../proxy/dashboard_client.ts";
import { Proxy } from "../proxy/proxy.ts";
import { splitHostPort } from "../proxy/listen.ts";
import { ProxyWorkers, WorkerModeProxy } from "../proxy/worker/group.ts";
import { JodisRegistrar } from "../proxy/jodis.ts";
import { logger, setLogLevel } from "../util/log.ts";
import { type LogFile, logToFile } from "../util/log_file.ts";
import { writePidFile } from "../util/pidfile.ts";
import { productAuthCheck } from "../util/secure_defaults.ts";
import { openFilesLimit, ulimitProblem } from "../util/ulimit.ts";
import { loadProxyTls, type ProxyTls } from "../proxy/tls_setup.ts";
import { configureRedisTls } from "../redis/dial.ts";
import { configureAdminCalls } from "../util/admin_calls.ts";

const log = logger("codis-proxy");
let logFile: LogFile | undefined;

function fail(msg: string): never {
  // With --log the reason belongs in the file too: that is where an operator of a service looks.
  if (logFile) log.error(msg);
  console.error(`codis-proxy: ${msg}`);
  Deno.exit(2);
}

/**
 * Codis's process flags: log file, open-files limit, pid file (before anything listens). Then, with a coordinator, the
 * dashboard's address from the product's topom node: returns the dashboard addresses to follow, if any.
 */
async function prepare(args: ProxyArgs): Promise<string[] | undefined> {
  if (args.logFile) {
    try {
      logFile = logToFile(args.logFile);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  if (args.ulimit !== undefined) {
    const problem = ulimitProblem(args.ulimit, openFilesLimit());
    if (problem) fail(problem);
  }
  if (args.pidFile) {
    try {
      writePidFile(args.pidFile);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  if (!args.coordinator) return args.dashboard;
  try {
    const addr = await findDashboard(args.coordinator, args.config.product_name);
    log.info(`dashboard of product ${args.config.product_name} is ${addr} (from ${args.coordinator.name})`);
    return [addr];
  } catch (e) {
    fail((e as Error).message);
  }
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseProxyArgs(Deno.args);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  if (args.help) {
    console.log(proxyUsage());
    return;
  }
  if (args.printDefault) {
    console.log(defaultConfigToml());
    return;
  }
  if (args.printVersion) {
    console.log("codis-proxy (codis-deno) 3.2-compatible");
    return;
  }
  if (args.logLevel && !setLogLevel(args.logLevel)) fail(`unknown log level '${args.logLevel}'`);
  const config = args.config;
  let tls: ProxyTls;
  try {
    tls = loadProxyTls(config);
  } catch (e) {
    fail((e as Error).message);
  }
  configureRedisTls(tls.backend);
  configureAdminCalls(tls.adminCalls);
  // Refused before anything listens: with an empty product_auth anyone could compute the admin xauth.
  const authCheck = productAuthCheck(config.admin_addr, config.product_auth);
  if (authCheck && "error" in authCheck) fail(authCheck.error);
  if (authCheck) log.warn(authCheck.warning);
  const dashboard = await prepare(args);
  log.info(`config ${JSON.stringify(configToJSON(config))}`);

  let slots: Slot[] = [];
  if (dashboard) {
    // The dashboard checked the servers when they were added; the model arrives by long-poll.
  } else if (args.fillslots) {
    try {
      slots = parseSlots(JSON.parse(await Deno.readTextFile(args.fillslots)));
    } catch (e) {
      fail(`cannot read --fillslots file ${args.fillslots}: ${(e as Error).message}`);
    }
  } else if (args.backends.length > 0) {
    slots = evenSlotRanges(args.backends);
  } else {
    fail(
      "nothing to serve: give --dashboard, --zookeeper, --etcd, --filesystem, --fillslots or --backend\n" +
        proxyUsage(),
    );
  }

  const addrs = [...new Set(slots.flatMap((s) => [s.backend_addr, s.migrate_from].filter((a): a is string => !!a)))];
  const results = await Promise.allSettled(addrs.map((a) => checkBackend(a, config.product_auth)));
  const errors = results.flatMap((r) => r.status === "rejected" ? [(r.reason as Error).message] : []);
  if (errors.length > 0) fail(`start-up failed:\n  ${errors.join("\n  ")}`);
  const facts = results.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  for (const f of facts) for (const w of f.warnings) log.warn(w);

  const commands = CommandTable.builtin();
  const threads = config.proxy_workers;
  // In worker mode each thread enforces its share of proxy_max_clients.
  const threadConfig = threads > 1 && config.proxy_max_clients > 0
    ? { ...config, proxy_max_clients: Math.ceil(config.proxy_max_clients / threads) }
    : config;
  const proxy = new Proxy(threadConfig, commands);
  const version = facts[0]?.version;
  if (version) proxy.setVersion(version);
  await proxy.fillSlots(slots);
  let bound: { host: string; port: number };
  try {
    bound = await proxy.listen();
  } catch (e) {
    fail(`cannot listen on ${config.proxy_addr}: ${(e as Error).message}`);
  }
  if (args.hostProxy) {
    try {
      proxy.advertiseProxyAddr(args.hostProxy);
    } catch (e) {
      fail(`--host-proxy: ${(e as Error).message}`);
    }
  }
  let ctl: Proxy | WorkerModeProxy = proxy;
  if (threads > 1) {
    proxy.setSessionIds(1, threads);
    const workerConfig = { ...threadConfig, proxy_addr: `${splitHostPort(config.proxy_addr).host}:${bound.port}` };
    try {
      const workers = await ProxyWorkers.start(workerConfig, threads - 1, {
        slots: dashboard ? [] : slots,
        version: version ?? "7.0.0",
        online: false,
        threads,
        logLevel: args.logLevel,
        logFile: args.logFile,
      }, (msg) => {
        console.error(`codis-proxy: ${msg}; exiting`);
        Deno.exit(1);
      });
      ctl = new WorkerModeProxy(config, proxy, workers);
    } catch (e) {
      await proxy.shutdown();
      fail(`cannot start ${threads - 1} proxy worker(s): ${(e as Error).message}`);
    }
    log.info(`worker mode: ${threads} threads share ${config.proxy_addr} (SO_REUSEPORT)`);
  }
  // Standalone: online before the admin port opens, so whoever waits for that port finds the proxy serving.
  if (!dashboard) await ctl.start();
  const admin = splitHostPort(config.admin_addr);
  const abort = new AbortController();
  const server = startAdminServer(ctl, {
    hostname: admin.host || "0.0.0.0",
    port: admin.port,
    signal: abort.signal,
    tls: tls.admin,
  });
  const anyHost = admin.host === "" || admin.host === "0.0.0.0" || admin.host === "::";
  // What the dashboard and Jodis clients are told: the host's name when the admin port is on every interface.
  const adminAddr = args.hostAdmin ?? `${anyHost ? Deno.hostname() : admin.host}:${server.addr.port}`;
  proxy.setAdminAddr(adminAddr);
  if (dashboard) {
    const advertised = adminAddr;
    const coordinator = args.coordinator;
    const follower = new DashboardClient(ctl, {
      addrs: dashboard,
      productName: config.product_name,
      productAuth: config.product_auth,
      adminAddr: advertised,
      leaseMs: config.dashboard_lease_timeout,
      // With a coordinator, a dashboard that took over after a failover is found again in its topom node.
      resolveAddrs: coordinator
        ? async () => [await findDashboard(coordinator, config.product_name, { attempts: 1 })]
        : undefined,
    });
    proxy.dashboard = follower;
    proxy.onShutdown(() => void follower.stop());
    try {
      await follower.start();
    } catch (e) {
      await ctl.shutdown();
      fail((e as Error).message);
    }
  }
  const reporters = startMetricsReporters(ctl);
  let jodis: JodisRegistrar | null = null;
  if (config.jodis_addr !== "") {
    const m = proxy.model();
    jodis = new JodisRegistrar({
      name: config.jodis_name,
      addr: config.jodis_addr,
      auth: config.jodis_auth || undefined,
      timeoutMs: config.jodis_timeout,
      compatible: config.jodis_compatible,
      product: config.product_name,
    }, { addr: m.proxy_addr, admin: m.admin_addr, start: m.start_time, token: m.token });
    proxy.jodisPath = jodis.path;
    await jodis.start();
  }
  const stop = async (why: string) => {
    log.info(`shutting down (${why})`);
    reporters.stop();
    await jodis?.stop();
    await ctl.shutdown();
  };
  proxy.onShutdown(() => abort.abort());
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => void stop(sig));
  const mode = dashboard ? `dashboard ${dashboard.join(",")}` : `standalone, ${addrs.length} backend(s)`;
  log.info(
    `proxy started: ${config.proxy_addr} (port ${bound.port}), admin ${adminAddr}, product ${config.product_name}, ` +
      `${mode}, ${threads} thread(s)`,
  );
  console.log(
    `codis-proxy ready: redis-cli ${
      config.proto_type === "unix" ? `-s ${config.proxy_addr}` : `-h ${bound.host} -p ${bound.port}`
    }${tls.clients ? " --tls" : ""} | admin ${tls.admin ? "https" : "http"}://${
      admin.host || "0.0.0.0"
    }:${server.addr.port}/proxy | ${addrs.length} backend(s)`,
  );
  await server.finished;
  await jodis?.stop(); // shut down through the admin API: the node must go before the process does
  Deno.exit(0);
}

if (import.meta.main) await main();
