import { freePort, portListener } from "./ports.ts";
import { until } from "./wait.ts";

/** A redis-server child process on 127.0.0.1, for tests and benchmarks. */
export interface RedisProcess {
  port: number;
  addr: string;
  dir: string;
  /** Sends SIGKILL and waits for exit. Safe to call twice. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data dir. */
  restart(): Promise<void>;
  /** Kills the server and removes its data dir. */
  stop(): Promise<void>;
}

export interface RedisOptions {
  port?: number;
  databases?: number;
  hz?: number;
  requirepass?: string;
  extraArgs?: string[];
}

/** What {@link redisServerArgs} builds redis-server's arguments from. */
export interface RedisServerArgs {
  bind: string;
  port: number;
  /** Working directory (`--dir`). */
  dir: string;
  /** 1024 unless told otherwise: one database per slot, as Codis backends need. */
  databases?: number;
  /** 100 unless told otherwise: expiry and replication timers run often enough for tests. */
  hz?: number;
  loglevel: "warning" | "notice";
  /** Log file; none: redis-server logs to its standard output. */
  logfile?: string;
}

/**
 * redis-server's arguments for a backend as the tests, the example cluster and the chaos tool run them: databases
 * 1024, hz 100, and nothing saved (no RDB, no AOF). A config file, where one is used, goes before them.
 */
export function redisServerArgs(o: RedisServerArgs): string[] {
  const args = [
    "--bind",
    o.bind,
    "--port",
    String(o.port),
    "--databases",
    String(o.databases ?? 1024),
    "--hz",
    String(o.hz ?? 100),
    "--dir",
    o.dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--loglevel",
    o.loglevel,
  ];
  if (o.logfile !== undefined) args.push("--logfile", o.logfile);
  return args;
}

/** Starts a redis-server with `databases 1024` and `hz 100` unless told otherwise. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisProcess> {
  const dir = await Deno.makeTempDir({ prefix: "codis-redis-" });
  let port = opts.port ?? freePort();
  const args = (port: number) => {
    const a = [
      ...redisServerArgs({ bind: "127.0.0.1", port, dir, databases: opts.databases, hz: opts.hz, loglevel: "warning" }),
      "--protected-mode",
      "no",
    ];
    if (opts.requirepass) a.push("--requirepass", opts.requirepass);
    if (opts.extraArgs) a.push(...opts.extraArgs);
    return a;
  };
  let child: Deno.ChildProcess | null = null;
  /** Starts the server on `port` and waits until it listens there; false when another process holds the port. */
  const spawn = async (): Promise<boolean> => {
    const c = new Deno.Command("redis-server", { args: args(port), stdout: "null", stderr: "null", stdin: "null" })
      .spawn();
    child = c;
    let exited = false;
    c.status.then(() => exited = true);
    let owner: "ours" | "taken" | "exited";
    try {
      owner = await until(`redis-server on port ${port}`, 10_000, async () => {
        const who = portListener(port, c.pid);
        if (who === "process") return "ours";
        if (who === "unknown") return await canConnect(port) ? "ours" : exited ? "exited" : undefined;
        if (!exited) return undefined;
        // Another process's listener (a test's HTTP server that took the port first) where ours could not bind:
        // talking to it as if it were Redis fails later with a puzzling "bad reply from backend".
        return who === "other" ? "taken" : "exited";
      }, 25);
    } catch (e) {
      await kill();
      throw e;
    }
    if (owner === "ours") return true;
    await kill();
    if (owner === "exited") {
      throw new Error(`redis-server exited at start (port ${port}): check its arguments`);
    }
    return false;
  };
  const kill = async () => {
    const c = child as Deno.ChildProcess | null;
    if (!c) return;
    child = null;
    try {
      c.kill("SIGKILL");
    } catch { /* already gone */ }
    await c.status;
  };
  const restart = async () => {
    if (!await spawn()) throw new Error(`redis-server could not take port ${port} again: another process holds it`);
  };
  try {
    // A port picked here can be taken by another process before redis-server binds it: pick another one then.
    for (let attempt = 1; !await spawn(); attempt++) {
      if (opts.port !== undefined || attempt === 5) {
        throw new Error(`redis-server could not bind port ${port}: another process listens there`);
      }
      port = freePort();
    }
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    port,
    addr: `127.0.0.1:${port}`,
    dir,
    kill,
    restart,
    async stop() {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Whether a TCP connect to 127.0.0.1:port succeeds now. */
async function canConnect(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** Runs redis-cli against `r` on database `db`; returns its stdout, trimmed. */
export async function redisCliDb(r: { port: number }, db: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(r.port), "-n", String(db), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}
