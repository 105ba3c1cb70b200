/**
 * A skewed read workload through proxies, for the load-statistics tests: per round and proxy, 30 GETs of one hot
 * key, 60 over 32 consecutive slots (100-131), and 10 over slots 600-609 (the last of them a given extra key, e.g.
 * a big one). Rounds start every 40 ms until {@link SkewedLoad.stop}.
 * @module
 */
import { BackendConn } from "../redis/conn.ts";
import { slotOf } from "../models/hash.ts";
import { sleep, until } from "./wait.ts";

const enc = new TextEncoder();

/** The slot of a key. */
export const slotOfKey = (key: string): number => slotOf(enc.encode(key));

/** One key of each slot in [beg, end], found by trying `range:N` names. */
export function keysOfSlots(beg: number, end: number): string[] {
  const found = new Map<number, string>();
  for (let i = 0; found.size < end - beg + 1 && i < 1_000_000; i++) {
    const k = `range:${i}`;
    const s = slotOfKey(k);
    if (s >= beg && s <= end && !found.has(s)) found.set(s, k);
  }
  return [...found.values()];
}

/** The first key named `prefix` + a number whose slot is in [beg, end]. */
export function keyIn(prefix: string, beg: number, end: number): string {
  for (let i = 0; i < 1_000_000; i++) {
    const k = `${prefix}${i}`;
    const s = slotOfKey(k);
    if (s >= beg && s <= end) return k;
  }
  throw new Error(`no key ${prefix}N in slots ${beg}-${end}`);
}

/** A pipelined RESP connection to `addr` (no AUTH). */
export function respConn(addr: string): BackendConn {
  return new BackendConn(addr, {
    auth: "",
    maxPipeline: 1 << 16,
    minBackoffMs: 50,
    maxBackoffMs: 500,
    connectTimeoutMs: 5000,
  });
}

/** A running workload. */
export interface SkewedLoad {
  hotKey: string;
  hotSlot: number;
  /** The keys of the hot range, one per slot 100-131. */
  range: string[];
  /** Stops the rounds and closes the connections. */
  stop(): Promise<void>;
}

/** Connects to every proxy (waiting until each is online), then runs the rounds. */
export async function startSkewedLoad(proxyAddrs: string[], extraKey?: string): Promise<SkewedLoad> {
  const conns = proxyAddrs.map(respConn);
  let stop = false;
  let driver: Promise<void> = Promise.resolve();
  const close = async () => {
    stop = true;
    await driver;
    for (const c of conns) c.close();
  };
  try {
    for (const c of conns) {
      // Connecting PINGs: it fails until the proxy has its slots and is online.
      await until("proxy online", 15_000, () => c.connect().then(() => true, () => undefined), 100);
    }
  } catch (e) {
    await close();
    throw e;
  }
  const hotKey = keyIn("hot:user:", 200, 300);
  const range = keysOfSlots(100, 131);
  const cold = keysOfSlots(600, 609);
  if (extraKey !== undefined) cold[cold.length - 1] = extraKey;
  const round: string[][] = [];
  for (let i = 0; i < 30; i++) round.push(["GET", hotKey]);
  for (let i = 0; i < 60; i++) round.push(["GET", range[i % range.length]]);
  for (const k of cold) round.push(["GET", k]);
  driver = (async () => {
    while (!stop) {
      const t0 = Date.now();
      await Promise.all(conns.flatMap((c) => round.map((args) => c.call(0, args).catch(() => null))));
      await sleep(Math.max(5, 40 - (Date.now() - t0)));
    }
  })();
  return { hotKey, hotSlot: slotOfKey(hotKey), range, stop: close };
}
