/**
 * Codis's per-slot progress line, shown in the dashboard's stats by the scheduler and the executor bookkeeping.
 * @module
 */

/** Codis's progress line for stats: `[OK] Slot[0042]@DB[42]=123` or `[ERROR] Slot[0042]: reason`. */
export function progressStatus(sid: number, result: { db: number; remaining: number } | { error: string }): string {
  const id = String(sid).padStart(4, "0");
  return "error" in result
    ? `[ERROR] Slot[${id}]: ${result.error}`
    : `[OK] Slot[${id}]@DB[${result.db}]=${result.remaining}`;
}
