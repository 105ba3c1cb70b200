/**
 * Parsing and formatting of Codis-style durations ("5s", "30m", "1h30m", "100ms") and byte sizes
 * ("128kb", "1024mb"). Parsed durations are milliseconds, parsed sizes are bytes.
 * @module
 */

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Parses a Go-style duration into milliseconds. Accepts compound values ("1h30m"), decimals ("1.5s") and
 * the bare number 0. Throws an Error with a short reason on anything else, including unitless non-zero numbers,
 * because their unit would be a guess.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === "number") {
    if (input === 0) return 0;
    throw new Error(`duration ${input} needs a unit (ms, s, m, h), e.g. "5s"`);
  }
  const s = input.trim();
  if (s === "0") return 0;
  if (s === "") throw new Error("empty duration");
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(s);
    if (!m) {
      if (/^\d+(\.\d+)?$/.test(s)) throw new Error(`duration "${s}" needs a unit (ms, s, m, h), e.g. "5s"`);
      throw new Error(`invalid duration "${s}" (expected e.g. "500ms", "5s", "30m", "1h30m")`);
    }
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = DURATION_PART.lastIndex;
  }
  if (!Number.isFinite(total)) throw new Error(`duration "${s}" is out of range`);
  return total;
}

/** Formats milliseconds as the shortest exact Go-style duration ("5s", "30m", "1h30m", "250ms", "0"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  if (ms < 0) return "-" + formatDuration(-ms);
  let rest = ms;
  let out = "";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  if (rest > 0) out += Number.isInteger(rest) ? `${rest}ms` : `${Math.round(rest * 1000)}us`;
  return out;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  p: 1024 ** 5,
  pb: 1024 ** 5,
};

/**
 * Parses a byte size ("128kb", "1024mb", "1.5gb", "4096") into bytes, with 1024-based units as Codis does.
 * Unit names are case-insensitive. Throws an Error with a short reason on anything else.
 */
export function parseSize(input: string | number): number {
  if (typeof input === "number") {
    if (Number.isInteger(input) && input >= 0) return input;
    throw new Error(`size ${input} must be a non-negative integer number of bytes`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new Error(`invalid size "${input}" (expected e.g. "64kb", "128kb", "1024mb", "1gb")`);
  }
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new Error(`size "${input}" is out of range`);
  return n;
}

/** Formats bytes with the largest exact 1024-based unit ("128kb", "512mb", "100b", "0"). */
export function formatSize(bytes: number): string {
  if (bytes === 0) return "0";
  for (
    const [unit, size] of [["pb", 1024 ** 5], ["tb", 1024 ** 4], ["gb", 1024 ** 3], ["mb", 1024 ** 2], [
      "kb",
      1024,
    ]] as const
  ) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}b`;
}
