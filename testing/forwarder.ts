/**
 * A TCP forwarder on a free loopback port in front of a real server, which a test can cut (every connection closed,
 * new ones refused: a partition) and heal.
 * @module
 */

/** A TCP forwarder to `target` that can cut every connection and refuse new ones (a partition), then heal. */
export function forwarder(target: { hostname: string; port: number }) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let cut = false;
  const pipe = async (a: Deno.Conn, b: Deno.Conn) => {
    try {
      await a.readable.pipeTo(b.writable);
    } catch { /* the other side went away */ }
    for (const c of [a, b]) {
      open.delete(c);
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      if (cut) {
        conn.close();
        continue;
      }
      try {
        const up = await Deno.connect(target);
        open.add(conn).add(up);
        pipe(conn, up);
        pipe(up, conn);
      } catch {
        conn.close();
      }
    }
  })().catch(() => {});
  return {
    addr: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    partition() {
      cut = true;
      for (const c of open) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      open.clear();
    },
    heal() {
      cut = false;
    },
    async close() {
      this.partition();
      listener.close();
      await accepting;
    },
  };
}

/** A running {@link forwarder}. */
export type Forwarder = ReturnType<typeof forwarder>;
