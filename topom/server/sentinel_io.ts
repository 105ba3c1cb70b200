/**
 * The dashboard's calls to redis-sentinel: the `sentinels/add` probe, `INFO`, and the masters and replicas this
 * product's groups have on one sentinel (`sentinels/info/:addr/monitored`).
 * @module
 */
import type { SentinelGroupInfo } from "../../models/mod.ts";
import { type RespValue, textOf } from "../../redis/decode.ts";
import { parseSentinelGroupName, type SentinelMonitor } from "../sentinel_plan.ts";
import { parseInfo, redisCall, redisCalls } from "./redis.ts";

function pairs(v: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(v)) return out;
  for (let i = 0; i + 1 < v.length; i += 2) out[textOf(v[i])] = textOf(v[i + 1]);
  return out;
}

/** Codis's probe before adding a sentinel: `SENTINEL FLUSHCONFIG` must succeed. */
export async function probeSentinel(addr: string, timeoutMs = 2000): Promise<void> {
  await redisCall(addr, "", ["SENTINEL", "FLUSHCONFIG"], 0, timeoutMs);
}

/** A sentinel's `INFO` as a map. */
export async function sentinelInfo(addr: string, timeoutMs = 2000): Promise<Record<string, string>> {
  return parseInfo(textOf(await redisCall(addr, "", ["INFO"], 0, timeoutMs)));
}

/** `SENTINEL MASTERS` of sentinel `addr`, only the masters of `product`'s groups, each as a field map. */
export async function sentinelMasters(
  addr: string,
  product: string,
  timeoutMs = 2000,
): Promise<Record<string, string>[]> {
  const masters = await redisCall(addr, "", ["SENTINEL", "MASTERS"], 0, timeoutMs);
  return (Array.isArray(masters) ? masters : []).map(pairs).filter((m) =>
    parseSentinelGroupName(product, m.name ?? "") !== undefined
  );
}

/** `{"{product}-{gid}": {master, slaves}}` for the groups of `product` that sentinel `addr` monitors. */
export async function sentinelMonitored(
  addr: string,
  product: string,
  timeoutMs = 2000,
): Promise<Record<string, SentinelGroupInfo>> {
  const mine = await sentinelMasters(addr, product, timeoutMs);
  const slaves = await redisCalls(addr, "", mine.map((m) => ({ args: ["SENTINEL", "SLAVES", m.name] })), timeoutMs);
  const out: Record<string, SentinelGroupInfo> = {};
  mine.forEach((m, i) => {
    const s = slaves[i];
    out[m.name] = { master: m, slaves: s instanceof Error || !Array.isArray(s) ? [] : s.map(pairs) };
  });
  return out;
}

/** `SENTINEL REMOVE` of every master of `product` on sentinel `addr`. */
export async function removeProductMasters(addr: string, product: string, timeoutMs = 2000): Promise<void> {
  const masters = await redisCall(addr, "", ["SENTINEL", "MASTERS"], 0, timeoutMs);
  const names = (Array.isArray(masters) ? masters : []).map((m) => pairs(m).name ?? "").filter((n) =>
    parseSentinelGroupName(product, n) !== undefined
  );
  const r = await redisCalls(addr, "", names.map((n) => ({ args: ["SENTINEL", "REMOVE", n] })), timeoutMs);
  for (const x of r) if (x instanceof Error) throw x;
}

/** Makes sentinel `addr` watch exactly `plan`'s masters: remove this product's, then MONITOR and SET each. */
export async function resyncSentinel(
  addr: string,
  product: string,
  plan: readonly SentinelMonitor[],
  timeoutMs = 5000,
): Promise<void> {
  await removeProductMasters(addr, product, timeoutMs);
  const r = await redisCalls(addr, "", plan.flatMap((m) => [{ args: m.monitor }, { args: m.set }]), timeoutMs);
  for (const x of r) if (x instanceof Error) throw new Error(`sentinel-[${addr}]: ${x.message}`);
}

/**
 * Re-syncs one group on sentinel `addr`: `SENTINEL REMOVE name` (a sentinel that no longer knows it is fine), then,
 * when `monitor` is given, MONITOR and SET it. For a sentinel whose view of the group predates the model's.
 */
export async function resyncSentinelGroup(
  addr: string,
  name: string,
  monitor?: SentinelMonitor,
  timeoutMs = 2000,
): Promise<void> {
  const cmds = [
    { args: ["SENTINEL", "REMOVE", name] },
    ...(monitor ? [{ args: monitor.monitor }, { args: monitor.set }] : []),
  ];
  const r = await redisCalls(addr, "", cmds, timeoutMs);
  r.forEach((x, i) => {
    if (x instanceof Error && !(i === 0 && /no such master/i.test(x.message))) {
      throw new Error(`sentinel-[${addr}]: ${x.message}`);
    }
  });
}

/**
 * For a promotion: on each of `addrs`, in one round trip, `SENTINEL MASTER name` then `SENTINEL REMOVE name` (best
 * effort, as Codis). Returns each sentinel's view of the master from just before the removal, as `SENTINEL MASTERS`
 * would list it (`[]` when it did not monitor it), or null for a sentinel that did not answer.
 */
export function readAndRemoveSentinelGroup(
  addrs: readonly string[],
  name: string,
  timeoutMs = 2000,
): Promise<(Record<string, string>[] | null)[]> {
  return Promise.all(addrs.map(async (addr) => {
    try {
      const [view] = await redisCalls(addr, "", [
        { args: ["SENTINEL", "MASTER", name] },
        { args: ["SENTINEL", "REMOVE", name] },
      ], timeoutMs);
      if (!(view instanceof Error)) return [pairs(view)];
      return /no such master/i.test(view.message) ? [] : null;
    } catch {
      return null;
    }
  }));
}
