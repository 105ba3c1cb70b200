/**
 * Parsing of `redis-benchmark --csv` output (Redis 7.0).
 *
 * 7.0 prints one header line and one line per test:
 * `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"`.
 * Warnings ("WARNING: Could not fetch server CONFIG", which every proxy triggers) go to stderr; server errors abort the
 * run with `Error from server: ...` on stderr and exit code 1.
 */

/** One test's figures as redis-benchmark reports them; latencies in milliseconds. */
export interface BenchLine {
  test: string;
  rps: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

const COLUMNS: Record<string, keyof Omit<BenchLine, "test">> = {
  rps: "rps",
  avg_latency_ms: "avgMs",
  min_latency_ms: "minMs",
  p50_latency_ms: "p50Ms",
  p95_latency_ms: "p95Ms",
  p99_latency_ms: "p99Ms",
  max_latency_ms: "maxMs",
};

/** Splits one CSV line into fields, honouring double quotes and `""` escapes (custom commands may contain both). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cur += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

/**
 * Parses `redis-benchmark --csv` stdout. Lines that are not CSV rows (progress output, stray warnings) are skipped;
 * columns are located by the header so that a reordered or extended header still parses.
 * Throws when rows appear without a header or a figure is not a number.
 */
export function parseCsv(stdout: string): BenchLine[] {
  let header: string[] | null = null;
  const rows: BenchLine[] = [];
  for (const raw of stdout.split(/\r?\n/)) {
    // Progress output ends in '\r'-separated updates; only the part after the last one is the real line.
    const line = raw.slice(raw.lastIndexOf("\r") + 1).trim();
    if (!line.startsWith('"')) continue;
    const fields = splitCsvLine(line);
    if (fields.includes("test") && fields.includes("rps")) {
      header = fields;
      continue;
    }
    if (!header) throw new Error(`redis-benchmark CSV row before header: ${line}`);
    const row: BenchLine = {
      test: fields[header.indexOf("test")] ?? "",
      rps: NaN,
      avgMs: NaN,
      minMs: NaN,
      p50Ms: NaN,
      p95Ms: NaN,
      p99Ms: NaN,
      maxMs: NaN,
    };
    for (let i = 0; i < header.length; i++) {
      const key = COLUMNS[header[i]];
      if (!key) continue;
      const v = Number(fields[i]);
      if (fields[i] === undefined || fields[i] === "" || !Number.isFinite(v)) {
        throw new Error(`redis-benchmark CSV: bad ${header[i]} in: ${line}`);
      }
      row[key] = v;
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Extracts the reason a redis-benchmark run failed from its stderr, or null when stderr holds only the usual warnings.
 */
export function parseError(stderr: string): string | null {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  const bad = lines.filter((l) => !l.startsWith("WARNING: Could not fetch server CONFIG"));
  const server = bad.find((l) => l.startsWith("Error from server:"));
  if (server) return server.slice("Error from server:".length).trim();
  const conn = bad.find((l) => /could not connect|connection refused|error:/i.test(l));
  if (conn) return conn;
  return bad.length > 0 ? bad.join(" | ").slice(0, 300) : null;
}
