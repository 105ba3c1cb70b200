/**
 * codis-proxy's decisions on top of Redis's facts: which commands are split per key, answered by the proxy itself,
 * forwarded by the slot of their keys, or refused (each refusal with a one-line reason shown to the client as
 * `ERR command 'XXX' is not supported by codis-proxy: <reason>`).
 *
 * Resolution order for a command (subcommands are named `container|sub`):
 *   1. its own entry below, 2. its container's entry, 3. Redis flags: pubsub, blocking, admin,
 *   4. keyless → refused (no slot to route to), 5. otherwise forward.
 * @module
 */
import { CMD_ADMIN, CMD_BLOCKING, CMD_PUBSUB } from "./flags.ts";

/** What the proxy does with a command. */
export type Policy = "forward" | "split" | "local" | "refused";

/** A policy decision. */
export interface PolicyDecision {
  policy: Policy;
  reason?: string;
  /** Close the client connection instead of replying (HTTP smuggling guards, like Redis). */
  closeConnection?: boolean;
}

/** Refusal reasons, one line each. */
export const REASONS = {
  keyless: "the command has no key, so codis-proxy cannot route it",
  pubsub: "this pub/sub command is not supported by codis-proxy",
  blocking: "blocking commands need all their keys in one slot",
  tracking: "client-side caching (CLIENT TRACKING) needs invalidation messages from every server; not supported",
  databases: "codis-proxy maps slots onto the backends' databases, so clients cannot use them",
  copyDb: "COPY ... DB would write into another slot's database (codis-proxy maps slots onto databases)",
  sortPattern:
    "SORT BY/GET patterns may name keys in other slots; put the sorted key's {hash tag} before the '*' of each pattern",
  cluster: "slot placement and migration are managed by codis-dashboard, not by clients",
  replication: "replication and monitoring are done on the backend servers directly",
  admin: "server administration is done on each backend server directly",
  client:
    "only CLIENT SETNAME, GETNAME, ID, INFO, LIST, KILL, PAUSE, UNPAUSE, SETINFO and NO-EVICT are supported by codis-proxy",
  waitaof: "WAITAOF is not supported by codis-proxy yet",
  slotsInternal: "slot migration commands are internal to codis-dashboard and codis-server",
  http: "looks like an HTTP request sent to a Redis port (cross-protocol attack guard)",
  unlocatableKeys: "the command's keys cannot be located from its arguments, so codis-proxy cannot route it",
} as const;

/** Commands split per key (MSET per key/value pair) and coalesced by the proxy. */
export const SPLIT_COMMANDS: readonly string[] = ["mget", "mset", "del", "unlink", "exists", "touch"];

/**
 * Transactions (proxy/txn) and pub/sub (proxy/pubsub): local commands that the session handles itself
 * (SESSION_COMMANDS in proxy/session_modes.ts).
 */
export const TXN_PUBSUB_COMMANDS: readonly string[] = [
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "subscribe",
  "unsubscribe",
  "psubscribe",
  "punsubscribe",
  "ssubscribe",
  "sunsubscribe",
  "publish",
];

/** Commands answered by the proxy itself. */
export const LOCAL_COMMANDS: readonly string[] = [
  "ping",
  "echo",
  "quit",
  "auth",
  "select", // SELECT 0 only; other databases get a clear error from the local handler
  "hello",
  "info",
  "client|setname",
  "client|getname",
  "client|id",
  "slotsmapping",
  "slotshashkey",
  "slotsinfo",
  "slotsscan",
  "command", // COMMAND itself and the subcommands below are served from the command table
  "command|count",
  "command|info",
  "command|docs",
  "command|getkeys",
  "command|list",
  "client|info",
  "client|no-evict",
  // Operator commands over this proxy's own sessions (proxy/local/client_list.ts, slowlog.ts, monitor.ts).
  "client|list",
  "client|kill",
  "client|pause",
  "client|unpause",
  "slowlog",
  "monitor",
  "reset",
  // Keyspace-wide and server-wide commands, fanned out over the slots or the masters (proxy/keyspace).
  "keys",
  "scan",
  "dbsize",
  "randomkey",
  "flushall", // refused by the handler unless proxy_allow_flush
  "flushdb",
  "script",
  "function",
  "config|get",
  "config|set", // to every server of every group, only with proxy_allow_config_set (proxy/local/config_set.ts)
  "config|resetstat",
  "pfselftest", // on one master: it touches no key
  "lolwut",
  "object|help", // help texts: from one master
  "xinfo|help",
  "xgroup|help",
  "config|help",
  "memory|help",
  "client|reply",
  "time",
  "lastsave",
  "role",
  "wait", // on a connection of its own to every master (proxy/blocking/wait.ts)
  ...TXN_PUBSUB_COMMANDS,
  "pubsub",
];

