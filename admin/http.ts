/**
 * codis-admin's HTTP calls to a dashboard group: JSON in and out, Codis's `{Cause}` error bodies turned into
 * one-line {@link AdminError}s, and the way to the Raft leader (a follower's 421 names it; 307/308 redirects
 * carry it in `Location`) or to the next listed dashboard when one is down.
 * @module
 */
import { adminFetch, adminUrl } from "../util/admin_calls.ts";

/** Any failure codis-admin reports: the message is the single line printed on stderr. */
export class AdminError extends Error {
  override name = "AdminError";
  constructor(message: string, readonly status = 0) {
    super(message);
  }
}

/** Options of {@link JsonHttp}. */
export interface JsonHttpOptions {
  /** Per-request timeout, ms (default 30 s: a dashboard may probe redis servers before it answers). */
  timeoutMs?: number;
  /** Called with a line per request when -v is given. */
  debug?: (line: string) => void;
}

/** How many leader hints a request follows before it gives up (bounds a redirect loop between two nodes). */
const MAX_HOPS = 4;

function baseOf(addr: string): string {
  return adminUrl(addr, "");
}

/** Extracts `host:port` from an absolute or relative `Location` header. */
function locationAddr(location: string, current: string): string | undefined {
  try {
    return new URL(location, baseOf(current)).host || undefined;
  } catch {
    return undefined;
  }
}

/** Hides the 32-hex-digit xauth segment, so errors and debug lines never print a credential. */
export function redact(path: string): string {
  return path.replace(/\/[0-9a-f]{32}(?=\/|$|\?)/, "/***");
}

/**
 * A JSON-over-HTTP client for a list of equivalent addresses (the members of a dashboard group). It keeps the
 * address that last answered, follows leader hints, and moves on to the next address when one is unreachable.
 */
export class JsonHttp {
  #addrs: string[];
  #current = 0;

  constructor(addrs: string[], readonly opts: JsonHttpOptions = {}) {
    if (addrs.length === 0) throw new AdminError("no address given");
    this.#addrs = [...addrs];
  }

  /** The address requests currently go to. */
  get addr(): string {
    return this.#addrs[this.#current];
  }

  /** Sends `method path` with an optional JSON body; returns the decoded JSON answer (undefined when empty). */
  async request<T = unknown>(method: "GET" | "PUT" | "POST", path: string, body?: unknown): Promise<T> {
    let lastErr: AdminError | undefined;
    for (let i = 0; i < this.#addrs.length; i++) {
      const idx = (this.#current + i) % this.#addrs.length;
      try {
        const out = await this.#follow<T>(this.#addrs[idx], method, path, body);
        this.#current = idx;
        return out;
      } catch (e) {
        if (!(e instanceof AdminError) || e.status !== 0) throw e;
        lastErr = e; // unreachable: try the next dashboard
      }
    }
    throw lastErr!;
  }

  async #follow<T>(addr: string, method: string, path: string, body: unknown): Promise<T> {
    let at = addr;
    for (let hop = 0; hop <= MAX_HOPS; hop++) {
      const r = await this.#once(at, method, path, body);
      if (r.kind === "ok") return r.json as T;
      if (r.leader === undefined || r.leader === "" || r.leader === at) {
        throw new AdminError(`${method} ${redact(path)} on ${at}: not leader and no leader known (election running?)`);
      }
      // Only a dashboard the operator named may send us elsewhere (it knows the leader from the authenticated Raft
      // group), or the hint must itself be one of the named addresses: the path carries the xauth.
      if (!this.#addrs.includes(at) && !this.#addrs.includes(r.leader)) {
        throw new AdminError(`${method} ${redact(path)} on ${at}: not leader; not following it to ${r.leader}`);
      }
      this.opts.debug?.(`${at} is not the leader, following to ${r.leader}`);
      at = r.leader;
    }
    throw new AdminError(`${method} ${redact(path)}: too many leader redirects (last ${at})`);
  }

  async #once(
    addr: string,
    method: string,
    path: string,
    body: unknown,
  ): Promise<{ kind: "ok"; json: unknown } | { kind: "leader"; leader: string | undefined }> {
    const url = baseOf(addr) + path;
    this.opts.debug?.(`${method} ${baseOf(addr)}${redact(path)}`);
    const ac = new AbortController();
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      let res: Response;
      try {
        res = await adminFetch(url, {
          method,
          redirect: "manual",
          signal: ac.signal,
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (e) {
        // A timed-out request may have been applied: only a refused connection moves on to another dashboard.
        if (ac.signal.aborted) {
          throw new AdminError(`${method} ${redact(path)} on ${addr}: timed out after ${timeoutMs} ms`, -1);
        }
        throw new AdminError(`${method} ${redact(path)} on ${addr}: ${oneLine((e as Error).message)}`, 0);
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text.trim() === "" ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (res.status === 307 || res.status === 308) {
        return { kind: "leader", leader: locationAddr(res.headers.get("location") ?? "", addr) };
      }
      if (res.status === 421) {
        const leader = (json as { leader?: unknown } | undefined)?.leader;
        return { kind: "leader", leader: typeof leader === "string" ? leader : undefined };
      }
      if (res.status !== 200) {
        const cause = (json as { Cause?: unknown } | undefined)?.Cause;
        const why = typeof cause === "string" ? cause : (text.trim() || `HTTP ${res.status}`);
        throw new AdminError(`${method} ${redact(path)} on ${addr}: ${oneLine(why)} (HTTP ${res.status})`, res.status);
      }
      return { kind: "ok", json };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Collapses a multi-line message into one line. */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, "; ").trim();
}
