/**
 * A TCP forwarder on a free loopback port in front of a real server, which a test can cut (every connection closed,
 * new ones refused: a partition) and heal. A {@link startFaultForwarder} with one link.
 * @module
 */
import { LinkTable, startFaultForwarder } from "./fault_forwarder.ts";

/** A TCP forwarder to `target` that can cut every connection and refuse new ones (a partition), then heal. */
export function forwarder(target: { hostname: string; port: number }) {
  const links = new LinkTable();
  const fwd = startFaultForwarder({
    listen: { hostname: "127.0.0.1", port: 0 },
    target,
    server: "server",
    policy: links,
  });
  return {
    addr: fwd.addr,
    partition() {
      links.set("client", "server", { cut: "reset" });
    },
    heal() {
      links.clear();
    },
    close(): Promise<void> {
      return fwd.close();
    },
  };
}

/** A running {@link forwarder}. */
export type Forwarder = ReturnType<typeof forwarder>;
