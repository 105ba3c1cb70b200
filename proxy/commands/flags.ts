/**
 * Bit masks for command flags (from Redis's `COMMAND` flags) and key-spec flags.
 * @module
 */

/** The command only reads data (`readonly`). */
export const CMD_READ = 1 << 0;
/** The command may modify data (`write`). */
export const CMD_WRITE = 1 << 1;
/** Server administration (`admin`). */
export const CMD_ADMIN = 1 << 2;
/** The command may block the client (`blocking`). */
export const CMD_BLOCKING = 1 << 3;
/** Pub/Sub related (`pubsub`). */
export const CMD_PUBSUB = 1 << 4;
/** Not allowed in scripts (`noscript`). */
export const CMD_NOSCRIPT = 1 << 5;
/** Allowed while the server loads its data set (`loading`). */
export const CMD_LOADING = 1 << 6;
/** Allowed on a replica with stale data (`stale`). */
export const CMD_STALE = 1 << 7;
/** O(1) or O(log N) (`fast`). */
export const CMD_FAST = 1 << 8;
/** Key positions depend on the arguments (`movablekeys`). */
export const CMD_MOVABLEKEYS = 1 << 9;
/** May grow memory use (`denyoom`). */
export const CMD_DENYOOM = 1 << 10;
/** `skip_monitor`. */
export const CMD_SKIP_MONITOR = 1 << 11;
/** `skip_slowlog`. */
export const CMD_SKIP_SLOWLOG = 1 << 12;
/** `asking` (cluster internals). */
export const CMD_ASKING = 1 << 13;
/** Allowed before authentication (`no_auth`). */
export const CMD_NO_AUTH = 1 << 14;
/** `may_replicate`. */
export const CMD_MAY_REPLICATE = 1 << 15;
/** The command is valid with no key at all (`no_mandatory_keys`, e.g. EVAL with numkeys 0). */
export const CMD_NO_MANDATORY_KEYS = 1 << 16;
/** Not allowed inside MULTI (`no_multi`). */
export const CMD_NO_MULTI = 1 << 17;
/** `allow_busy`. */
export const CMD_ALLOW_BUSY = 1 << 18;
/** `no_async_loading`. */
export const CMD_NO_ASYNC_LOADING = 1 << 19;
/** A module command (`module`). */
export const CMD_MODULE = 1 << 20;
/** Not a Redis command: defined by codis-proxy itself (SLOTSMAPPING, ...). */
export const CMD_PROXY = 1 << 24;
/** A container command (OBJECT, CLIENT, ...) whose real entries are its subcommands. */
export const CMD_CONTAINER = 1 << 25;

/** Redis flag names → bits. Unknown names (newer Redis) are ignored. */
export const COMMAND_FLAG_BITS: Readonly<Record<string, number>> = {
  readonly: CMD_READ,
  write: CMD_WRITE,
  admin: CMD_ADMIN,
  blocking: CMD_BLOCKING,
  pubsub: CMD_PUBSUB,
  noscript: CMD_NOSCRIPT,
  loading: CMD_LOADING,
  "ok-loading": CMD_LOADING,
  stale: CMD_STALE,
  "ok-stale": CMD_STALE,
  fast: CMD_FAST,
  movablekeys: CMD_MOVABLEKEYS,
  denyoom: CMD_DENYOOM,
  skip_monitor: CMD_SKIP_MONITOR,
  skip_slowlog: CMD_SKIP_SLOWLOG,
  asking: CMD_ASKING,
  no_auth: CMD_NO_AUTH,
  may_replicate: CMD_MAY_REPLICATE,
  no_mandatory_keys: CMD_NO_MANDATORY_KEYS,
  no_multi: CMD_NO_MULTI,
  allow_busy: CMD_ALLOW_BUSY,
  no_async_loading: CMD_NO_ASYNC_LOADING,
  module: CMD_MODULE,
};

/** Key spec: read-only access. */
export const KS_RO = 1 << 0;
/** Key spec: read-write. */
export const KS_RW = 1 << 1;
/** Key spec: overwrite. */
export const KS_OW = 1 << 2;
/** Key spec: remove. */
export const KS_RM = 1 << 3;
/** Key spec: the value is returned or copied. */
export const KS_ACCESS = 1 << 4;
/** Key spec: update. */
export const KS_UPDATE = 1 << 5;
/** Key spec: insert. */
export const KS_INSERT = 1 << 6;
/** Key spec: delete. */
export const KS_DELETE = 1 << 7;
/** Key spec: not a key, but routed like one (sharded pub/sub channels). */
export const KS_NOT_KEY = 1 << 8;
/** Key spec: may miss keys that only a special procedure finds. */
export const KS_INCOMPLETE = 1 << 9;
/** Key spec: flags depend on the arguments. */
export const KS_VARIABLE_FLAGS = 1 << 10;

/** Key-spec flag names → bits. */
export const KEY_SPEC_FLAG_BITS: Readonly<Record<string, number>> = {
  RO: KS_RO,
  RW: KS_RW,
  OW: KS_OW,
  RM: KS_RM,
  access: KS_ACCESS,
  update: KS_UPDATE,
  insert: KS_INSERT,
  delete: KS_DELETE,
  not_key: KS_NOT_KEY,
  incomplete: KS_INCOMPLETE,
  variable_flags: KS_VARIABLE_FLAGS,
};

/** ORs the bits of the given flag names (case-insensitive for command flags). */
export function flagBits(names: readonly string[], table: Readonly<Record<string, number>>): number {
  let bits = 0;
  for (const n of names) bits |= table[n] ?? table[n.toLowerCase()] ?? 0;
  return bits;
}

/** Scripts may write, and the command table cannot tell whether they do. */
const SCRIPTS = new Set(["eval", "evalsha", "fcall"]);

/**
 * True for a command whose reply waits for the replicas under `backend_write_acks`: the table's write flag, or a
 * script that may write (EVAL_RO and FCALL_RO do not).
 */
export function ackedCommand(info: { flags: number; name: string }): boolean {
  return (info.flags & CMD_WRITE) !== 0 || SCRIPTS.has(info.name);
}
