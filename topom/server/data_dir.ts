/**
 * A dashboard's Raft data directory at rest: it holds the whole model (server addresses, proxies) and perhaps a
 * generated cluster secret, so it is this user's only — 0700 directories, 0600 files — including what an older
 * version left with the umask's modes.
 * @module
 */

/** Creates `dir` (and parents) 0700 and tightens the modes of what it already holds (two levels deep). */
export async function prepareDataDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await tighten(dir, 2);
}

async function tighten(dir: string, depth: number): Promise<void> {
  await Deno.chmod(dir, 0o700);
  if (depth === 0) return;
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) await tighten(path, depth - 1);
    else if (e.isFile) await Deno.chmod(path, 0o600);
  }
}
