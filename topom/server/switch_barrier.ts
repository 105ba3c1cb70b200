/**
 * The barrier in front of a master switch the dashboard did not drive (a Sentinel failover): before the model names
 * the new master, the group is stored `prepared` (as in a promotion: every proxy holds the group's requests) and the
 * dashboard waits until every proxy has applied that. Then no proxy still sends writes to the old master while
 * another already writes to the new one: once the model has changed, the old master receives nothing.
 * A proxy that does not acknowledge within the bound does not hold the failover up (Codis's #1363): it is logged.
 * @module
 */
import type { Group } from "../../models/mod.ts";
import { logger } from "../../util/log.ts";
import type { Topom } from "./topom.ts";

const log = logger("ha");

/** Tokens of the proxies that have not applied `revision` yet. */
export function proxiesBehind(
  tokens: Iterable<string>,
  acks: ReadonlyMap<string, { revision: number }>,
  revision: number,
): string[] {
  return [...tokens].filter((t) => (acks.get(t)?.revision ?? 0) < revision).sort();
}

/**
 * Stores `g` (as it is, before the switch) with `promoting = {index: newIndex, state: "prepared"}` and waits, at most
 * `timeoutMs`, until every proxy of the model applied it. No-op without proxies. Call it under the model lock.
 */
export async function holdGroupForSwitch(t: Topom, g: Group, newIndex: number, timeoutMs = 10_000): Promise<void> {
  if (t.context().proxies.size === 0) return;
  await t.write([{ kind: "group", group: { ...g, promoting: { index: newIndex, state: "prepared" } } }]);
  const revision = t.cache.groupRevision(g.id);
  const deadline = Date.now() + timeoutMs;
  let behind: string[] = [];
  for (let i = 0; i < 100_000 && Date.now() < deadline && !t.closed; i++) {
    behind = proxiesBehind(t.context().proxies.keys(), t.acks, revision);
    if (behind.length === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  log.warn(`group-[${g.id}]: proxies ${behind.join(", ")} did not hold the group within ${timeoutMs} ms; switching`);
}
