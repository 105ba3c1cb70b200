/**
 * The console's defence against DNS rebinding and cross-site writes. A page from another site can make a browser
 * send requests to the console (its name re-pointed at 127.0.0.1, or a form posted across sites), and the console
 * forwards them to dashboards: so every request must name the console itself in `Host`, and a write must come
 * from the console's own page (`Origin` equal to the request's own origin) or from a client that is not a browser
 * (no `Origin` and no cross-site `Sec-Fetch-Site`, as curl or codis-admin send).
 * @module
 */
import { errorResponse } from "../util/http.ts";

/** Normalizes a host name for comparison: lower case, no brackets, no trailing dot. */
function normalize(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

/**
 * The names the console answers to: `localhost`, 127.0.0.1, ::1, the host of its listen address (when not every
 * interface; then the machine's host name instead) and the `--allowed-hosts` names.
 */
export function consoleHostNames(listenHost: string, allowed: string[] = [], machineName?: string): Set<string> {
  const names = new Set(["localhost", "127.0.0.1", "::1"]);
  const listen = normalize(listenHost);
  if (listen !== "" && listen !== "0.0.0.0" && listen !== "::") names.add(listen);
  else if (machineName) names.add(normalize(machineName));
  for (const a of allowed) if (normalize(a) !== "") names.add(normalize(a));
  return names;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses (403) a request whose Host is not one of `names`, or a write whose Origin is not the request's own
 * origin; undefined when the request may go on.
 */
export function checkHostAndOrigin(req: Request, names: Set<string>): Response | undefined {
  const url = new URL(req.url); // Deno.serve builds it from the Host header
  if (!names.has(normalize(url.hostname))) {
    return errorResponse(
      403,
      `host "${url.hostname}" is not a name of this console; start codis-fe with --allowed-hosts=${url.hostname} ` +
        `if it is`,
    );
  }
  if (SAFE_METHODS.has(req.method)) return undefined;
  const origin = req.headers.get("origin");
  if (origin === null) {
    const site = req.headers.get("sec-fetch-site");
    if (site === null || site === "same-origin" || site === "none") return undefined;
    return errorResponse(403, `cross-site ${req.method} refused (Sec-Fetch-Site: ${site})`);
  }
  let from: URL | undefined;
  try {
    from = new URL(origin);
  } catch { /* "null" or garbage */ }
  if (!from || from.host.toLowerCase() !== url.host.toLowerCase() || !/^https?:$/.test(from.protocol)) {
    return errorResponse(403, `${req.method} from origin ${JSON.stringify(origin)} refused: not this console's page`);
  }
  return undefined;
}
