/**
 * Sentinel settings and state for tests that wait for a real failover. A sentinel whose timer is late by more than
 * 2 s (a process starved on a loaded machine) enters TILT mode and does nothing for 30 s: a failover a test waits
 * for then comes after the test's bound. `SENTINEL DEBUG` (Redis ≥ 7.0) shortens that period; the state line says,
 * when a wait fails, whether the sentinel was in TILT and what it thought of the master.
 * @module
 */
import { redisCliDb } from "./redis.ts";

/** Makes TILT last `ms` on the sentinel at `port` (a no-op on sentinels without `SENTINEL DEBUG`). */
export async function shortenSentinelTilt(sentinel: { port: number }, ms = 1000): Promise<void> {
  await redisCliDb(sentinel, 0, "SENTINEL", "DEBUG", "tilt-period", String(ms));
}

/** One line for a failure message: the sentinel's TILT state and its view of master `name`. */
export async function sentinelState(sentinel: { port: number }, name: string): Promise<string> {
  const info = await redisCliDb(sentinel, 0, "INFO", "sentinel");
  const tilt = info.match(/sentinel_tilt:(\d)/)?.[1] ?? "?";
  const master = (await redisCliDb(sentinel, 0, "SENTINEL", "MASTER", name)).split("\n");
  const field = (k: string) => master[master.indexOf(k) + 1] ?? "?";
  return `sentinel tilt=${tilt}, ${name}: ${field("ip")}:${field("port")} flags=${field("flags")} ` +
    `failover-state=${field("failover-state")} config-epoch=${field("config-epoch")}`;
}
