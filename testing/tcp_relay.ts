/**
 * A TCP relay on 127.0.0.1 in front of one server, that a test can turn into a silent partition: in "blackhole"
 * mode it keeps every connection open and accepts new ones, but reads and drops whatever either side sends, as a
 * network that loses packets without a reset would. The bytes dropped are gone: a connection that lived through a
 * blackhole is out of step afterwards (as after a partition that outlasted TCP's retries); new ones work. It can also
 * tell whether some text ever reached it from the
 * clients' side (forwarded or dropped), e.g. a key written after a failover.
 * @module
 */
import { freePort } from "./ports.ts";

/** A running relay. */
export interface TcpRelay {
  port: number;
  addr: string;
  /** "pass": bytes flow both ways; "blackhole": bytes are read and dropped, connections stay open. */
  mode(m: "pass" | "blackhole"): void;
  /** True when a client sent bytes containing `marker` (in one read) since the relay started. */
  seen(marker: string): boolean;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Starts a relay to `127.0.0.1:targetPort`. */
export function startTcpRelay(targetPort: number): TcpRelay {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  let passing = true;
  const fromClients: string[] = [];
  const conns = new Set<Deno.Conn>();
  const pumps: Promise<void>[] = [];
  const dec = new TextDecoder("latin1");
  const pump = async (src: Deno.Conn, dst: Deno.Conn, record: boolean) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await src.read(buf);
        if (n === null) break;
        if (record) fromClients.push(dec.decode(buf.subarray(0, n)));
        if (!passing) continue;
        let off = 0;
        while (off < n) off += await dst.write(buf.subarray(off, n));
      }
    } catch { /* closed */ }
    for (const c of [src, dst]) {
      if (conns.delete(c)) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
  };
  const accepting = (async () => {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return;
      }
      conns.add(client);
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      } catch {
        // The server is down: the client sees its connection closed, as a refused connect would.
        conns.delete(client);
        client.close();
        continue;
      }
      conns.add(server);
      pumps.push(pump(client, server, true), pump(server, client, false));
    }
  })();
  return {
    port,
    addr: `127.0.0.1:${port}`,
    mode(m) {
      passing = m === "pass";
    },
    seen: (marker) => fromClients.some((s) => s.includes(marker)),
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      conns.clear();
      await accepting;
      await Promise.all(pumps);
    },
  };
}
