/**
 * Starting and stopping the benchmark's server processes (twemproxy, codis-proxy), with one registry of everything
 * alive so that a Ctrl-C, a SIGTERM or an exception tears it all down.
 */
import { startCodisProxy } from "../../testing/codis_proxy.ts";
import { freePort, waitForPort } from "../../testing/ports.ts";

/** Something that must be stopped before the harness exits. */
export type Stopper = () => Promise<void>;

const stoppers = new Set<Stopper>();
let closing = false;

/** Thrown by {@link track} once {@link stopAll} has begun, so no new process outlives the harness. */
export class ClosingError extends Error {
  constructor() {
    super("benchmark is shutting down");
  }
}

/**
 * Registers a stopper; returns a function that unregisters it. After {@link stopAll} began, the stopper runs at once
 * and ClosingError is thrown, because a signal handler may stop everything while the main flow is mid-step.
 */
export function track(stop: Stopper): () => void {
  if (closing) {
    stop().catch(() => {});
    throw new ClosingError();
  }
  stoppers.add(stop);
  return () => stoppers.delete(stop);
}

/** True once {@link stopAll} has begun. */
export function isClosing(): boolean {
  return closing;
}

let stopping: Promise<void> | null = null;

/**
 * Runs every registered stopper once (newest first), ignoring their errors; later track() calls stop at once.
 * Concurrent callers (a signal handler and the main flow's `finally`) share one shutdown.
 */
export function stopAll(): Promise<void> {
  closing = true;
  stopping ??= (async () => {
    while (stoppers.size > 0) {
      const list = [...stoppers].reverse();
      stoppers.clear();
      for (const s of list) {
        try {
          await s();
        } catch { /* best effort */ }
      }
    }
  })();
  return stopping;
}

/** Open files the harness asks for: a thousand-client row and a 5000-connection burst need more than 1024. */
export const OPEN_FILES = 65536;

/**
 * A command run through `sh` with the soft open-files limit raised to OPEN_FILES (or the hard limit, if lower): Deno
 * cannot change its own limits or a child's, but a shell can raise the soft limit before it execs the program.
 */
export function withOpenFiles(
  program: string,
  args: string[],
  opts: Omit<Deno.CommandOptions, "args"> = {},
): Deno.Command {
  const script = `ulimit -n ${OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  return new Deno.Command("sh", {
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...opts,
    args: ["-c", script, "sh", program, ...args],
  });
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Safe on an already exited child. */
export async function terminate(child: Deno.ChildProcess, graceMs = 3000): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already exited
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), graceMs));
  const res = await Promise.race([child.status, timeout]);
  clearTimeout(timer);
  if (res === "timeout") {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
}

/** A long-running server the benchmark targets. */
export interface Server {
  name: string;
  port: number;
  /** The pid whose process tree is charged for CPU. */
  pid: number;
  /** The command line that started it, for the report. */
  command: string;
  stop(): Promise<void>;
}

/**
 * Waits for `port` to accept connections, failing early if `child` exits first; on failure the child is stopped and
 * the error quotes the end of its log.
 */
async function awaitReady(
  child: Deno.ChildProcess,
  port: number,
  what: string,
  log: string,
  ms: number,
) {
  let exited = false;
  child.status.then(() => exited = true);
  const ready = waitForPort(port, ms);
  const early = (async () => {
    const st = await child.status;
    throw new Error(`${what} exited with code ${st.code} before listening`);
  })();
  early.catch(() => {});
  try {
    await Promise.race([ready, early]);
  } catch (e) {
    if (!exited) await terminate(child);
    let tail = "";
    try {
      tail = (await Deno.readTextFile(log)).trim().split("\n").slice(-15).join("\n");
    } catch { /* no log */ }
    throw new Error(`${(e as Error).message}${tail ? `; last lines of its output:\n${tail}` : ""}`);
  }
}

/** Options of the twemproxy target. */
export interface TwemOptions {
  backends: string[];
  hash: string;
  distribution: string;
  dir: string;
}

/** Writes a nutcracker config for `backends` and starts it on a free port. */
export async function startTwemproxy(o: TwemOptions): Promise<Server> {
  const port = freePort();
  const statsPort = freePort();
  const conf = `${o.dir}/nutcracker.yml`;
  const log = `${o.dir}/nutcracker.log`;
  const yaml = [
    "bench:",
    `  listen: 127.0.0.1:${port}`,
    `  hash: ${o.hash}`,
    `  distribution: ${o.distribution}`,
    "  redis: true",
    "  preconnect: true",
    "  auto_eject_hosts: false",
    "  server_connections: 1",
    "  servers:",
    ...o.backends.map((b, i) => `    - ${b}:1 shard${i}`),
    "",
  ].join("\n");
  await Deno.writeTextFile(conf, yaml);
  const args = ["-c", conf, "-s", String(statsPort), "-a", "127.0.0.1", "-p", `${o.dir}/nutcracker.pid`, "-o", log];
  const child = withOpenFiles("nutcracker", args, { stdout: "null", stderr: "null" }).spawn();
  const untrack = track(() => terminate(child));
  await awaitReady(child, port, "nutcracker", log, 10_000);
  return {
    name: "twemproxy",
    port,
    pid: child.pid,
    command: `nutcracker ${args.join(" ")}   # ${conf}: hash ${o.hash}, distribution ${o.distribution}`,
    async stop() {
      untrack();
      await terminate(child);
    },
  };
}

/** Options of one codis-proxy target. */
export interface ProxyOptions {
  name: string;
  backends: string[];
  /** Passed as --proxy_workers=N when set. */
  workers?: number;
  /** Extra flags, passed through verbatim. */
  extraArgs: string[];
  dir: string;
  deno: string;
  /** The repository root; `script` is resolved against it. */
  cwd: string;
  /** The proxy entry point, e.g. cli/codis-proxy.ts. */
  script: string;
  /** Flags for deno itself (see CodisProxyOptions.denoFlags). */
  denoFlags?: string[];
}

/**
 * Starts the proxy (`cli/codis-proxy.ts`, or `o.script`) in standalone mode on free ports, through the tests'
 * {@link startCodisProxy} with the benchmark's log file, start-up timeout and SIGTERM grace.
 */
export async function startProxyTarget(o: ProxyOptions): Promise<Server> {
  const p = await startCodisProxy(
    [
      ...o.backends.map((b) => `--backend=${b}`),
      ...(o.workers ? [`--proxy_workers=${o.workers}`] : []),
      // The connection burst opens thousands of clients; Codis's default cap is 1000.
      ...(o.extraArgs.some((a) => a.startsWith("--proxy_max_clients")) ? [] : ["--proxy_max_clients=100000"]),
      ...o.extraArgs,
    ],
    {},
    {
      deno: o.deno,
      script: o.script,
      denoFlags: o.denoFlags,
      cwd: o.cwd,
      logLevel: null,
      logFile: `${o.dir}/${o.name}.log`,
      readyMs: 60_000,
      stopGraceMs: 3000,
      command: withOpenFiles,
    },
  );
  const untrack = track(p.stop);
  return {
    name: o.name,
    port: p.port,
    pid: p.pid,
    command: p.command,
    async stop() {
      untrack();
      await p.stop();
    },
  };
}
