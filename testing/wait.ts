/**
 * Bounded waiting for tests: a sleep, and a poll that retries until a probe returns a value.
 * @module
 */

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `f` every `stepMs` until it returns something other than undefined (a throw counts as undefined) and returns
 * that; throws `timed out waiting for {what}` after `ms`. Bounded in rounds as well as time.
 */
export async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>, stepMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether `session` reports itself lost within `ms`. */
export const lostWithin = (session: { lost: Promise<unknown> }, ms: number): Promise<boolean> =>
  Promise.race([session.lost.then(() => true), sleep(ms).then(() => false)]);
