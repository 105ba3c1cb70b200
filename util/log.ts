/**
 * A small leveled logger writing one line per event to stderr, or to a file (util/log_file.ts). Callers must never
 * pass secrets (passwords, product_auth, cluster_secret); use {@link redact} when logging a config.
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

const ORDER: Record<LogLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };
let threshold = ORDER.INFO;
const encoder = new TextEncoder();
const toStderr = (line: Uint8Array) => void Deno.stderr.writeSync(line);
let sink: (line: Uint8Array) => void = toStderr;

/** Sends every log line to `write` instead of stderr; no argument restores stderr. */
export function setLogSink(write?: (line: Uint8Array) => void): void {
  sink = write ?? toStderr;
}

/** Sets the global log level; returns false for an unknown level name. */
export function setLogLevel(level: string): boolean {
  const up = level.toUpperCase() as LogLevel;
  if (!(up in ORDER)) return false;
  threshold = ORDER[up];
  return true;
}

/** The current global log level. */
export function logLevel(): LogLevel {
  return (Object.keys(ORDER) as LogLevel[]).find((k) => ORDER[k] === threshold)!;
}

function emit(level: LogLevel, scope: string, msg: string): void {
  if (ORDER[level] < threshold) return;
  const line = `${new Date().toISOString()} ${level} [${scope}] ${msg}\n`;
  try {
    sink(encoder.encode(line));
  } catch { /* output closed: nothing useful to do */ }
}

/** A logger bound to one component name. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Returns a logger whose lines carry `[scope]`. */
export function logger(scope: string): Logger {
  return {
    debug: (m) => emit("DEBUG", scope, m),
    info: (m) => emit("INFO", scope, m),
    warn: (m) => emit("WARN", scope, m),
    error: (m) => emit("ERROR", scope, m),
  };
}

const SECRET_KEYS = /auth|secret|password|pass$/i;

/** Returns a copy of a flat config object with every secret-looking non-empty value replaced by "***". */
export function redact<T extends Record<string, unknown>>(cfg: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) out[k] = SECRET_KEYS.test(k) && v !== "" ? "***" : v;
  return out as T;
}
