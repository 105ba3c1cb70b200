/**
 * Returns an idempotent stop function for a server a test started: SIGKILL, wait for exit, remove its data dir.
 */
export function killerFor(child: Deno.ChildProcess, dir: string): () => Promise<void> {
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
}

/** How {@link startQuietServer} knows the server is up. */
export interface Readiness {
  /** True once the server serves; false (or a throw) while it is starting. */
  probe(): Promise<boolean>;
  timeoutMs: number;
  /** Pause between probes. */
  stepMs: number;
  /** The error message when `probe` is still false after `timeoutMs`. */
  failure: string;
}

/**
 * Spawns `cmd args` with stdio closed, its data in `dir`, and probes it until it is ready; returns its stop function
 * (see {@link killerFor}). When it does not become ready in time, it is stopped and the error is thrown.
 */
export async function startQuietServer(
  cmd: string,
  args: string[],
  dir: string,
  ready: Readiness,
): Promise<() => Promise<void>> {
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" }).spawn();
  const stop = killerFor(child, dir);
  try {
    const deadline = Date.now() + ready.timeoutMs;
    while (!(await ready.probe().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(ready.failure);
      await new Promise((r) => setTimeout(r, ready.stepMs));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return stop;
}
