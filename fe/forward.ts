/**
 * `?forward=<product>`: the FE's reverse proxy to a product's dashboards. Our dashboards are a Raft group whose
 * followers answer reads and forward writes, so any reachable one will do: the last one that answered is tried
 * first, and the next is tried when one is down, still loading (503), names the leader (421) or redirects to
 * another dashboard. A write is retried only when it surely did not reach a dashboard (connection refused).
 * @module
 */
import { errorResponse, readBodyBytes } from "../util/http.ts";
import { logger } from "../util/log.ts";
import { adminFetch, adminUrl } from "../util/admin_calls.ts";

const log = logger("fe-forward");

/** Request headers passed on to the dashboard; cookies and the like never are. */
const PASS_REQUEST = ["content-type", "accept"];
/** 503 causes of our dashboards that mean the request did not run there. */
const SURELY_NOT_RUN = /loading the model|dashboard is starting|leader unknown|not leader|refused|os error 111/i;
/** Largest request body forwarded (slots/assign of 1024 slots is ~40 KB). */
export const MAX_BODY = 4 << 20;

/** Hides credentials in a path before it is logged: the xauth (and proxy tokens) are 32 hex digits. */
export function redactPath(path: string): string {
  return path.replace(/\/[0-9a-fA-F]{32}(?=\/|$)/g, "/***");
}

/** Options of {@link Forwarder}. */
export interface ForwardOptions {
  /** Per-attempt timeout of reads (default 15 s). */
  readTimeoutMs?: number;
  /** Per-attempt timeout of writes (default 90 s: a dashboard may itself wait up to 60 s for its leader). */
  writeTimeoutMs?: number;
}

/** A fetch failure with its cause ("fetch failed" alone says nothing: the cause names refused, DNS, ...). */
export function fetchError(e: unknown): string {
  const err = e as Error & { cause?: { message?: string } };
  const cause = err?.cause?.message;
  return cause ? `${err.message}: ${cause}` : String(err?.message ?? e);
}

function surelyNotSent(msg: string): boolean {
  return /refused|os error 111|failed to lookup|dns error|name or service not known/i.test(msg);
}

/** The reverse proxy, remembering per product which dashboard answered last. */
export class Forwarder {
  readonly #preferred = new Map<string, string>();
  constructor(private readonly opts: ForwardOptions = {}) {}

  /** Forwards `req` (its `forward` query parameter removed) to one of `dashboards` of `product`. */
  async forward(req: Request, product: string, dashboards: string[]): Promise<Response> {
    const url = new URL(req.url);
    url.searchParams.delete("forward");
    const target = url.pathname + (url.searchParams.size ? `?${url.searchParams}` : "");
    const method = req.method.toUpperCase();
    const write = method !== "GET" && method !== "HEAD";
    const body = write ? await readBodyBytes(req, MAX_BODY) : undefined;
    if (write && body === undefined) return errorResponse(413, `request body larger than ${MAX_BODY} bytes`);
    const headers = new Headers();
    for (const h of PASS_REQUEST) {
      const v = req.headers.get(h);
      if (v !== null) headers.set(h, v);
    }
    const pref = this.#preferred.get(product);
    const queue = pref && dashboards.includes(pref) ? [pref, ...dashboards.filter((d) => d !== pref)] : [...dashboards];
    const tried = new Set<string>();
    const failures: string[] = [];
    let lastAnswer: Response | undefined;
    while (queue.length > 0 && tried.size < 16) {
      const addr = queue.shift()!;
      if (tried.has(addr)) continue;
      tried.add(addr);
      const timeout = write ? this.opts.writeTimeoutMs ?? 90_000 : this.opts.readTimeoutMs ?? 15_000;
      let res: Response;
      try {
        res = await adminFetch(adminUrl(addr, target), {
          method,
          headers,
          body: write ? body : undefined,
          redirect: "manual",
          signal: AbortSignal.timeout(timeout),
        });
      } catch (e) {
        const msg = (e as Error).name === "TimeoutError" ? `timed out after ${timeout} ms` : fetchError(e);
        failures.push(`${addr}: ${msg}`);
        log.warn(`${method} ${redactPath(target)} (product ${product}) via ${addr}: ${msg}`);
        if (write && !surelyNotSent(msg)) {
          return errorResponse(504, `product ${product}: dashboard ${addr} did not answer: ${msg}`);
        }
        continue;
      }
      const next = await this.#nextHop(res, addr, product, write, dashboards);
      if (next === "retry") {
        lastAnswer = await copyResponse(res);
        failures.push(`${addr}: HTTP ${res.status}`);
        continue;
      }
      if (!(next instanceof Response)) {
        queue.unshift(...next.hosts.filter((h) => !tried.has(h)));
        lastAnswer = next.answer;
        failures.push(
          `${addr}: HTTP ${res.status}${next.hosts.length ? `, pointing to ${next.hosts.join(", ")}` : ""}`,
        );
        continue;
      }
      this.#preferred.set(product, addr);
      log.debug(`${method} ${redactPath(target)} (product ${product}) via ${addr}: ${res.status}`);
      return next;
    }
    if (lastAnswer) return lastAnswer;
    return errorResponse(502, `product ${product}: no dashboard reachable (${failures.join("; ") || "none known"})`);
  }

  /**
   * What to do with a dashboard's answer: pass it on (a Response), try the next dashboard ("retry": 503 to a read,
   * or `hosts: []` for a write that surely did not run), or try the dashboards it points to first (421 `{leader}`
   * or a redirect to another host). Only the product's known dashboards are followed: a name in an answer is not
   * enough to receive the browser's request (and its xauth).
   */
  async #nextHop(
    res: Response,
    addr: string,
    product: string,
    write: boolean,
    known: string[],
  ): Promise<Response | "retry" | { hosts: string[]; answer: Response }> {
    if (res.status === 503) {
      if (!write) return "retry";
      // A write is passed on again only when this dashboard surely did not run it (still loading, or no leader
      // to forward to); a 503 after a forwarding timeout may mean it ran.
      const answer = await copyResponse(res);
      return SURELY_NOT_RUN.test(await answer.clone().text()) ? { hosts: [], answer } : answer;
    }
    if (res.status === 421) {
      const answer = await copyResponse(res);
      const leader = await answer.clone().json().then((j) => String(j?.leader ?? "")).catch(() => "");
      if (leader && !known.includes(leader)) log.warn(`dashboard ${addr} names leader ${leader}, not a known member`);
      return leader && known.includes(leader) ? { hosts: [leader], answer } : answer;
    }
    if (res.status >= 300 && res.status < 400 && res.headers.has("location")) {
      const loc = new URL(res.headers.get("location")!, adminUrl(addr, "/"));
      await res.body?.cancel();
      if (loc.host !== addr) {
        const answer = errorResponse(502, `dashboard ${addr} redirected to ${loc.host}`);
        return known.includes(loc.host) ? { hosts: [loc.host], answer } : answer;
      }
      // A redirect inside the dashboard (e.g. "/" → "/topom") stays behind the FE, with its forward parameter.
      loc.searchParams.set("forward", product);
      return new Response(null, { status: res.status, headers: { location: loc.pathname + loc.search } });
    }
    return await copyResponse(res);
  }
}

/** A dashboard's answer, buffered, with only the headers the browser needs and a few safety headers. */
async function copyResponse(res: Response): Promise<Response> {
  const buf = await res.arrayBuffer();
  const h = new Headers({
    "content-type": res.headers.get("content-type") ?? "application/json; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  return new Response(buf, { status: res.status, headers: h });
}
