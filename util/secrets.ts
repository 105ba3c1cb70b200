/**
 * Secrets (product_auth, session_auth, cluster_secret, coordinator credentials) from a file or the environment, so
 * that none need appear in a process's arguments, where `ps` and /proc/PID/cmdline show them to every local user.
 *
 * Every secret `name` (a config key such as `product_auth`, or a flag such as `zookeeper-auth`) can be given as:
 *  1. its value: `--product_auth=...` on the command line, or `product_auth = "..."` in the config file;
 *  2. a file holding it: `--product_auth_file=PATH` or `product_auth_file = "PATH"` (`--zookeeper-auth-file=PATH`
 *     for a dashed flag); one trailing newline is dropped, so `echo secret > file` works;
 *  3. the environment: `CODIS_PRODUCT_AUTH` (`CODIS_` and the name upper-cased, dashes as underscores).
 * The command line is looked at first, then the config file, then the environment; at each of the first two a value
 * wins over a file. An empty value counts as not given: the default config's `product_auth = ""` does not hide
 * `CODIS_PRODUCT_AUTH`. A file that group or others may read is used with a warning (Kubernetes and Docker mount
 * secrets 0644/0444), which names the file, never the value.
 * @module
 */
import { ConfigError } from "./config_table.ts";

/** Where one secret may come from. */
export interface SecretSpec {
  /** The key or flag holding the value itself: "product_auth", "zookeeper-auth". */
  readonly name: string;
  /** The key or flag naming a file that holds it: "product_auth_file", "zookeeper-auth-file". */
  readonly fileName: string;
  /** The environment variable holding it: "CODIS_PRODUCT_AUTH". */
  readonly env: string;
}

/** The spec of secret `name`, with its file key and variable named by the rule above (or given). */
export function secretSpec(name: string, env?: string, fileName?: string): SecretSpec {
  return {
    name,
    fileName: fileName ?? (name.includes("-") ? `${name}-file` : `${name}_file`),
    env: env ?? `CODIS_${name.toUpperCase().replaceAll("-", "_")}`,
  };
}

/** The outside world the resolution reads; injectable for tests. */
export interface SecretIo {
  env(name: string): string | undefined;
  readFile(path: string): string;
  /** The file's permission bits, or null where the platform has none. */
  mode(path: string): number | null;
  warn(message: string): void;
}

/** The real environment and file system; warnings go to stderr (the CLIs parse flags before logging is set up). */
export const PROCESS_SECRET_IO: SecretIo = {
  env: (name) => {
    try {
      return Deno.env.get(name);
    } catch { // no --allow-env: as if unset
      return undefined;
    }
  },
  readFile: (path) => Deno.readTextFileSync(path),
  mode: (path) => Deno.statSync(path).mode,
  warn: (message) => console.error(`warning: ${message}`),
};

/** A source of raw values, highest precedence first: the flags, then the config file. */
export type SecretLayer = Readonly<Record<string, unknown>>;

function given(v: unknown): v is string {
  return typeof v === "string" && v !== "";
}

/**
 * The secret `spec` from the first layer that gives its value or file, else from the environment; undefined when
 * nowhere. Throws {@link ConfigError} when one layer gives both, or the file cannot be read or is empty.
 */
export function resolveSecret(spec: SecretSpec, layers: readonly SecretLayer[], io = PROCESS_SECRET_IO) {
  for (const layer of layers) {
    const value = layer[spec.name];
    const file = layer[spec.fileName];
    if (given(value) && given(file)) {
      throw new ConfigError(`give only one of ${spec.name} and ${spec.fileName}`);
    }
    if (given(value)) return value;
    if (given(file)) return readSecretFile(file, spec, io);
  }
  const env = io.env(spec.env);
  return given(env) ? env : undefined;
}

/** Reads a secret file: one trailing newline dropped; empty is an error; readable by others draws a warning. */
export function readSecretFile(path: string, spec: SecretSpec, io = PROCESS_SECRET_IO): string {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read ${spec.fileName} ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  const value = text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
  if (value === "") throw new ConfigError(`${spec.fileName} ${path} is empty`);
  let mode: number | null = null;
  try {
    mode = io.mode(path);
  } catch { /* read it a moment ago: a stat failure only loses the warning */ }
  if (mode !== null && (mode & 0o077) !== 0) {
    io.warn(
      `${spec.fileName} ${path} may be read by group or others (mode ${(mode & 0o777).toString(8)}); ` +
        `chmod 600 it`,
    );
  }
  return value;
}

/**
 * Resolves every secret of `specs` over `layers` (flags first, then the config file) and the environment; returns
 * the found ones by name, to be merged over the raw config before validation.
 */
export function resolveSecrets(
  specs: readonly SecretSpec[],
  layers: readonly SecretLayer[],
  io = PROCESS_SECRET_IO,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const v = resolveSecret(spec, layers, io);
    if (v !== undefined) out[spec.name] = v;
  }
  return out;
}

/** Doc line for a `*_file` config key, shared by the roles' key tables. */
export function secretFileDoc(spec: SecretSpec): string {
  return `A file holding ${spec.name} (used when ${spec.name} is empty; one trailing newline is dropped).\n` +
    `Without either, ${spec.name} is read from the environment variable ${spec.env}.`;
}
