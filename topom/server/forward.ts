/**
 * Sending a request on to the active dashboard: writes (and the operator's Raft changes) arriving at a follower
 * are replayed on the leader, whose answer is returned as is.
 * @module
 */
import { errorResponse } from "../../util/http.ts";
import { adminFetch, adminUrl } from "../../util/admin_calls.ts";

/** Header marking a forwarded request, so that a request is forwarded at most once. */
export const FORWARDED_HEADER = "x-codis-forwarded";
const NOT_LEADER = "not leader (forwarded request)";

/** Options of {@link forwardToLeader}. */
export interface ForwardOptions {
  /** Forward even a request that was forwarded here (this node handed leadership over meanwhile). */
  again?: boolean;
  /** Per-attempt timeout (default 60 s: long enough for migrations' slowest operator calls). */
  timeoutMs?: number;
  /** How long to keep retrying while no leader is known or it was not the leader after all (default 5 s). */
  retryMs?: number;
}

/**
 * Replays `req` (with its already-read body) on the leader named by `leaderOf()` ("host:port"). Retries, for a
 * few seconds, only when the request surely did not run: no leader known, connection refused, or the target
 * was not the leader. Other failures answer 503.
 */
export async function forwardToLeader(
  req: Request,
  body: string,
  leaderOf: () => string,
  opts: ForwardOptions = {},
): Promise<Response> {
  if (req.headers.get(FORWARDED_HEADER) && !opts.again) return errorResponse(503, NOT_LEADER);
  const deadline = Date.now() + (opts.retryMs ?? 5000);
  const url = new URL(req.url);
  let last = "no active dashboard (leader unknown)";
  for (let attempt = 0; attempt < 200; attempt++) {
    if (attempt > 0) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const leader = leaderOf();
    if (!leader) continue;
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), opts.timeoutMs ?? 60_000);
    try {
      const res = await adminFetch(adminUrl(leader, url.pathname + url.search), {
        method: req.method,
        headers: { [FORWARDED_HEADER]: "1", "content-type": req.headers.get("content-type") ?? "application/json" },
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
        signal: ac.signal,
      });
      const buf = await res.arrayBuffer();
      if (res.status === 503 && new TextDecoder().decode(buf).includes(NOT_LEADER)) {
        last = `${leader}: ${NOT_LEADER}`;
        continue;
      }
      const h = new Headers();
      h.set("content-type", res.headers.get("content-type") ?? "application/json; charset=utf-8");
      return new Response(buf, { status: res.status, headers: h });
    } catch (e) {
      const msg = (e as Error).message;
      last = `forwarding to leader ${leader}: ${msg}`;
      if (!/refused|os error 111/i.test(msg)) break;
    } finally {
      clearTimeout(t);
    }
  }
  return errorResponse(503, last);
}
