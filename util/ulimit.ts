/**
 * Codis's `--ulimit=N`: Codis raised RLIMIT_NOFILE to N or refused to start. Deno cannot change resource limits,
 * so our CLIs only read the soft limit and refuse to start when it is below N.
 * @module
 */

/**
 * The soft "Max open files" limit from the text of `/proc/self/limits`; `Infinity` for "unlimited", undefined when
 * the line is missing.
 */
export function parseOpenFilesLimit(limits: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(limits);
  if (!m) return undefined;
  if (m[1] === "unlimited") return Infinity;
  const n = Number(m[1]);
  return Number.isInteger(n) ? n : undefined;
}

/** The current soft open-files limit: `/proc/self/limits` on Linux, else `ulimit -Sn` in a child shell. */
export function openFilesLimit(): number | undefined {
  try {
    return parseOpenFilesLimit(Deno.readTextFileSync("/proc/self/limits"));
  } catch { /* not Linux: ask a shell, which inherits our limits */ }
  try {
    const out = new Deno.Command("sh", { args: ["-c", "ulimit -Sn"], stdin: "null", stderr: "null" }).outputSync();
    const s = new TextDecoder().decode(out.stdout).trim();
    return s === "unlimited" ? Infinity : parseOpenFilesLimit(`Max open files ${s}`);
  } catch {
    return undefined;
  }
}

/**
 * Why the process cannot honour `--ulimit=want` (the soft limit `have` is lower or unknown), or undefined when it
 * can. The message says how to raise the limit, since we cannot.
 */
export function ulimitProblem(want: number, have: number | undefined): string | undefined {
  const howTo = `raise it before starting: \`ulimit -n ${want}\` in the shell, or LimitNOFILE=${want} in the ` +
    "systemd unit (Deno cannot raise it itself)";
  if (have === undefined) return `--ulimit=${want}: cannot read the open-files limit; ${howTo}`;
  if (have >= want) return undefined;
  return `--ulimit=${want}: the open-files limit (ulimit -n) is ${have}, below ${want}; ${howTo}`;
}
