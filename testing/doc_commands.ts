/**
 * Commands the project prints or documents, pulled out of where a user reads them (README fenced blocks, the local
 * cluster's banner) and run as a user would, so that a hint that no longer works fails a test.
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;

/** The programs whose documented lines are run. */
const RUNNABLE = /^(redis-cli|curl|deno run -A cli\/codis-admin\.ts)\b/;

/** Command lines inside ```sh fenced blocks of a Markdown text that start with a runnable program, comments cut. */
export function fencedCommands(markdown: string): string[] {
  const found: string[] = [];
  let inSh = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) {
      inSh = !inSh && /^```(sh|bash|shell)?\s*$/.test(line);
      continue;
    }
    if (!inSh) continue;
    const cmd = line.replace(/\s+#.*$/, "").trim();
    if (RUNNABLE.test(cmd)) found.push(cmd);
  }
  return found;
}

/** Banner lines (two-space indented) that start with a runnable program, comments cut. */
export function bannerCommands(lines: string[]): string[] {
  return lines.filter((l) => /^ {2}\S/.test(l)).map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) =>
    RUNNABLE.test(l)
  );
}

/** Replaces each documented port (`:PORT` or `-p PORT`) with the live cluster's. */
export function withPorts(cmd: string, ports: Map<number, number>): string {
  return cmd.replace(/(:|-p )(\d{4,5})\b/g, (_all, sep: string, p: string) => {
    const live = ports.get(Number(p));
    if (live === undefined) throw new Error(`documented port ${p} in "${cmd}" has no live counterpart`);
    return `${sep}${live}`;
  });
}

/** What a documented command printed. */
export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a documented command line (words split on spaces; documented lines use no quoting) from the repository root.
 * `redis-cli` without a command gets `ping` (it would wait for input); `deno run` gets `--quiet`.
 */
export async function runDocumented(cmd: string, env: Record<string, string> = {}): Promise<CommandRun> {
  const words = cmd.split(/\s+/).filter(Boolean);
  let program = words[0];
  let args = words.slice(1);
  if (program === "deno") {
    program = Deno.execPath();
    args = [args[0], "--quiet", ...args.slice(1)];
  } else if (program === "redis-cli" && args.every((w, i) => i % 2 === 1 || w.startsWith("-"))) {
    // Only options, each with its value: an interactive session, which would wait on stdin.
    args.push("ping");
  } else if (program === "curl") {
    args = ["--fail-with-body", "--max-time", "10", ...args];
  }
  const out = await new Deno.Command(program, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}
