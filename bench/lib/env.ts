/** A short description of the machine and tool versions, printed with the results so figures can be compared. */

function run(cmd: string, args: string[], cwd?: string): string {
  try {
    const out = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0] ?? "";
  } catch {
    return "n/a";
  }
}

/** Machine and version facts. */
export interface EnvInfo {
  cpus: number;
  cpuModel: string;
  deno: string;
  redis: string;
  redisBenchmark: string;
  nutcracker: string;
  gitCommit: string;
  date: string;
}

/** Collects {@link EnvInfo}; `root` is the repository root for the git commit. */
export function envInfo(root: string): EnvInfo {
  let cpuModel = "n/a";
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1].trim();
  } catch { /* not Linux */ }
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel,
    deno: Deno.version.deno,
    redis: run("redis-server", ["--version"]).match(/v=(\S+)/)?.[1] ?? "n/a",
    redisBenchmark: run("redis-benchmark", ["--version"]),
    nutcracker: run("nutcracker", ["--version"]).replace(/^This is /, ""),
    gitCommit: run("git", ["rev-parse", "--short", "HEAD"], root),
    date: new Date().toISOString(),
  };
}

/** The 1-minute load average, or NaN off Linux. Other work on the machine skews every figure, so it is printed. */
export function loadAvg(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}