/** Forwarded although Redis's flags or their container would say otherwise. */
export const FORWARD_COMMANDS: readonly string[] = [
  "xread", // blocking only with BLOCK: the caller checks isBlockingCall()
  "xreadgroup",
  "memory|usage",
  "pfdebug", // admin-flagged, but it names its key: routed by it
  "spublish", // the channel routes like a key (crc32 slot), to the master subscribers of that slot use
  // Blocking commands run on a connection dedicated to the session while they block (proxy/blocking).
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
];

/** Refused commands (beyond the flag rules), grouped by reason. */
export const REFUSED_COMMANDS: readonly (readonly [reason: string, names: readonly string[]])[] = [
  [REASONS.tracking, ["client|tracking", "client|trackinginfo", "client|getredir", "client|caching"]],
  [REASONS.databases, ["move", "swapdb", "copy-db"]],
  [REASONS.cluster, ["migrate", "restore-asking", "asking", "cluster", "readonly", "readwrite"]],
  [REASONS.replication, ["sync", "psync", "replconf", "replicaof", "slaveof", "failover"]],
  [REASONS.admin, [
    "shutdown",
    "debug",
    "config",
    "save",
    "bgsave",
    "bgrewriteaof",
    "latency",
    "memory",
    "acl",
    "module",
  ]],
  [REASONS.client, ["client"]],
  [REASONS.waitaof, ["waitaof"]],
  [REASONS.slotsInternal, [
    "slotscheck",
    "slotsdel",
    "slotsmgrtone",
    "slotsmgrtslot",
    "slotsmgrttagone",
    "slotsmgrttagslot",
    "slotsmgrtone-async",
    "slotsmgrtslot-async",
    "slotsmgrttagone-async",
    "slotsmgrttagslot-async",
    "slotsmgrt-async-fence",
    "slotsmgrt-async-cancel",
    "slotsmgrt-async-status",
    "slotsmgrt-exec-wrapper",
    "slotsrestore-async",
    "slotsrestore-async-auth",
    "slotsrestore-async-ack",
  ]],
  [REASONS.http, ["host:", "post"]],
];

/** Forwarded commands that are valid without keys but cannot be routed then: the reason to give. */
export const NO_KEYS_REASONS: Readonly<Record<string, string>> = {};

/**
 * Scripts and functions called with no keys: run on one master (slot 0's, in slot 0's database), as a Redis Cluster
 * client sends them to any node. Such a script sees only that database's keys.
 */
export const KEYLESS_ANYWHERE: ReadonlySet<string> = new Set([
  "eval",
  "eval_ro",
  "evalsha",
  "evalsha_ro",
  "fcall",
  "fcall_ro",
]);

const explicit = new Map<string, PolicyDecision>();
for (const n of SPLIT_COMMANDS) explicit.set(n, { policy: "split" });
for (const n of LOCAL_COMMANDS) explicit.set(n, { policy: "local" });
for (const n of FORWARD_COMMANDS) explicit.set(n, { policy: "forward" });
for (const [reason, names] of REFUSED_COMMANDS) {
  for (const n of names) {
    explicit.set(
      n,
      reason === REASONS.http ? { policy: "refused", reason, closeConnection: true } : {
        policy: "refused",
        reason,
      },
    );
  }
}

/** The facts `decidePolicy` needs about a command. */
export interface PolicyInput {
  /** Lower-case name; `container|sub` for subcommands. */
  name: string;
  /** CMD_* bits. */
  flags: number;
  /** True when the command has key specs (or legacy key positions) or a key procedure. */
  keyed: boolean;
  /** True for container commands (CLIENT, OBJECT, ...): their subcommands carry the facts. */
  container: boolean;
}

/** Decides what the proxy does with a command. */
export function decidePolicy(c: PolicyInput): PolicyDecision {
  const own = explicit.get(c.name);
  if (own) return own;
  const bar = c.name.indexOf("|");
  if (bar > 0) {
    const parent = explicit.get(c.name.slice(0, bar));
    if (parent) return parent;
  }
  if (c.flags & CMD_PUBSUB) return { policy: "refused", reason: REASONS.pubsub };
  if (c.flags & CMD_BLOCKING) return { policy: "refused", reason: REASONS.blocking };
  if (c.flags & CMD_ADMIN) return { policy: "refused", reason: REASONS.admin };
  // A container's own entry is only reached with a missing or unknown subcommand; the caller answers those.
  if (c.container) return { policy: "forward" };
  if (!c.keyed) return { policy: "refused", reason: REASONS.keyless };
  return { policy: "forward" };
}

/** The reason to give when a forwarded command turns out to have no key in this call. */
export function noKeysReason(name: string): string {
  return NO_KEYS_REASONS[name] ?? REASONS.keyless;
}
