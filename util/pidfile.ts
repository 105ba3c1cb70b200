/**
 * Codis's `--pidfile=FILE` for our CLIs: the process id is written to FILE and the file is removed when the
 * process exits through `Deno.exit` or by returning from main (signals handled by the CLI end in one of those).
 *
 * The file is written without following symlinks: a pid file usually sits in a directory others can write to (/tmp,
 * /var/run of a shared account), where a planted symlink would otherwise have a root-run process overwrite its target.
 * @module
 */

/** A written pid file; {@link PidFile.remove} is idempotent and also runs on process exit. */
export interface PidFile {
  readonly path: string;
  remove(): void;
}

/**
 * Writes `{pid}\n` to `path`, replacing a regular file there; refuses a symlink (its target is left untouched).
 * The text goes to a new file beside `path` (created exclusively, so never through a link) that is then renamed
 * over it: rename replaces a directory entry, so a link swapped in meanwhile is replaced, not followed.
 * Throws an Error naming the file when it cannot be written.
 */
export function writePidFile(path: string): PidFile {
  const info = lstatOrNull(path);
  if (info?.isSymlink) {
    throw new Error(
      `cannot write pid file ${path}: it is a symbolic link (refused, so that its target is not touched)`,
    );
  }
  if (info !== null && !info.isFile) throw new Error(`cannot write pid file ${path}: not a regular file`);
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const f = Deno.openSync(temp, { write: true, createNew: true, mode: 0o644 });
    try {
      f.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    } finally {
      f.close();
    }
    Deno.renameSync(temp, path);
  } catch (e) {
    try {
      Deno.removeSync(temp);
    } catch { /* not created */ }
    throw new Error(`cannot write pid file ${path}: ${(e as Error).message}`);
  }
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    globalThis.removeEventListener("unload", remove);
    try {
      // Only our own file: a link put in its place since is not ours to delete (removing a link never follows it).
      if (lstatOrNull(path)?.isFile) Deno.removeSync(path);
    } catch { /* already gone */ }
  };
  // "unload" also fires on Deno.exit(), which is how the CLIs end after a signal or an admin shutdown.
  globalThis.addEventListener("unload", remove);
  return { path, remove };
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`cannot write pid file ${path}: ${(e as Error).message}`);
  }
}
