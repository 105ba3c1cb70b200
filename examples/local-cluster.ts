/**
 * Starts a local codis-deno setup on 127.0.0.1 and prints how to connect; Ctrl-C stops everything it started.
 *
 * Today: 2 redis-server backends (`databases 1024`, `hz 100`) and one standalone codis-proxy that spreads the 1024
 * slots over them. When the dashboard lands, this grows into the full cluster (3 dashboards, 2 proxies, 4 groups).
 *
 *   deno run -A examples/local-cluster.ts [--proxy-port=19000] [--admin-port=11080] [--redis-port=16379]
 * @module
 */
import { parseArgs } from "node:util";
import { waitForPort } from "../tests/support/ports.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "proxy-port": { type: "string", default: "19000" },
    "admin-port": { type: "string", default: "11080" },
    "redis-port": { type: "string", default: "16379" },
    "data-dir": { type: "string" },
  },
  strict: true,
});

const proxyPort = Number(values["proxy-port"]);
const adminPort = Number(values["admin-port"]);
const firstRedisPort = Number(values["redis-port"]);
const dataDir = values["data-dir"] ?? await Deno.makeTempDir({ prefix: "codis-local-" });
const children: { name: string; proc: Deno.ChildProcess }[] = [];

function spawn(name: string, cmd: string, args: string[]): void {
  const proc = new Deno.Command(cmd, { args, stdin: "null", stdout: "inherit", stderr: "inherit" }).spawn();
  children.push({ name, proc });
}

async function stopAll(): Promise<void> {
  for (const { proc } of children.reverse()) {
    try {
      proc.kill("SIGTERM");
    } catch { /* already exited */ }
  }
  await Promise.allSettled(children.map((c) => c.proc.status));
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nstopping the local cluster ...");
    await stopAll();
  }
  Deno.exit(code);
}
for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => void shutdown(0));

try {
  const backends: string[] = [];
  for (let i = 0; i < 2; i++) {
    const port = firstRedisPort + i;
    const dir = `${dataDir}/redis-${port}`;
    await Deno.mkdir(dir, { recursive: true });
    spawn(`redis-${port}`, "redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--databases",
      "1024",
      "--hz",
      "100",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--loglevel",
      "warning",
    ]);
    await waitForPort(port);
    backends.push(`127.0.0.1:${port}`);
  }
  const proxyScript = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;
  spawn("codis-proxy", Deno.execPath(), [
    "run",
    "-A",
    proxyScript,
    ...backends.map((b) => `--backend=${b}`),
    `--proxy_addr=127.0.0.1:${proxyPort}`,
    `--admin_addr=127.0.0.1:${adminPort}`,
    "--product_name=codis-demo",
  ]);
  await waitForPort(proxyPort, 30_000);
  console.log([
    "",
    "codis-deno local setup is up:",
    `  redis-cli -p ${proxyPort}                        # the proxy: one big Redis`,
    `  curl http://127.0.0.1:${adminPort}/proxy/stats   # proxy admin API`,
    `  curl http://127.0.0.1:${adminPort}/metrics       # Prometheus metrics`,
    `  backends: ${backends.join(", ")} (slot s lives in database s)`,
    `  data: ${dataDir}`,
    "Press Ctrl-C to stop everything.",
  ].join("\n"));
  const first = await Promise.race(children.map((c) => c.proc.status.then((s) => ({ name: c.name, s }))));
  if (!stopping) {
    console.error(`${first.name} exited with code ${first.s.code}; stopping the rest`);
    await shutdown(1);
  }
} catch (e) {
  console.error(`local cluster failed to start: ${(e as Error).message}`);
  await shutdown(1);
}
