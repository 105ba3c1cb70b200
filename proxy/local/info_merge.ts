/**
 * How the masters' INFO sections combine into one server's: pure functions over the parsed text. Each field is
 * summed (counters, sizes), maxed (times, flags, ratios, percentages: the worst group's), recomputed (`*_human`
 * from the summed bytes, `usec_per_call`), or, for text that differs between groups, listed per group as
 * `addr=value,addr=value`. {@link fieldRule} is the one place that decides; the README's table follows it.
 * @module
 */

/** How one field combines over the masters. */
export type FieldRule = "sum" | "max" | "human" | "status" | "text";

/** One master's fields of one section, in its order. */
export interface ServerSection {
  addr: string;
  fields: [string, string][];
}

/** Fields maxed rather than summed, by exact name. */
const MAX_FIELDS = new Set([
  // persistence: times and flags
  "loading",
  "async_loading",
  "rdb_last_save_time",
  "aof_enabled",
  "current_cow_size_age",
  "module_fork_in_progress",
  // memory: the machine's, not the data's
  "total_system_memory",
  // stats: a rate of a fraction, the longest fork, patterns live on every master
  "expired_stale_perc",
  "latest_fork_usec",
  "pubsub_patterns",
  "current_eviction_exceeded_time",
  "current_active_defrag_time",
  "active_defrag_running",
  // scripts and functions are loaded on every master (SCRIPT LOAD / FUNCTION LOAD fan out)
  "number_of_cached_scripts",
  "number_of_functions",
  "number_of_libraries",
]);

/** The rule for `field`, whose value on the first server is `sample`. */
export function fieldRule(field: string, sample: string): FieldRule {
  if (field.endsWith("_human")) return "human";
  if (field.endsWith("_status")) return "status";
  if (MAX_FIELDS.has(field)) return "max";
  if (
    field.endsWith("_ratio") || field.endsWith("_perc") || field.endsWith("_time_sec") ||
    field.endsWith("_in_progress") || field.endsWith("_scheduled")
  ) return "max";
  return NUMERIC.test(sample) ? "sum" : "text";
}

const NUMERIC = /^-?\d+(\.\d+)?%?$/;

/** Parses INFO text into sections (lower-case names) of `[field, value]` pairs. */
export function parseInfo(text: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  let cur: [string, string][] | null = null;
  for (const line of text.split("\r\n")) {
    if (line.startsWith("# ")) {
      cur = [];
      out.set(line.slice(2).trim().toLowerCase(), cur);
      continue;
    }
    const colon = line.indexOf(":");
    if (cur === null || colon <= 0) continue;
    cur.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  return out;
}

/** Redis's bytesToHuman. */
export function bytesToHuman(n: number): string {
  const units = ["K", "M", "G", "T", "P"];
  if (n < 1024) return `${n}B`;
  let d = n / 1024;
  for (let i = 0; i < units.length; i++) {
    if (d < 1024 || i === units.length - 1) return `${d.toFixed(2)}${units[i]}`;
    d /= 1024;
  }
  return `${n}B`;
}

function decimals(v: string): number {
  const dot = v.indexOf(".");
  return dot < 0 ? 0 : v.replace("%", "").length - dot - 1;
}

/** Sums or maxes numeric strings, keeping the widest decimals and a `%` suffix. */
function combineNumbers(values: string[], max: boolean): string {
  let acc = max ? -Infinity : 0;
  let places = 0;
  for (const v of values) {
    const n = parseFloat(v);
    if (Number.isNaN(n)) continue;
    acc = max ? Math.max(acc, n) : acc + n;
    places = Math.max(places, decimals(v));
  }
  if (acc === -Infinity) acc = 0;
  const pct = values.some((v) => v.endsWith("%")) ? "%" : "";
  return (places > 0 ? acc.toFixed(places) : String(Math.round(acc))) + pct;
}

/** The value every server agrees on, or `addr=value,...` per server. */
function perGroup(servers: ServerSection[], values: (string | undefined)[]): string {
  const first = values.find((v) => v !== undefined) ?? "";
  if (values.every((v) => v === undefined || v === first)) return first;
  return servers.map((s, i) => `${s.addr}=${values[i] ?? ""}`).join(",");
}

/**
 * Merges one plain section (memory, persistence, stats, cpu) over the masters: fields in the first server's order,
 * then any field only later servers have. `overrides` replaces fields with the proxy's own values.
 */
export function mergeSection(
  servers: ServerSection[],
  overrides: ReadonlyMap<string, string> = new Map(),
): [string, string][] {
  const names: string[] = [];
  const seen = new Set<string>();
  const maps = servers.map((s) => new Map(s.fields));
  for (const s of servers) {
    for (const [k] of s.fields) {
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
    }
  }
  const merged = new Map<string, string>();
  const out: [string, string][] = [];
  const humans: [number, string][] = [];
  for (const k of names) {
    const values = maps.map((m) => m.get(k));
    const present = values.filter((v): v is string => v !== undefined);
    let v: string;
    const over = overrides.get(k);
    if (over !== undefined) v = over;
    else {
      switch (fieldRule(k, present[0] ?? "")) {
        case "sum":
          v = combineNumbers(present, false);
          break;
        case "max":
          v = combineNumbers(present, true);
          break;
        case "status":
          v = present.find((x) => x !== "ok") ?? "ok";
          break;
        case "human":
          v = "";
          humans.push([out.length, k]);
          break;
        default:
          v = perGroup(servers, values);
      }
    }
    merged.set(k, v);
    out.push([k, v]);
  }
  for (const [i, k] of humans) {
    const base = merged.get(k.slice(0, -"_human".length));
    // used_memory_lua_human follows used_memory_lua; a human field without its base keeps the servers' list.
    out[i][1] = base !== undefined && NUMERIC.test(base)
      ? bytesToHuman(Number(base))
      : perGroup(servers, maps.map((m) => m.get(k)));
  }
  return out;
}

/** Parses `a=1,b=2.5` into pairs. */
function parseKv(v: string): [string, string][] {
  return v.split(",").map((p) => {
    const eq = p.indexOf("=");
    return [p.slice(0, eq), p.slice(eq + 1)] as [string, string];
  });
}

/**
 * Merges a section whose lines are `name:k=v,...` per command or error (commandstats, errorstats, latencystats):
 * counts summed, `usec_per_call` recomputed, latency percentiles maxed.
 */
export function mergeKvSection(servers: ServerSection[]): [string, string][] {
  const order: string[] = [];
  const acc = new Map<string, Map<string, string[]>>();
  for (const s of servers) {
    for (const [name, v] of s.fields) {
      let m = acc.get(name);
      if (m === undefined) {
        acc.set(name, m = new Map());
        order.push(name);
      }
      for (const [k, x] of parseKv(v)) {
        const list = m.get(k);
        if (list === undefined) m.set(k, [x]);
        else list.push(x);
      }
    }
  }
  return order.map((name) => {
    const m = acc.get(name)!;
    const parts: string[] = [];
    for (const [k, values] of m) {
      let v: string;
      if (k === "usec_per_call") {
        const calls = Number(combineNumbers(m.get("calls") ?? [], false));
        const usec = Number(combineNumbers(m.get("usec") ?? [], false));
        v = (calls > 0 ? usec / calls : 0).toFixed(2);
      } else {
        v = combineNumbers(values, k.startsWith("p"));
      }
      parts.push(`${k}=${v}`);
    }
    return [name, parts.join(",")];
  });
}
