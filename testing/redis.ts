import { freePort, waitForPort } from "./ports.ts";

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
  const port = opts.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: "codis-redis-" });
  const args = [
    ...redisServerArgs({ bind: "127.0.0.1", port, dir, databases: opts.databases, hz: opts.hz, loglevel: "warning" }),
    "--protected-mode",
    "no",
  ];
  if (opts.requirepass) args.push("--requirepass", opts.requirepass);
  if (opts.extraArgs) args.push(...opts.extraArgs);
  let child: Deno.ChildProcess | null = null;
  const spawn = async () => {
    child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null", stdin: "null" }).spawn();
    await waitForPort(port);
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
  await spawn();
  return {
    port,
    addr: `127.0.0.1:${port}`,
    dir,
    kill,
    restart: spawn,
    async stop() {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
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
