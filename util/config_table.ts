/**
 * The machinery behind the proxy's and the dashboard's configuration: a table of keys (kind, default, doc, bounds)
 * drives validation of TOML values and `--key=value` flags with zod, so both roles report errors the same way.
 * @module
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { formatDuration, formatSize, parseDuration, parseSize } from "./duration.ts";

/** How a key's value is written and parsed. Durations parse to milliseconds, sizes to bytes. */
export type ConfigKind = "string" | "int" | "bool" | "duration" | "size";

/** One key of a configuration table. */
export interface ConfigKeyDef {
  kind: ConfigKind;
  /** Default in its TOML form (durations and sizes as strings like "5s"). */
  def: string | number | boolean;
  /** One or more comment lines printed above the key in the default config. */
  doc: string;
  /** Section header printed before this key. */
  section?: string;
  /** Bounds for numeric kinds (in parsed units). */
  min?: number;
  max?: number;
  /** Extra check of a string value; returns the reason it is invalid. */
  check?: (v: string) => string | undefined;
  /** Left out of JSON overviews (secrets). */
  secret?: boolean;
}

/** A configuration error; its message is one line naming the offending key or flag. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]*):(\d{1,5})$/;

/** Undefined when `v` is HOST:PORT (the host may be empty, as in ":18080"), else the reason. */
export function checkHostPort(v: string): string | undefined {
  const m = HOST_PORT.exec(v);
  if (!m || Number(m[2]) > 65535) return `"${v}" is not a HOST:PORT address`;
  return undefined;
}

/** Converts a TOML value or flag string to the key's kind; throws with the reason. */
export function convertConfigValue(kind: ConfigKind, raw: unknown): string | number | boolean {
  switch (kind) {
    case "string":
      if (typeof raw !== "string") throw new Error(`expected a string, got ${JSON.stringify(String(raw))}`);
      return raw;
    case "int": {
      const n = typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== "number" || !Number.isSafeInteger(n)) {
        throw new Error(`expected an integer, got ${JSON.stringify(String(raw))}`);
      }
      return n;
    }
    case "bool":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
    case "duration":
      if (typeof raw === "bigint") throw new Error(`duration ${raw} needs a unit`);
      if (typeof raw !== "string" && typeof raw !== "number") {
        throw new Error(`expected a duration like "5s", got ${JSON.stringify(raw)}`);
      }
      return parseDuration(raw);
    case "size":
      if (typeof raw !== "string" && typeof raw !== "number") {
        throw new Error(`expected a size like "128kb", got ${JSON.stringify(raw)}`);
      }
      return parseSize(raw);
  }
}

function fieldSchema(def: ConfigKeyDef): z.ZodType {
  return z.unknown().transform((raw, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    let v: string | number | boolean;
    try {
      v = convertConfigValue(def.kind, raw);
    } catch (e) {
      return fail((e as Error).message);
    }
    if (typeof v === "number") {
      if (def.min !== undefined && v < def.min) {
        return fail(
          def.kind === "int" ? `${raw} is below the minimum ${def.min}` : `${JSON.stringify(raw)} must be positive`,
        );
      }
      if (def.max !== undefined && v > def.max) return fail(`${raw} is above the maximum ${def.max}`);
    }
    if (typeof v === "string" && def.check) {
      const why = def.check(v);
      if (why) return fail(why);
    }
    return v;
  });
}

/** A strict zod schema over every key of a table: unknown keys are refused. */
export function configSchema(keys: Record<string, ConfigKeyDef>): z.ZodType<Record<string, unknown>> {
  return z.strictObject(
    Object.fromEntries(Object.entries(keys).map(([k, def]) => [k, fieldSchema(def)])) as Record<string, z.ZodType>,
  ) as unknown as z.ZodType<Record<string, unknown>>;
}

