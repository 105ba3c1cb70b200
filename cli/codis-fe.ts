/**
 * codis-fe, the web console: `deno run -A cli/codis-fe.ts --listen=127.0.0.1:9090 --dashboard=ADDR[,ADDR]`
 * (or `--dashboard-list=FILE`, `--filesystem=ROOT`, `--etcd=ADDR`, `--zookeeper=ADDR`). `--help` lists the flags.
 * It serves the page (fe/assets), `GET /list`, and forwards `?forward=<product>` requests to that product's
 * dashboards. It holds no credentials: the page computes the dashboards' xauth itself.
 * @module
 */
import { FE_USAGE, parseFeArgs, UsageError } from "../fe/args.ts";
import { ProductDirectory, type ProductLoader } from "../fe/directory.ts";
import { consoleHostNames } from "../fe/host_check.ts";
import { DEFAULT_ASSETS_DIR, feHandler } from "../fe/server.ts";
import { dashboardLoader, fileLoader, storeLoader } from "../fe/sources.ts";
import { logger, setLogLevel } from "../util/log.ts";
import { logToFile } from "../util/log_file.ts";
import { readCaCerts, readCertifiedKey, type TlsCertifiedKey } from "../util/tls.ts";
import { configureAdminCalls } from "../util/admin_calls.ts";

const log = logger("codis-fe");

function fail(msg: string): never {
  console.error(`codis-fe: ${msg}`);
  Deno.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseFeArgs(Deno.args);
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message} (see --help)`);
    throw e;
  }
  if (args === "help") return console.log(FE_USAGE);
  if (args.logLevel) setLogLevel(args.logLevel);
  if (args.logFile) {
    try {
      logToFile(args.logFile);
    } catch (e) {
      console.error(`codis-fe: ${(e as Error).message}`);
      Deno.exit(2);
    }
  }
  let tls: TlsCertifiedKey | null;
  try {
    const files = { "--tls-cert-file": args.tlsCertFile ?? "", "--tls-key-file": args.tlsKeyFile ?? "" };
    tls = readCertifiedKey(files, "--tls-cert-file", "--tls-key-file");
    if (args.caFile !== undefined) {
      configureAdminCalls({ caCerts: readCaCerts({ "--ca-file": args.caFile }, "--ca-file") });
    }
  } catch (e) {
    fail((e as Error).message);
  }
  const assetsDir = args.assetsDir ?? DEFAULT_ASSETS_DIR;
  const st = await Deno.stat(`${assetsDir}/index.html`).catch(() => undefined);
  if (!st?.isFile) fail(`assets dir ${assetsDir} has no index.html`);

  let loader: ProductLoader;
  let closeStore = async () => {};
  const d = args.discovery;
  switch (d.kind) {
    case "file":
      loader = fileLoader(d.file);
      break;
    case "dashboard":
      loader = dashboardLoader(d.addrs);
      break;
    case "store":
      try {
        const s = await storeLoader(d);
        loader = s.loader;
        closeStore = s.close;
      } catch (e) {
        fail(`create '${d.name}' client failed: ${(e as Error).message}`);
      }
  }
  const dir = new ProductDirectory(loader);
  await dir.refresh(true);
  if (dir.lastError) log.warn(`no products yet: ${dir.lastError}`);

  const i = args.listen.lastIndexOf(":");
  const hostname = args.listen.slice(0, i).replace(/^\[|\]$/g, "") || "0.0.0.0";
  const server = Deno.serve(
    { hostname, port: Number(args.listen.slice(i + 1)), ...(tls ?? {}), onListen: () => {} },
    feHandler(dir, { assetsDir, hostNames: consoleHostNames(hostname, args.allowedHosts, Deno.hostname()) }),
  );
  if (args.pidFile) await Deno.writeTextFile(args.pidFile, `${Deno.pid}\n`);
  const source = d.kind === "file" ? `list ${d.file}` : d.kind === "store" ? `${d.name} ${d.addr}` : d.addrs.join(",");
  log.info(
    `codis-fe listening on ${tls ? "https" : "http"}://${hostname}:${server.addr.port} (products from ${source})`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => Deno.exit(0), 3000);
    await server.shutdown().catch(() => {});
    await closeStore().catch(() => {});
    if (args.pidFile) await Deno.remove(args.pidFile).catch(() => {});
    Deno.exit(0);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => void stop());
}

if (import.meta.main) await main();
