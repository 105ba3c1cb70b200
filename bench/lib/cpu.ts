/**
 * CPU accounting from /proc (Linux only): user+system time of a process and its live descendants, so that a proxy in
 * worker mode (N child processes) is charged for all of its workers.
 */

let clkTck = 0;

/** Clock ticks per second for /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on every common Linux). */
export function clockTicks(): number {
  if (clkTck) return clkTck;
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" }).outputSync();
    const v = Number(new TextDecoder().decode(out.stdout).trim());
    clkTck = Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}

/** Fields of /proc/<pid>/stat that we use. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) is parenthesised and may contain spaces and
 * parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`bad /proc stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  // After ')': field 3 (state) is index 0, so field N is index N-3.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const ppid = Number(rest[4 - 3]);
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  return { pid, ppid, ticks: utime + stime };
}

function readStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return null;
  }
}

/** All live processes' stats, by pid. */
function allStats(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const s = readStat(Number(e.name));
    if (s) out.set(s.pid, s);
  }
  return out;
}

/**
 * CPU ticks used so far by `pid` and its live descendants. Descendants that exited during a run are not counted, which
 * is fine for long-lived proxy workers.
 */
export function treeTicks(pid: number): number {
  const root = readStat(pid);
  if (!root) return NaN;
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const s of stats.values()) {
    const list = children.get(s.ppid);
    if (list) list.push(s.pid);
    else children.set(s.ppid, [s.pid]);
  }
  let total = 0;
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length > 0 && seen.size < 10_000) {
    const p = queue.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    total += (p === pid ? root : stats.get(p))?.ticks ?? 0;
    for (const c of children.get(p) ?? []) queue.push(c);
  }
  return total;
}

/**
 * Finds a live process whose program name is `program` and whose command line contains `needle` as a whole word,
 * e.g. ("redis-server", "127.0.0.1:6379"): redis-server rewrites its title to "/usr/bin/redis-server 127.0.0.1:6379".
 */
export function findPidByCmdline(program: string, needle: string): number | null {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const words = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split(/[\0 ]+/).filter((w) => w !== "");
      if (words[0]?.split("/").pop() === program && words.includes(needle)) return Number(e.name);
    } catch { /* exited meanwhile */ }
  }
  return null;
}

/**
 * CPU time used so far by every thread of `pid`, in ms, from `/proc/<pid>/task/<tid>/schedstat` (nanoseconds, where
 * /proc/<pid>/stat counts 10 ms ticks): fine enough for one request. Threads that exited are not counted. NaN when
 * the process is gone.
 */
export function threadsCpuMs(pid: number): number {
  let ns = 0;
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/schedstat`).split(" ")[0]);
      } catch { /* the thread exited meanwhile */ }
    }
  } catch {
    return NaN;
  }
  return ns / 1e6;
}
