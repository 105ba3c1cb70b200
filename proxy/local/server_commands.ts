/**
 * Server-wide commands the proxy answers by asking its backends: CONFIG SET / RESETSTAT (config_set.ts), and those
 * that touch no key and run on any one master (PFSELFTEST, LOLWUT, the HELP of OBJECT, XINFO, XGROUP, CONFIG, MEMORY).
 * @module
 */
import type { ProxyCore } from "../core/core.ts";
import { errorReply } from "../../redis/encode.ts";
import { masters } from "../keyspace/fanout.ts";
import { configResetstatCommand, configSetCommand } from "./config_set.ts";
import { resetInfoStats } from "./info_cluster.ts";

/** CONFIG SET or CONFIG RESETSTAT (`name` is the table's `config|set` / `config|resetstat`). */
export async function configSetOrReset(core: ProxyCore, name: string, argv: Uint8Array[]): Promise<Uint8Array> {
  if (name === "config|set") return await configSetCommand(core, argv);
  const r = await configResetstatCommand(core, argv);
  if (r[0] === 43) resetInfoStats(core); // +OK: INFO's proxy-side counters restart too
  return r;
}

/** A command that touches no key and reads no server state (PFSELFTEST, LOLWUT, OBJECT HELP...) on one master. */
export async function oneMasterCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  const pools = masters(core);
  if (pools.length === 0) return errorReply("ERR no backend serves any slot yet");
  return await pools[0].connFor(0).call(0, argv);
}
