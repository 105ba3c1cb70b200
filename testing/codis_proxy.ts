/**
 * A real `cli/codis-proxy.ts` child process on free loopback ports, for tests across processes and for the
 * benchmark's proxy targets (which pass their own entry point, log file and stop grace).
 * @module
 */
import { freePort, waitForPort } from "./ports.ts";
import { until } from "./wait.ts";

const PROXY_CLI = new URL("../cli/codis-proxy.ts", import.meta.url).pathname;

/**
 * Waits until the proxy whose admin API is at `adminAddr` reports itself online in `GET /proxy/stats` (Codis's
 * unauthenticated stats route; `online` turns true once its dashboard has filled the slots and started it). As with
 * Codis's proxy, the client port opens earlier and answers `ERR codis-proxy is not online yet` until then.
 */
export async function waitProxyOnline(adminAddr: string, timeoutMs = 30_000): Promise<void> {
  await until(`codis-proxy ${adminAddr} to be online`, timeoutMs, async () => {
    const res = await fetch(`http://${adminAddr}/proxy/stats`, { signal: AbortSignal.timeout(2000) });
    const stats = await res.json();
    return stats?.online === true ? true : undefined;
  }, 100);
}

/** A running codis-proxy process. */
export interface CodisProxyProcess {
  /** The RESP port (`--proxy_addr`). */
  port: number;
  /** The admin HTTP port (`--admin_addr`). */
  adminPort: number;
  /** The child's pid. */
  pid: number;
  /** The command line that started it. */
  command: string;
  /** Stops the process (see {@link CodisProxyOptions.stopGraceMs}) and waits for it to exit; safe to call twice. */
  stop(): Promise<void>;
}

/** How {@link startCodisProxy} runs the proxy. Every field has a default that suits tests. */
export interface CodisProxyOptions {
  /** The deno binary (default: the running one). */
  deno?: string;
  /** Flags for deno itself, before the script (e.g. `--inspect=127.0.0.1:PORT`). */
  denoFlags?: string[];
  /** The entry point (default: this checkout's `cli/codis-proxy.ts`); a relative path is resolved against `cwd`. */
  script?: string;
  /** The child's working directory (default: inherited). */
  cwd?: string;
  /** `--log-level` (default WARN); null passes none. */
  logLevel?: string | null;
  /** A file that receives the child's stdout and stderr (default: stderr inherited, stdout dropped). */
  logFile?: string;
  /** How long to wait for the ports (default 30 s). */
  readyMs?: number;
  /** Stop with SIGTERM, then SIGKILL after this many ms (default: SIGKILL at once). */
  stopGraceMs?: number;
  /** Builds the child's command (default: `new Deno.Command`), e.g. to raise its open-files limit first. */
  command?: (program: string, args: string[], opts: Omit<Deno.CommandOptions, "args">) => Deno.Command;
}

/**
 * Spawns `codis-proxy` with `--proxy_addr`, `--admin_addr` and `--log-level` set, then `args`; resolves once both
 * ports accept connections. When they do not within `readyMs`, or the child exits first, the child is stopped and
 * the error quotes the end of its log file (when there is one).
 */
export async function startCodisProxy(
  args: string[],
  env: Record<string, string> = {},
  opts: CodisProxyOptions = {},
): Promise<CodisProxyProcess> {
  const port = freePort();
  const adminPort = freePort();
  const argv = [
    "run",
    "-A",
    ...(opts.denoFlags ?? []),
    opts.script ?? PROXY_CLI,
    `--proxy_addr=127.0.0.1:${port}`,
    `--admin_addr=127.0.0.1:${adminPort}`,
    ...(opts.logLevel === null ? [] : [`--log-level=${opts.logLevel ?? "WARN"}`]),
    ...args,
  ];
  const file = opts.logFile === undefined
    ? undefined
    : await Deno.open(opts.logFile, { write: true, create: true, truncate: true });
  const command = opts.command ?? ((program, args, o) => new Deno.Command(program, { ...o, args }));
  const child = command(opts.deno ?? Deno.execPath(), argv, {
    cwd: opts.cwd,
    // Secrets (CODIS_SESSION_AUTH, CODIS_PRODUCT_AUTH ...) go in `env` rather than in `args`.
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: file ? "piped" : "null",
    stderr: file ? "piped" : "inherit",
  }).spawn();
  const logged: Promise<unknown> = file
    ? Promise.all([copyTo(child.stdout, file), copyTo(child.stderr, file)]).finally(() => file.close())
    : Promise.resolve();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    stopped ??= stopChild(child, status, opts.stopGraceMs).then(async () => {
      await logged;
    });
  try {
    const early = status.then((st) => {
      throw new Error(`codis-proxy exited with code ${st.code} before listening`);
    });
    early.catch(() => {});
    const ready = (async () => {
      await waitForPort(port, opts.readyMs ?? 30_000);
      await waitForPort(adminPort, opts.readyMs ?? 30_000);
    })();
    await Promise.race([ready, early]);
  } catch (e) {
    if (!exited) await stop();
    await logged;
    throw new Error(`${(e as Error).message}${logTail(opts.logFile)}`);
  }
  return { port, adminPort, pid: child.pid, command: `deno ${argv.join(" ")}`, stop };
}

/** SIGTERM with a grace period before SIGKILL, or SIGKILL at once; a child that already exited is left alone. */
async function stopChild(child: Deno.ChildProcess, status: Promise<unknown>, graceMs?: number): Promise<void> {
  try {
    child.kill(graceMs === undefined ? "SIGKILL" : "SIGTERM");
  } catch { /* already gone */ }
  if (graceMs !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), graceMs));
    const res = await Promise.race([status, timeout]);
    clearTimeout(timer);
    if (res === "timeout") {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  }
  await status;
}

/** Appends everything from `src` to `file`; both of the child's streams share one log, so chunks are written whole. */
async function copyTo(src: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  try {
    for await (const chunk of src) {
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    }
  } catch { /* the child went away */ }
}

/** "; last lines of its output: ..." from `file`, or "" when there is none. */
function logTail(file: string | undefined): string {
  if (file === undefined) return "";
  try {
    const tail = Deno.readTextFileSync(file).trim().split("\n").slice(-15).join("\n");
    return tail ? `; last lines of its output:\n${tail}` : "";
  } catch {
    return "";
  }
}
