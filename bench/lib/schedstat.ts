/**
 * CPU time of a process from Linux's `/proc/PID/task/TID/schedstat` (nanoseconds on a CPU, summed over its threads):
 * fine enough to split a sub-millisecond request's cost between the processes it passes through, which the tick-based
 * `/proc/PID/stat` is not.
 * @module
 */

/** Nanoseconds the process `pid` has run, over all its threads; 0 when not readable (not Linux, or gone). */
export function cpuNanos(pid: number): number {
  let total = 0;
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`);
        total += Number(text.slice(0, text.indexOf(" ")));
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    return 0;
  }
  return total;
}
