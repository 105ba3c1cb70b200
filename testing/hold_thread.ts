/**
 * Stands in for a process that does not run for a while (stopped, starved, its machine paused or short of memory) in
 * tests of timeouts: holding the JavaScript thread stops its timers and its reads alike, as those do.
 * @module
 */

/** Holds the JavaScript thread for `ms`: no timer fires and no socket is read meanwhile. */
export function holdThread(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* the process is not running, as far as its event loop can tell */ }
}
