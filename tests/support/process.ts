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
