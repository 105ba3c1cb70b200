/**
 * The namespace mode's delay forwarder (this kernel has no netem qdisc): a host's new connections to one peer are
 * redirected here by an nftables DNAT rule, and each chunk is passed on after a delay plus jitter, in order. Listens
 * on the tool's address only. A {@link startFaultForwarder} whose one link is slow.
 * @module
 */
import { type FaultForwarder, LinkTable, startFaultForwarder } from "../testing/fault_forwarder.ts";
import type { Rng } from "./rng.ts";

/** Forwards connections on `listenHost` (a free port) to `target`, each chunk delayed by `delayMs` ± `jitterMs`. */
export function startDelayForwarder(
  listenHost: string,
  target: { hostname: string; port: number },
  delayMs: number,
  jitterMs: number,
  rng: Rng,
): FaultForwarder {
  const links = new LinkTable();
  links.set("client", "server", { delayMs, jitterMs });
  links.set("server", "client", { delayMs, jitterMs });
  return startFaultForwarder({
    listen: { hostname: listenHost, port: 0 },
    target,
    server: "server",
    policy: links,
    random: () => rng.next(),
  });
}
