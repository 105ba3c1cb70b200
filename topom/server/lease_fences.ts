/**
 * The removed proxies' fences in the store (topom/proxy_lease.ts), so that a dashboard that takes over within a
 * removed proxy's lease still waits for it. Failures are logged: the fences in memory hold either way.
 * @module
 */
import { logger } from "../../util/log.ts";
import { encodeFences, fencesOnTakeover, proxyFencePath } from "../proxy_lease.ts";
import type { Topom } from "./topom.ts";

const log = logger("topom");

/** Stores the active dashboard's fences (deletes the node when there are none). */
export async function storeLeaseFences(t: Topom): Promise<void> {
  const path = proxyFencePath(t.product);
  const value = encodeFences(t.leaseFences.values());
  try {
    if (value === null) await t.coord.client.delete(path);
    else await t.coord.client.update(path, new TextEncoder().encode(value));
  } catch (e) {
    log.warn(`storing the removed proxies' leases: ${(e as Error).message}`);
  }
}

/** On taking over: waits a whole lease for each removed proxy the previous active dashboard was still waiting for. */
export async function loadLeaseFences(t: Topom): Promise<void> {
  try {
    const node = await t.coord.client.read(proxyFencePath(t.product));
    if (!node) return;
    for (const f of fencesOnTakeover(new TextDecoder().decode(node.data), performance.now())) {
      if (t.context().proxies.has(f.token)) continue; // registered again since
      log.info(`proxy-[${f.token}] was removed within its lease: waiting ${f.leaseMs} ms before moving slots past it`);
      t.leaseFences.set(f.token, f);
    }
  } catch (e) {
    log.warn(`reading the removed proxies' leases: ${(e as Error).message}`);
  }
}
