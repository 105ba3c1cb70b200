/**
 * codis-dashboard: `deno run -A cli/codis-dashboard.ts [--config=dashboard.toml] [--<key>=<value> ...]`.
 *
 * With `coordinator_name = "raft"` (the default) the dashboards replicate the model among themselves; the Raft
 * leader is the active one. With etcd/zookeeper/filesystem a single active dashboard holds the topom lock node.
 * @module
 */
import {
  ConfigError,
  coordinatorKind,
  dashboardUsage,
  defaultConfigToml,
  parseDashboardArgs,
} from "../topom/config.ts";
import { clusterSecretProblem } from "../topom/server/cluster_secret.ts";
import { productAuthCheck } from "../util/secure_defaults.ts";
import { dashboardHandler } from "../topom/server/api.ts";
import { openDashboardCoordinator } from "../topom/server/coord.ts";
import { createExecutor } from "../topom/executor/create.ts";
import { Topom } from "../topom/server/topom.ts";
import { logger, redact, setLogLevel } from "../util/log.ts";
import { logToFile } from "../util/log_file.ts";
import { type PidFile, writePidFile } from "../util/pidfile.ts";
import { newToken } from "../util/xauth.ts";
import { configJson } from "../topom/config.ts";
import { type DashboardTls, loadDashboardTls } from "../topom/config_tls_keys.ts";
import { configureRedisTls } from "../redis/dial.ts";
import { configureAdminCalls } from "../util/admin_calls.ts";

const log = logger("codis-dashboard");

function fail(msg: string): never {
  console.error(`codis-dashboard: ${msg}`);
  Deno.exit(2);
}

function splitAddr(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { hostname: addr.slice(0, i).replace(/^\[|\]$/g, "") || "0.0.0.0", port: Number(addr.slice(i + 1)) };
}

async function main(): Promise<void> {
  let args;
  // --join: a new Raft member that starts empty and waits for `raft/add` (never founds a cluster).
  const join = Deno.args.includes("--join");
  try {
    args = parseDashboardArgs(Deno.args.filter((a) => a !== "--join"));
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  if (args.help) {
    return console.log(dashboardUsage() + "\n       --join: a new Raft member waiting to be added (raft/add)");
  }
  if (args.printDefault) return console.log(defaultConfigToml());
  if (args.version) return console.log("codis-dashboard (codis-deno) 3.2-compatible");
  if (args.logLevel) setLogLevel(args.logLevel);
  if (args.logFile) {
    try {
      logToFile(args.logFile);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  const cfg = args.config;
  // Refused before anything listens: an empty secret on a reachable port is an open cluster.
  const authCheck = productAuthCheck(cfg.admin_addr, cfg.product_auth);
  if (authCheck && "error" in authCheck) fail(authCheck.error);
  if (authCheck) log.warn(authCheck.warning);
  const secretProblem = coordinatorKind(cfg) === "raft" ? clusterSecretProblem(cfg, join) : undefined;
  if (secretProblem) fail(secretProblem);
  const { hostname, port } = splitAddr(cfg.admin_addr);
  let tls: DashboardTls;
  try {
    tls = loadDashboardTls(cfg);
  } catch (e) {
    fail((e as Error).message);
  }
  configureRedisTls(tls.backend);
  configureAdminCalls(tls.adminCalls);

  const app: { handler?: (req: Request) => Promise<Response> } = {};
  const server = Deno.serve(
    { hostname, port, ...(tls.admin ?? {}), onListen: () => {} },
    (req) =>
      app.handler ? app.handler(req) : Promise.resolve(
        new Response(JSON.stringify({ Cause: "dashboard is starting", Stack: [] }), { status: 503 }),
      ),
  );
  const bound = server.addr.port;
  const wildcard = hostname === "0.0.0.0" || hostname === "::";
  const adminAddr = args.hostAdmin ?? `${wildcard ? Deno.hostname() : hostname}:${bound}`;
  const model = {
    token: newToken([cfg.product_name, adminAddr]),
    start_time: new Date().toISOString(),
    admin_addr: adminAddr,
    product_name: cfg.product_name,
    pid: Deno.pid,
    pwd: Deno.cwd(),
    sys: `${Deno.build.os} ${Deno.hostname()}`,
  };
  log.info(`config ${JSON.stringify(redact(configJson(cfg)))}`);
  let coord;
  try {
    coord = await openDashboardCoordinator({ config: cfg, adminAddr, topom: model, removeLock: args.removeLock, join });
  } catch (e) {
    await server.shutdown();
    fail(`coordinator: ${(e as Error).message}`);
  }
  const topom = new Topom({ config: cfg, coord, model, executor: await createExecutor(cfg) });
  let stopping = false;
  let pidFile: PidFile | undefined;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down");
    // A store call stuck behind a lost quorum must not keep the process alive.
    setTimeout(() => Deno.exit(code), 5000);
    await topom.close().catch(() => {});
    await coord.close().catch(() => {});
    await server.shutdown().catch(() => {});
    pidFile?.remove();
    Deno.exit(code);
  };
  app.handler = dashboardHandler(topom, { onShutdown: () => stop(0) });
  // A member waiting to be added (or without quorum) cannot read yet: keep trying until it can, or is stopped.
  for (let attempt = 1;; attempt++) {
    try {
      await topom.start();
      break;
    } catch (e) {
      if (stopping) return;
      log.warn(`loading the model (attempt ${attempt}): ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  if (args.pidFile) {
    try {
      pidFile = writePidFile(args.pidFile);
    } catch (e) {
      log.error((e as Error).message);
      return stop(2);
    }
  }
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => stop(0));
  log.info(`dashboard ${adminAddr} (product ${cfg.product_name}, coordinator ${coord.kind}) started`);
}

if (import.meta.main) await main();
