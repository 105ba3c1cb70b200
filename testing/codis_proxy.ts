/**
 * A real `cli/codis-proxy.ts` child process on free loopback ports, for tests across processes.
 * @module
 */
import { freePort, waitForPort } from "./ports.ts";

const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;

/** A running codis-proxy process. */
export interface CodisProxyProcess {
  /** The RESP port (`--proxy_addr`). */
  port: number;
  /** The admin HTTP port (`--admin_addr`). */
  adminPort: number;
  /** SIGKILLs the process and waits for it to exit; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Spawns `codis-proxy` with `--proxy_addr`, `--admin_addr` and `--log-level=WARN` set, then `args`; resolves once
 * both ports accept connections (the process is killed when they do not within 30 s).
 */
export async function startCodisProxy(args: string[], env: Record<string, string> = {}): Promise<CodisProxyProcess> {
  const port = freePort();
  const adminPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      PROXY_CLI,
      `--proxy_addr=127.0.0.1:${port}`,
      `--admin_addr=127.0.0.1:${adminPort}`,
      "--log-level=WARN",
      ...args,
    ],
    // Secrets (CODIS_SESSION_AUTH, CODIS_PRODUCT_AUTH ...) go here rather than in `args`.
    env,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  };
  try {
    await waitForPort(port, 30_000);
    await waitForPort(adminPort, 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, adminPort, stop };
}
