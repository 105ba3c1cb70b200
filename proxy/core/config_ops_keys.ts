/**
 * The proxy's operator keys: its own slow log (SLOWLOG), answered for this proxy's sessions. Kept apart from
 * config_keys.ts, which spreads them into the key table.
 * @module
 */
import type { ConfigKeyDef } from "../../util/config_table.ts";

/** The slow log part of the proxy configuration. */
export interface ProxyOpsConfig {
  /**
   * Requests that take at least this many microseconds, from parsed to answered at the proxy, enter the slow log
   * (Redis's slowlog-log-slower-than); 0 logs every request, a negative value none.
   */
  slowlog_log_slower_than: number;
  /** Entries the slow log keeps, newest first (Redis's slowlog-max-len). */
  slowlog_max_len: number;
}

/** Key table entries of {@link ProxyOpsConfig}. */
export const OPS_KEYS: { [K in keyof ProxyOpsConfig]: ConfigKeyDef } = {
  slowlog_log_slower_than: {
    section: "Slow log",
    kind: "int",
    def: 10000,
    doc: "Requests that take at least this many microseconds at the proxy, from parsed to answered, enter\n" +
      "the slow log (SLOWLOG GET; Redis's slowlog-log-slower-than). 0 logs every request, negative none.",
  },
  slowlog_max_len: {
    kind: "int",
    def: 128,
    min: 0,
    doc: "Entries the slow log keeps (Redis's slowlog-max-len).",
  },
};
