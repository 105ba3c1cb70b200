/**
 * CONFIG SET and CONFIG RESETSTAT through the proxy: sent to every server of every group (masters and replicas), so
 * the cluster behaves as one server that was reconfigured, behind the switch `proxy_allow_config_set` (off by
 * default, as `proxy_allow_flush`). Configs the cluster depends on are refused even with the switch on: those Redis 7
 * protects (`dir`, `dbfilename`), and those that would break the one-slot-one-database layout, the proxy's
 * authentication to the backends, or the replication the dashboard manages.
 * @module
 */
import { setSlowlogConfig } from "./slowlog.ts";
import type { ProxyCore } from "../core/core.ts";
import { callEveryServer, type ServerReply } from "../keyspace/every_server.ts";
import { parseIntArg } from "../commands/keys.ts";
import { errorText, isErrorReply } from "../../redis/decode.ts";
import { errorReply, OK } from "../../redis/encode.ts";

const dec = new TextDecoder();

const LAYOUT = "codis-proxy maps the 1024 slots onto the backends' databases";
const AUTH = "the proxy authenticates to every backend with product_auth; change it there and in the proxy's config";
const REPLICATION = "replication is set up by codis-dashboard (its groups), not by clients";
const FILES = "Redis 7 protects it (enable-protected-configs): it names files on the servers' disks";
const TLS = "the proxy connects to the backends with its own TLS settings; change them on the servers directly";
const ADDRESS = "the servers' addresses are codis-dashboard's model; the proxy would lose its connections";

/** Refused configs, with why; names as Redis spells them (aliases included). */
export const PROTECTED_CONFIGS: ReadonlyMap<string, string> = new Map([
  ["dir", FILES],
  ["dbfilename", FILES],
  ["logfile", FILES],
  ["pidfile", FILES],
  ["appendfilename", FILES],
  ["appenddirname", FILES],
  ["aclfile", FILES],
  ["cluster-config-file", FILES],
  ["unixsocket", FILES],
  ["databases", LAYOUT],
  ["cluster-enabled", LAYOUT],
  ["requirepass", AUTH],
  ["masterauth", AUTH],
  ["masteruser", AUTH],
  ["protected-mode", AUTH],
  ["replicaof", REPLICATION],
  ["slaveof", REPLICATION],
  ["replica-read-only", REPLICATION],
  ["slave-read-only", REPLICATION],
  ["replica-announce-ip", REPLICATION],
  ["slave-announce-ip", REPLICATION],
  ["replica-announce-port", REPLICATION],
  ["slave-announce-port", REPLICATION],
  ["port", ADDRESS],
  ["bind", ADDRESS],
  ["tls-port", ADDRESS],
]);

/** Configs refused only for some values: hz below 100 (the proxy's blocking and expiry behaviour assume it). */
function valueRefusal(name: string, value: Uint8Array): string | null {
  if (name === "hz") {
    const n = parseIntArg(value);
    if (!Number.isNaN(n) && n < 100) return "the backends run with hz 100 or more (set by codis-deno's deployment)";
  }
  return null;
}

/** Why CONFIG SET may not change `name` to `value` through the proxy, or null. */
export function configSetRefusal(name: string, value: Uint8Array): string | null {
  const n = name.toLowerCase();
  const fixed = PROTECTED_CONFIGS.get(n);
  if (fixed !== undefined) return fixed;
  if (n.startsWith("tls-")) return TLS;
  return valueRefusal(n, value);
}

/** `ERR command 'CONFIG SET' is not supported by codis-proxy ...` naming the switch. */
function switchOff(display: string): Uint8Array {
  return errorReply(
    `ERR command '${display}' is not supported by codis-proxy: it is disabled unless proxy_allow_config_set = true`,
  );
}

/**
 * The reply to a fan-out: OK when every server said OK; the servers' own error when every one answered the same
 * error (an unknown option, a bad value: what one Redis would say); otherwise which servers failed and why.
 */
export function mergeServerReplies(what: string, replies: ServerReply[]): Uint8Array {
  const failed = replies.filter((r) => isErrorReply(r.reply));
  if (failed.length === 0) return OK;
  const first = errorText(failed[0].reply);
  if (failed.length === replies.length && failed.every((r) => errorText(r.reply) === first)) return failed[0].reply;
  const list = failed.map((r) => `${r.addr}${r.master ? "" : " (replica)"}: ${errorText(r.reply)}`).join("; ");
  return errorReply(
    `ERR ${what} failed on ${failed.length} of ${replies.length} servers (${list}); the others applied it`,
  );
}

/** CONFIG SET parameter value [parameter value ...] on every server. */
export async function configSetCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  // As Redis 7: pairs only (the command table's arity checked at least one), before anything else.
  if (argv.length % 2 !== 0) return errorReply("ERR syntax error");
  for (let i = 2; i + 1 < argv.length; i += 2) {
    const name = dec.decode(argv[i]);
    const why = configSetRefusal(name, argv[i + 1]);
    if (why !== null) {
      return errorReply(`ERR CONFIG SET of '${name.toLowerCase()}' is refused by codis-proxy: ${why}`);
    }
  }
  if (!core.config.proxy_allow_config_set) return switchOff("CONFIG SET");
  const reply = mergeServerReplies("CONFIG SET", await callEveryServer(core, argv));
  // Once every server took it: the proxy's own slow log follows slowlog-log-slower-than and slowlog-max-len too.
  if (reply[0] === 43) {
    for (let i = 2; i + 1 < argv.length; i += 2) setSlowlogConfig(core, dec.decode(argv[i]), argv[i + 1]);
  }
  return reply;
}

/** CONFIG RESETSTAT on every server (the proxy's own counters are not reset: they are its metrics). */
export async function configResetstatCommand(core: ProxyCore, argv: Uint8Array[]): Promise<Uint8Array> {
  if (!core.config.proxy_allow_config_set) return switchOff("CONFIG RESETSTAT");
  return mergeServerReplies("CONFIG RESETSTAT", await callEveryServer(core, argv));
}
