/**
 * Bounded waiting for tests: a sleep, and a poll that retries until a probe returns an answer.
 * @module
 */

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a probe given to {@link until} returns while the awaited state has not come. */
export type NotYet = undefined | null | false;

/**
 * Calls `f` every `stepMs` until it returns an answer and returns that; throws `timed out waiting for {what}` after
 * `ms`. `undefined`, `null` and `false` mean "not yet" (so `() => redis.get(k)` waits for the key, and a predicate
 * waits until it holds), and so does a throw; anything else is an answer, `0` and `""` included. Bounded in rounds
 * as well as time.
 */
export async function until<T>(what: string, ms: number, f: () => Promise<T | NotYet>, stepMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    const v = await f().catch(() => undefined);
    if (v !== undefined && v !== null && v !== false) return v as T;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether `session` reports itself lost within `ms`. */
export const lostWithin = (session: { lost: Promise<unknown> }, ms: number): Promise<boolean> =>
  Promise.race([session.lost.then(() => true), sleep(ms).then(() => false)]);
