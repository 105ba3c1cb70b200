/**
 * Coalescing of outgoing append messages. When several proposals arrive in one loop turn the core emits one
 * append per proposal and peer; consecutive, contiguous appends to the same peer in the same term are merged into
 * one, which is exactly what the follower would have seen had it received them back to back (TCP keeps order).
 * @module
 */

import type { Message } from "../types.ts";

/** Merges contiguous `app` messages per peer (up to `maxBytes` of entry data per merged message). */
export function coalesceAppends(msgs: Message[], maxBytes = 1 << 20): Message[] {
  if (msgs.length < 2) return msgs;
  const out: Message[] = [];
  const lastApp = new Map<number, { m: Message; size: number }>();
  for (const m of msgs) {
    if (m.type !== "app" || !m.entries || m.entries.length === 0) {
      // Anything else to this peer keeps its place relative to the appends around it.
      lastApp.delete(m.to);
      out.push(m);
      continue;
    }
    const prev = lastApp.get(m.to);
    const size = m.entries.reduce((n, e) => n + e.data.length, 0);
    if (
      prev && prev.m.term === m.term && prev.m.index! + prev.m.entries!.length === m.index &&
      prev.size + size <= maxBytes
    ) {
      prev.m.entries = [...prev.m.entries!, ...m.entries];
      prev.m.commit = Math.max(prev.m.commit ?? 0, m.commit ?? 0);
      prev.size += size;
      continue;
    }
    const copy = { ...m, entries: [...m.entries] };
    lastApp.set(m.to, { m: copy, size });
    out.push(copy);
  }
  return out;
}