/** Validates `raw` merged over the table's defaults; throws a one-line {@link ConfigError} for the first problem. */
export function validateConfig(keys: Record<string, ConfigKeyDef>, schema: z.ZodType, raw: Record<string, unknown>) {
  const merged: Record<string, unknown> = Object.fromEntries(Object.entries(keys).map(([k, d]) => [k, d.def]));
  Object.assign(merged, raw);
  const r = schema.safeParse(merged);
  if (!r.success) throw new ConfigError(formatIssue(r.error.issues[0]));
  return r.data as Record<string, unknown>;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown config key ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  const key = issue.path.length > 0 ? issue.path.join(".") : "(config)";
  return `invalid config key ${key}: ${issue.message}`;
}

/** Parses TOML text; a syntax error becomes a {@link ConfigError} naming `source`, the line and the column. */
export function parseTomlText(text: string, source: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      throw new ConfigError(
        `${source}: TOML syntax error at line ${e.line}, column ${e.column}: ${e.message.split("\n")[0]}`,
      );
    }
    throw e;
  }
}

/**
 * Parses config TOML text over the defaults with `validate` (a role's validateXConfig); syntax and validation errors
 * are {@link ConfigError}s naming `source`.
 */
export function parseConfigToml<T>(text: string, source: string, validate: (raw: Record<string, unknown>) => T): T {
  const doc = parseTomlText(text, source);
  try {
    return validate(doc);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${source}: ${e.message}`);
    throw e;
  }
}

/**
 * Reads a config file for `--config=FILE`: an unreadable file or a bad value is a {@link ConfigError} naming the
 * file. `check` validates the text in full (so errors name the file); the raw TOML values are returned for merging
 * with flags.
 */
export function readConfigFile(
  path: string,
  readFile: (path: string) => string,
  check: (text: string, source: string) => unknown,
): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  check(text, path);
  return parseTomlText(text, path);
}

/** A key's value in TOML: durations and sizes as strings in their shortest exact unit ("5s", "128kb"). */
function tomlValue(kind: ConfigKind, v: string | number | boolean): string {
  if (kind === "duration") return JSON.stringify(typeof v === "number" ? formatDuration(v) : v);
  if (kind === "size") return JSON.stringify(typeof v === "number" ? formatSize(v) : v);
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/**
 * The full commented default config file, as `--default-config` prints it: `header` lines, then every key with
 * its section banner, its doc as comments and its default. Parsing it gives the defaults.
 */
export function defaultTomlOf(keys: Record<string, ConfigKeyDef>, header: readonly string[]): string {
  const out = [...header];
  for (const [k, def] of Object.entries(keys)) {
    if (def.section) out.push("", "#".repeat(60), `# ${def.section}`, "#".repeat(60));
    out.push("");
    for (const line of def.doc.split("\n")) out.push(`# ${line}`);
    out.push(`${k} = ${tomlValue(def.kind, def.def)}`);
  }
  return out.join("\n") + "\n";
}

/** Renders a parsed config as TOML, one `key = value` line per key in table order. */
export function tomlOf<C extends object>(keys: { [K in keyof C]: ConfigKeyDef }, cfg: C): string {
  return (Object.keys(keys) as (keyof C & string)[])
    .map((k) => `${k} = ${tomlValue(keys[k].kind, cfg[k] as string | number | boolean)}\n`).join("");
}

/**
 * The config as the admin APIs show it (Codis's JSON form): durations and sizes as "5s"/"128kb" strings, and the
 * secret keys left out, as Codis hides them.
 */
export function jsonOf<C extends object>(
  keys: { [K in keyof C]: ConfigKeyDef },
  cfg: C,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const k of Object.keys(keys) as (keyof C & string)[]) {
    const def = keys[k];
    if (def.secret) continue;
    const v = cfg[k] as string | number | boolean;
    out[k] = def.kind === "duration" ? formatDuration(v as number) : def.kind === "size" ? formatSize(v as number) : v;
  }
  return out;
}
