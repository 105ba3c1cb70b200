/**
 * A TCP relay on 127.0.0.1 in front of one server, that a test can turn into a silent partition: in "blackhole"
 * mode it keeps every connection open and accepts new ones, but reads and drops whatever either side sends, as a
 * network that loses packets without a reset would. The bytes dropped are gone: a connection that lived through a
 * blackhole is out of step afterwards (as after a partition that outlasted TCP's retries); new ones work. It can also
 * tell whether some text ever reached it from the
 * clients' side (forwarded or dropped), e.g. a key written after a failover. A {@link startFaultForwarder} whose one
 * link discards.
 * @module
 */
import { LinkTable, startFaultForwarder } from "./fault_forwarder.ts";
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
  const links = new LinkTable();
  const fromClients: string[] = [];
  const dec = new TextDecoder("latin1");
  const fwd = startFaultForwarder({
    listen: { hostname: "127.0.0.1", port },
    target: { hostname: "127.0.0.1", port: targetPort },
    server: "server",
    policy: links,
    onChunk: (dir, chunk) => {
      if (dir === "up") fromClients.push(dec.decode(chunk));
    },
  });
  return {
    port,
    addr: `127.0.0.1:${port}`,
    mode(m) {
      if (m === "pass") return links.clear();
      links.set("client", "server", { cut: "discard" });
      links.set("server", "client", { cut: "discard" });
    },
    seen: (marker) => fromClients.some((s) => s.includes(marker)),
    close: () => fwd.close(),
  };
}
