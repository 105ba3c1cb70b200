/**
 * Codis's `--pidfile=FILE` for our CLIs: the process id is written to FILE and the file is removed when the
 * process exits through `Deno.exit` or by returning from main (signals handled by the CLI end in one of those).
 * @module
 */

/** A written pid file; {@link PidFile.remove} is idempotent and also runs on process exit. */
export interface PidFile {
  readonly path: string;
  remove(): void;
}

/** Writes `{pid}\n` to `path` (replacing it); throws an Error naming the file when it cannot be written. */
export function writePidFile(path: string): PidFile {
  try {
    Deno.writeTextFileSync(path, `${Deno.pid}\n`);
  } catch (e) {
    throw new Error(`cannot write pid file ${path}: ${(e as Error).message}`);
  }
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    globalThis.removeEventListener("unload", remove);
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  };
  // "unload" also fires on Deno.exit(), which is how the CLIs end after a signal or an admin shutdown.
  globalThis.addEventListener("unload", remove);
  return { path, remove };
}
