/**
 * A user-space TCP forwarder that delays what it carries (this kernel has no netem qdisc): a host's new connections
 * to one peer are redirected here by an nftables DNAT rule, and each chunk is passed on after a delay plus jitter,
 * in order. Listens on the tool's address only.
 * @module
 */
import type { Rng } from "./rng.ts";

/** A running forwarder. */
export interface Forwarder {
  /** `host:port` it listens on. */
  addr: string;
  /** Stops listening and cuts the connections it carries. */
  close(): void;
}

/** Forwards connections on `listenHost` (a free port) to `target`, each chunk delayed by `delayMs` ± `jitterMs`. */
export function startDelayForwarder(
  listenHost: string,
  target: { hostname: string; port: number },
  delayMs: number,
  jitterMs: number,
  rng: Rng,
): Forwarder {
  const listener = Deno.listen({ hostname: listenHost, port: 0 });
  const conns = new Set<Deno.Conn>();
  let closed = false;
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    // Chunks leave in order: each is due no earlier than the one before it.
    let due = 0;
    const buf = new Uint8Array(32 * 1024);
    let chain = Promise.resolve();
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        const chunk = buf.slice(0, n);
        due = Math.max(due, performance.now() + delayMs + (rng.next() * 2 - 1) * jitterMs);
        const at = due;
        // A failed write (the other side closed) ends the copy; the rejection is caught here, never left unhandled.
        chain = chain.then(async () => {
          const wait = at - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          for (let off = 0; off < chunk.length;) off += await to.write(chunk.subarray(off));
        }).catch(() => {
          try {
            from.close();
          } catch { /* closed */ }
        });
      }
      await chain;
    } catch { /* either side went away */ }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  };
  (async () => {
    for await (const inbound of listener) {
      if (closed) {
        inbound.close();
        continue;
      }
      conns.add(inbound);
      Deno.connect(target).then((outbound) => {
        conns.add(outbound);
        pump(inbound, outbound).finally(() => conns.delete(inbound));
        pump(outbound, inbound).finally(() => conns.delete(outbound));
      }, () => {
        conns.delete(inbound);
        inbound.close();
      });
    }
  })().catch(() => {});
  return {
    addr: `${listenHost}:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      closed = true;
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      conns.clear();
    },
  };
}
