/**
 * Starts one of the cli/ programs and tells whether it refused to start (exited, with what it printed) or came up
 * (its port opened), for tests of start-up checks.
 * @module
 */
import { waitForPort } from "./ports.ts";

/** A spawned CLI: `started` says how start-up ended; `stop()` kills it (if running) and returns its stderr. */
export interface CliRun {
  started: { exited: true; code: number } | { exited: false };
  stop(): Promise<string>;
}

/**
 * Runs `cli/<name>` with `args` (cwd: the repository) and waits until it exits or `port` on 127.0.0.1 opens, at most
 * `timeoutMs`.
 */
export async function runCli(name: string, args: string[], port: number, timeoutMs = 30_000): Promise<CliRun> {
  const cli = new URL(`../cli/${name}`, import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, ...args],
    cwd: new URL("../", import.meta.url).pathname,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited: number | undefined;
  const status = child.status.then((s) => exited = s.code);
  let stopped: Promise<string> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await status;
      return await stderr;
    })();
  try {
    await Promise.race([status, waitForPort(port, timeoutMs)]);
  } catch (e) {
    throw new Error(`${(e as Error).message}; ${name} said: ${await stop()}`);
  }
  // A refusal may race the port check only if the port opened first; then the program did start.
  if (exited !== undefined) return { started: { exited: true, code: exited }, stop };
  return { started: { exited: false }, stop };
}
