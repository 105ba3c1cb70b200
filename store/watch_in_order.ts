/**
 * Codis's `WatchInOrder(path)` on top of any {@link CoordClient}: the sorted children of `path` plus a one-shot
 * notification of the next change below it. The notification may be spurious (a change already reflected in
 * the list); callers re-list on it, as Codis's callers do.
 * @module
 */
import type { CoordClient } from "./client.ts";

/** The children of a path and a promise that resolves on the next change below it. */
export interface InOrderWatch {
  /** Sorted full paths of the direct children. */
  children: string[];
  /** The revision the watch started after. */
  revision: number;
  /** Resolves on the next change under the path, on error (re-list), or on cancel. Never rejects. */
  changed: Promise<void>;
  /** Stops waiting; `changed` resolves. */
  cancel(): void;
}

/** Lists `path` and watches it for the next change. */
export async function watchInOrder(client: CoordClient, path: string, pollMs = 30_000): Promise<InOrderWatch> {
  const prefix = path === "/" ? "/" : path + "/";
  const revision = await client.revision();
  await client.waitForChanges(prefix, revision, 0); // ZooKeeper starts its prefix history here
  const children = await client.list(path);
  const ac = new AbortController();
  const changed = (async () => {
    let after = revision;
    for (let i = 0; i < 1_000_000 && !ac.signal.aborted; i++) {
      try {
        const b = await client.waitForChanges(prefix, after, pollMs, ac.signal);
        if (b.events.length) return;
        after = b.revision;
      } catch {
        return; // compacted or connection trouble: the caller re-lists
      }
    }
  })();
  return { children, revision, changed, cancel: () => ac.abort() };
}
