/**
 * Sending a request on to the active dashboard: writes (and the operator's Raft changes) arriving at a follower
 * are replayed on the leader, whose answer is returned as is.
 * @module
 */
import { errorResponse } from "../../util/http.ts";

/** Header marking a forwarded request, so that a request is forwarded at most once. */
export const FORWARDED_HEADER = "x-codis-forwarded";

/**
 * Replays `req` (with its already-read body) on `leader` ("host:port"); 503 when unreachable or unknown. A request
 * that was already forwarded once is refused unless `again` (this node handed leadership over meanwhile).
 */
export async function forwardToLeader(
  req: Request,
  body: string,
  leader: string,
  opts: { again?: boolean; timeoutMs?: number } = {},
): Promise<Response> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  if (req.headers.get(FORWARDED_HEADER) && !opts.again) return errorResponse(503, "not leader (forwarded request)");
  if (!leader) return errorResponse(503, "no active dashboard (leader unknown)");
  const url = new URL(req.url);
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(`http://${leader}${url.pathname}${url.search}`, {
      method: req.method,
      headers: { [FORWARDED_HEADER]: "1", "content-type": req.headers.get("content-type") ?? "application/json" },
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      signal: ac.signal,
    });
    const h = new Headers();
    h.set("content-type", res.headers.get("content-type") ?? "application/json; charset=utf-8");
    return new Response(await res.arrayBuffer(), { status: res.status, headers: h });
  } catch (e) {
    return errorResponse(503, `forwarding to leader ${leader}: ${(e as Error).message}`);
  } finally {
    clearTimeout(t);
  }
}
